import Digest
import FileIO
import Store
#if canImport(Glibc)
import Glibc
#endif

/// A capture file of the archive, found on disk and checked to be the file that
/// was ingested.
public struct VerifiedCapture: Sendable {
    public enum Check: String, Sendable {
        /// Size and SHA-256 equal the archive's record.
        case sha256
        /// Size only: the hash was skipped (`--no-verify`) or never recorded.
        case size
        /// Not checked at all (`--extract --no-verify`: the file is not needed).
        case none
    }
    public var id: Int64
    /// The path the archive recorded, and where the file was found (nil: not looked for).
    public var recordedPath: String
    public var path: String?
    public var size: Int
    public var sha256: String?
    public var linkType: Int32
    public var snaplen: Int
    public var status: String
    public var check: Check
    /// A live capture's interface, and when `flowdb capture --keep` removed its file.
    public var interface: String?
    public var removedAt: Int64?
    /// The open file (read-only), when it was found; closed by `CaptureFiles.close`.
    var fd: Int32 = -1
}

/// Finds and verifies the capture files of an archive.
///
/// A file is looked for in each `--capture-dir` (by its file name), then at the
/// path recorded at ingest (relative to the working directory), then relative to
/// the archive's directory. The file found must have the size recorded, and,
/// unless `verifyHash` is false, the SHA-256 recorded: the digest is computed on
/// the descriptor that is then read, so the bytes checked are the bytes used.
public final class CaptureFiles {
    let connection: SQLiteConnection
    let archivePath: String
    /// Whether the archive records packet positions (schema version 6).
    let hasPackets: Bool
    /// Whether it records live captures (schema version 8).
    let hasLive: Bool
    let catalog: CaptureCatalog
    public var directories: [String] = []
    public var verifyHash = true
    private var opened: [Int64: VerifiedCapture] = [:]
    /// `captures(ofFlows:)`'s statements, prepared at its first call.
    private var ownCapture, blockCaptures: Statement?

    public init(archive: Archive) {
        connection = archive.connection
        catalog = CaptureCatalog(archive.connection)
        archivePath = archive.path
        hasPackets = archive.version >= 6
        hasLive = archive.version >= 8
    }

    deinit {
        for c in opened.values where c.fd >= 0 { Glibc.close(c.fd) }
    }

    /// The archive's record of capture `id`, without looking for the file.
    public func record(_ id: Int64) throws -> VerifiedCapture {
        guard let r = try catalog.record(id, live: hasLive) else {
            throw QueryError("\(archivePath): capture \(id) is not in the archive")
        }
        return VerifiedCapture(id: id, recordedPath: r.path, path: nil, size: r.size, sha256: r.sha256,
                               linkType: r.linkType, snaplen: r.snaplen, status: r.status, check: .none,
                               interface: r.interface, removedAt: r.removedAt)
    }

    /// Capture `id`, found and verified (once per run); throws a message naming
    /// the file when it is gone, moved, cut, or replaced.
    public func open(_ id: Int64) throws -> VerifiedCapture {
        if let c = opened[id] { return c }
        var c = try record(id)
        let name = "capture \(id) (\(c.recordedPath))"
        if c.recordedPath == "-" {
            throw QueryError("\(name) was read from standard input and not kept; `flowdb ingest - --keep-stdin FILE` keeps such captures")
        }
        let live = (interface: c.interface, removed: c.removedAt)
        if let interface = live.interface, c.recordedPath.hasPrefix("live:") {
            throw QueryError("\(name) was captured live from \(interface) without --write-pcap: its packets were not kept; `flowdb capture --write-pcap DIR` keeps them")
        }
        if let removed = live.removed {
            throw QueryError("\(name): the file was removed by `flowdb capture --keep` at \(TimeParser.iso(removed)); its flows stay in the archive, its packets are gone")
        }
        if live.interface != nil && c.status == "running" {
            throw QueryError("\(name) is still being written by a running `flowdb capture`; its packets can be exported once the file is rotated (--rotate-size, --rotate-time) or the capture stopped (if it was killed, the next `flowdb capture` on this archive closes the file)")
        }
        var tried: [String] = []
        var fd: Int32 = -1
        for candidate in candidates(c.recordedPath) where !tried.contains(candidate) {
            tried.append(candidate)
            fd = Glibc.open(candidate, O_RDONLY | O_CLOEXEC)
            if fd < 0 { continue }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                Glibc.close(fd)
                fd = -1
                continue
            }
            c.path = candidate
            break
        }
        guard fd >= 0, let path = c.path else {
            throw QueryError("\(name): the file is gone or moved (looked for \(tried.joined(separator: ", "))); --capture-dir DIR finds it by its file name")
        }
        var st = stat()
        _ = fstat(fd, &st)
        guard Int(st.st_size) == c.size else {
            Glibc.close(fd)
            throw QueryError("\(path): \(Int(st.st_size)) bytes, but \(name) had \(c.size) when ingested: it is not the file that was ingested (cut, extended or replaced)")
        }
        if verifyHash, let recorded = c.sha256 {
            guard let digest = Self.sha256(fd: fd) else {
                Glibc.close(fd)
                throw QueryError("\(path): cannot read it: \(String(cString: strerror(errno)))")
            }
            guard digest == recorded else {
                Glibc.close(fd)
                throw QueryError("\(path): sha256 \(digest), but \(name) had \(recorded) when ingested: it is not the file that was ingested (same size, other bytes)")
            }
            c.check = .sha256
        } else {
            c.check = .size
        }
        c.fd = fd
        opened[id] = c
        return c
    }

    /// Where to look for a capture recorded as `recorded`.
    func candidates(_ recorded: String) -> [String] {
        let name = recorded.split(separator: "/").last.map(String.init) ?? recorded
        var out = directories.map { $0.hasSuffix("/") ? $0 + name : $0 + "/" + name }
        out.append(recorded)
        if !recorded.hasPrefix("/"), let slash = archivePath.lastIndex(of: "/") {
            out.append(String(archivePath[...slash]) + recorded)
        }
        return out
    }

    /// The SHA-256 of the whole file behind `fd`, read with pread.
    static func sha256(fd: Int32) -> String? {
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        var sha = SHA256()
        var offset: off_t = 0
        while true {
            let n = pread(fd, buffer, size, offset)
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            sha.update(UnsafeRawBufferPointer(start: buffer, count: n))
            offset += off_t(n)
        }
        return sha.hexDigest
    }

    /// The captures a set of flows came from: each flow's own and those its packets lie in.
    public func captures(ofFlows flowIDs: [Int64]) throws -> [Int64] {
        var ids = Set<Int64>()
        if ownCapture == nil {
            ownCapture = try connection.prepare("SELECT capture_id FROM flow WHERE id = ?")
            blockCaptures = hasPackets ? try connection.prepare("""
                SELECT capture_id FROM packet_block WHERE flow_id = ?1
                UNION SELECT packet_capture_id FROM flow WHERE id = ?1 AND packet_capture_id IS NOT NULL
                """) : nil
        }
        guard let own = ownCapture else { return [] }
        let blocks = blockCaptures
        for f in flowIDs {
            own.reset()
            try own.bind(f, at: 1)
            if try own.step() { ids.insert(own.int64(0)) }
            guard let blocks else { continue }
            blocks.reset()
            try blocks.bind(f, at: 1)
            while try blocks.step() { ids.insert(blocks.int64(0)) }
        }
        return ids.sorted()
    }
}
