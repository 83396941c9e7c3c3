import Decoding
import FileIO
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Writes each selected flow's directions as files (like tcpflow), plus a
/// `manifest.json` with the flow metadata, byte counts, sha256 per file and gaps.
/// File names are built only from parsed numbers and addresses.
///
/// The directory is created with mode 0700 if missing; an existing one is used only
/// if it is not a symbolic link, belongs to the current user and is not writable by
/// group or others. Every file is created with mode 0600 inside that directory
/// (relative to its descriptor), never through a symbolic link; an existing file is
/// replaced only with `force`, by renaming a new file over it, never by writing
/// through it.
public struct Extractor {
    let reader: FlowReader
    let directory: String
    let force: Bool
    let fillGaps: Bool
    /// The archive's capture files: each flow's captures are checked (found, same
    /// size and SHA-256, unless `verify` is false) before anything is written,
    /// and named with their SHA-256 in the manifest.
    let captures: CaptureFiles?
    let verify: Bool

    public init(reader: FlowReader, directory: String, force: Bool, fillGaps: Bool, captures: CaptureFiles? = nil,
                verify: Bool = true) {
        self.reader = reader
        self.directory = directory
        self.force = force
        self.fillGaps = fillGaps
        self.captures = captures
        self.verify = verify
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
        // Every capture is checked before the first file is written.
        var sources: [Int64: String] = [:]
        if let captures {
            for f in flows {
                var list: [String] = []
                for id in try captures.captures(ofFlows: [f.id]) {
                    let c = verify ? try captures.open(id) : try captures.record(id)
                    list.append("{\"capture_id\":\(id),\"path\":\(Formats.json(c.path ?? c.recordedPath)),\"sha256\":\(c.sha256.map { "\"\($0)\"" } ?? "null"),\"verified\":\"\(c.check.rawValue)\"}")
                }
                sources[f.id] = "[" + list.joined(separator: ",") + "]"
            }
        }
        let directoryFD = try openDirectory()
        defer { close(directoryFD) }
        var written: [String] = []
        var manifest = "{\"flows\":[\n"
        for (n, f) in flows.enumerated() {
            var files: [String] = []
            for dir in 0..<2 {
                let name = Self.fileName(f, dir: dir)
                let path = directory + "/" + name
                let (bytes, sha) = try writeFile(name, in: directoryFD) { fd in
                    try reader.writeStream(flowID: f.id, dir: dir, fillGaps: fillGaps) { piece in
                        try Self.write(piece, to: fd, path: path)
                    }
                }
                written.append(path)
                files.append("{\"dir\":\"\(dir == 0 ? "c2s" : "s2c")\",\"file\":\(Formats.json(name)),\"bytes\":\(bytes),\"sha256\":\"\(sha)\"}")
            }
            let gaps = try reader.gaps(flowID: f.id).map { g in
                "{\"dir\":\"\(g.dir == 0 ? "c2s" : "s2c")\",\"stream_offset\":\(g.streamOffset),\"length\":\(g.length.map(String.init) ?? "null")}"
            }
            var entry = Formats.jsonLine(f)
            entry.removeLast(2)   // "}\n"
            entry += ",\"files\":[\(files.joined(separator: ","))],\"gaps\":[\(gaps.joined(separator: ","))],\"gaps_filled\":\(fillGaps)"
            if let list = sources[f.id] { entry += ",\"captures\":\(list)" }
            // files read as a target would have (--policy) are not the stored stream: said so
            if let policy = reader.policy { entry += ",\"policy\":\"\(policy.rawValue)\"" }
            entry += "}"
            manifest += entry + (n == flows.count - 1 ? "\n" : ",\n")
        }
        manifest += "]}\n"
        let path = directory + "/manifest.json"
        try writeFile("manifest.json", in: directoryFD) { fd in
            try Array(manifest.utf8).withUnsafeBytes { try Self.write($0, to: fd, path: path) }
        }
        written.append(path)
        return written
    }

    /// Creates the directory (0700) if it is missing and opens it, refusing a
    /// symbolic link, a directory of another user and one that group or others may
    /// write into (they could swap files under flowdb).
    public func openDirectory() throws -> Int32 {
        let created = mkdir(directory, 0o700) == 0
        if !created && errno != EEXIST {
            throw QueryError("\(directory): cannot create the directory: \(String(cString: strerror(errno)))")
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            var st = stat()
            if lstat(directory, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
                throw QueryError("\(directory): is a symbolic link; flowdb extracts only into a real directory")
            }
            if code == ENOTDIR { throw QueryError("\(directory): not a directory") }
            throw QueryError("\(directory): cannot open the directory: \(String(cString: strerror(code)))")
        }
        do {
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                throw QueryError("\(directory): cannot open the directory: \(String(cString: strerror(errno)))")
            }
            guard st.st_uid == geteuid() else {
                throw QueryError("\(directory): owned by uid \(st.st_uid), not by this user (uid \(geteuid())); flowdb extracts only into its own directory")
            }
            if created {
                // mkdir's mode went through the umask; make it exactly 0700.
                guard fchmod(fd, 0o700) == 0 else {
                    throw QueryError("\(directory): cannot set mode 0700: \(String(cString: strerror(errno)))")
                }
            } else if st.st_mode & (S_IWGRP | S_IWOTH) != 0 {
                throw QueryError("\(directory): writable by group or others (mode 0\(String(st.st_mode & 0o7777, radix: 8))); flowdb extracts only into a directory only its owner can write")
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Writes the file `name` in the directory: created new (mode 0600, never
    /// through a symbolic link), or with `force` written under a temporary name and
    /// renamed over the existing one, which is replaced, never written through.
    public func writeFile<T>(_ name: String, in directoryFD: Int32, _ body: (Int32) throws -> T) throws -> T {
        let path = directory + "/" + name
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var target = name
        if force {
            var st = stat()
            if fstatat(directoryFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
                throw QueryError("\(path): exists and is not a regular file; --force replaces only files")
            }
            target = ".\(name).flowdb-\(getpid())"
        }
        let fd = openat(directoryFD, target, flags, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST && !force { throw QueryError("\(path): exists; --force overwrites") }
            throw QueryError("\(directory + "/" + target): \(String(cString: strerror(errno)))")
        }
        var closed = false
        do {
            // `target` is this run's own new file (O_EXCL): removed if anything fails.
            let result = try body(fd)
            closed = true
            if close(fd) != 0 { throw QueryError("\(path): \(String(cString: strerror(errno)))") }
            if force && renameat(directoryFD, target, directoryFD, name) != 0 {
                throw QueryError("\(path): cannot replace it: \(String(cString: strerror(errno)))")
            }
            return result
        } catch {
            if !closed { close(fd) }
            unlinkat(directoryFD, target, 0)
            throw error
        }
    }

    /// Writes all of `bytes` to `fd`; a failure names `path`.
    public static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws {
        do {
            try writeAll(bytes, to: fd, path: path)
        } catch {
            throw QueryError("\(path): \(String(cString: strerror(error.code)))")
        }
    }
}
