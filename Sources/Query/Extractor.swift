import Decoding
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Writes each selected flow's directions as files (like tcpflow), plus a
/// `manifest.json` with the flow metadata, byte counts, sha256 per file and gaps.
/// File names are built only from parsed numbers and addresses; files are created
/// inside the directory only, never through a symbolic link, and an existing file
/// is replaced only with `force`.
public struct Extractor {
    let reader: FlowReader
    let directory: String
    let force: Bool
    let fillGaps: Bool

    public init(reader: FlowReader, directory: String, force: Bool, fillGaps: Bool) {
        self.reader = reader
        self.directory = directory
        self.force = force
        self.fillGaps = fillGaps
    }

    /// The file name of one direction of a flow.
    public static func fileName(_ f: FlowRecord, dir: Int) -> String {
        func address(_ text: String) -> String {
            guard let parsed = IPAddress(text) else { return "invalid" }
            return String(parsed.description.map { $0 == ":" ? "_" : $0 })
        }
        let iso = TimeParser.iso(f.firstTimestamp)       // 2026-11-25T12:52:15.270787Z
        let stamp = String(iso.prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
        return "flow\(f.id)-\(stamp)-\(address(f.clientIP)).\(f.clientPort)-\(address(f.serverIP)).\(f.serverPort)-\(dir == 0 ? "c2s" : "s2c").bin"
    }

    /// Extracts `flows`; returns the paths written (manifest last).
    public func extract(_ flows: [FlowRecord]) throws -> [String] {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw QueryError("\(directory): cannot create the directory: \(String(cString: strerror(errno)))")
        }
        var written: [String] = []
        var manifest = "{\"flows\":[\n"
        for (n, f) in flows.enumerated() {
            var files: [String] = []
            for dir in 0..<2 {
                let name = Self.fileName(f, dir: dir)
                let path = directory + "/" + name
                let fd = try create(path)
                var failure: Int32 = 0
                let (bytes, sha) = try reader.writeStream(flowID: f.id, dir: dir, fillGaps: fillGaps) { piece in
                    var offset = 0
                    while offset < piece.count {
                        let r = write(fd, piece.baseAddress! + offset, piece.count - offset)
                        if r < 0 { if errno == EINTR { continue }; failure = errno; break }
                        offset += r
                    }
                    if failure != 0 { throw QueryError("\(path): \(String(cString: strerror(failure)))") }
                }
                if close(fd) != 0 { throw QueryError("\(path): \(String(cString: strerror(errno)))") }
                written.append(path)
                files.append("{\"dir\":\"\(dir == 0 ? "c2s" : "s2c")\",\"file\":\(Formats.json(name)),\"bytes\":\(bytes),\"sha256\":\"\(sha)\"}")
            }
            let gaps = try reader.gaps(flowID: f.id).map { g in
                "{\"dir\":\"\(g.dir == 0 ? "c2s" : "s2c")\",\"stream_offset\":\(g.streamOffset),\"length\":\(g.length.map(String.init) ?? "null")}"
            }
            var entry = Formats.jsonLine(f)
            entry.removeLast(2)   // "}\n"
            entry += ",\"files\":[\(files.joined(separator: ","))],\"gaps\":[\(gaps.joined(separator: ","))],\"gaps_filled\":\(fillGaps)}"
            manifest += entry + (n == flows.count - 1 ? "\n" : ",\n")
        }
        manifest += "]}\n"
        let path = directory + "/manifest.json"
        let fd = try create(path)
        var bytes = Array(manifest.utf8)
        let ok = bytes.withUnsafeMutableBytes { b in write(fd, b.baseAddress, b.count) == b.count }
        close(fd)
        guard ok else { throw QueryError("\(path): write failed") }
        bytes.removeAll()
        written.append(path)
        return written
    }

    private func create(_ path: String) throws -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw QueryError("\(path): exists; --force overwrites") }
            throw QueryError("\(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }
}
