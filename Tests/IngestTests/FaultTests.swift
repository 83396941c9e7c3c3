import Foundation
import Testing
import TestSupport
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Faults of the environment that the suite can cause cheaply: standard input
/// that ends early, archives that are damaged, foreign or too new, and (as root) a
/// full disk. scripts/fault-test.sh (`make faults`) covers the rest.
@Suite struct FaultTests {
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
        try CommandLineTests.run(arguments, stdin: stdin)
    }

    /// integrity_check ok, and the statuses of the captures in id order.
    static func statuses(_ db: String) throws -> [String] {
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let integrity = try c.prepare("PRAGMA integrity_check")
        #expect(try integrity.step() && integrity.text(0) == "ok")
        let rows = try c.prepare("SELECT status FROM capture ORDER BY id")
        var out: [String] = []
        while try rows.step() { out.append(rows.text(0) ?? "") }
        return out
    }

    @Test func stdinEndsMidRecord() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let head = try Data(contentsOf: URL(fileURLWithPath: Paths.sample)).prefix(500_000)
        let r = try Self.run(["ingest", "--quiet", "--db", db, "-"], stdin: head)
        #expect(r.status == 1)
        #expect(r.err == "flowdb: -: packet 535: truncated dump file; tried to read 1514 captured bytes, only got 986\n")
        #expect(try Self.statuses(db) == ["failed"])
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        #expect(try c.scalar("SELECT packets FROM capture") == 535)
        #expect(try Self.run(["query", "--db", db, "--json"]).status == 0)
    }

    @Test func stdinEndsInTheFileHeader() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let head = try Data(contentsOf: URL(fileURLWithPath: Paths.sample)).prefix(10)
        let r = try Self.run(["ingest", "--quiet", "--db", db, "-"], stdin: head)
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("flowdb: -: cannot open capture: truncated dump file; tried to read 24 file header bytes, only got "))
        #expect(r.err.split(separator: "\n").count == 1)
        #expect(try Self.statuses(db) == [])
    }

    /// A file that is not a SQLite database is refused by ingest and query, and left as it was.
    @Test func garbageArchiveIsLeftAlone() throws {
        let db = Paths.temporaryDirectory() + "/garbage.sqlite"
        let garbage = Data((0..<65_536).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) })
        try garbage.write(to: URL(fileURLWithPath: db))
        for arguments in [["ingest", "--quiet", "--db", db, Paths.sample], ["query", "--db", db]] {
            let r = try Self.run(arguments)
            #expect(r.status == 1)
            #expect(r.err == "flowdb: \(db): not a flowdb archive: file is not a database\n", "\(arguments)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == garbage)
    }

    /// An archive of a newer schema is neither read nor written.
    @Test func newerSchemaIsRefused() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        #expect(try Self.run(["ingest", "--quiet", "--db", db, Paths.fixture("port-reuse.pcap")]).status == 0)
        let newer = Archive.schemaVersion + 1
        do {
            let c = try SQLiteConnection(path: db, mode: .readWrite)
            try c.execute("INSERT INTO schema_migration VALUES (\(newer), 'future', 0); PRAGMA user_version = \(newer)")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        for arguments in [["ingest", "--quiet", "--db", db, Paths.sample], ["query", "--db", db]] {
            let r = try Self.run(arguments)
            #expect(r.status == 1)
            #expect(r.err == "flowdb: \(db): archive schema version \(newer) is newer than this flowdb supports (\(newer - 1)); use a newer flowdb\n")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
    }

    /// The root page of the payload table overwritten with noise: listing flows
    /// still works, reading their content fails with one line naming the archive.
    /// (Overwriting the middle of the file used to hit payload pages too, but only
    /// their bytes: which pages lie there moves with the schema.)
    @Test func corruptedArchive() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        #expect(try Self.run(["ingest", "--quiet", "--db", db, Paths.sample]).status == 0)
        let (root, pageSize) = try {
            let c = try SQLiteConnection(path: db, mode: .readOnly)
            return (try c.scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'payload'") ?? 0,
                    try c.scalar("PRAGMA page_size") ?? 0)
        }()
        #expect(root > 1 && pageSize == 16384)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: db))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data((0..<Int(pageSize)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }))
        try handle.close()
        let list = try Self.run(["query", "--db", db, "--json"])
        #expect(list.status == 0 && list.out.split(separator: "\n").count == 10)
        let all = try Self.run(["query", "--db", db, "--show", "ascii"])
        #expect(all.status == 1)
        #expect(all.err.hasPrefix("flowdb: \(db): SQLite error 11: database disk image is malformed"), "\(all.err)")
        #expect(all.err.split(separator: "\n").count == 1)
    }

    /// A full disk (a 1 MB tmpfs, less than the archive needs; root only): one line naming the archive and the
    /// capture, and the capture marked failed, not left 'running'.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func diskFull() throws {
        let dir = Paths.temporaryDirectory()
        #expect(try Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=1024k", "tmpfs", dir]) == 0)
        defer { _ = try? Self.command("/bin/umount", [dir]) }
        let db = dir + "/a.sqlite"
        let r = try Self.run(["ingest", "--quiet", "--db", db, Paths.sample])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("flowdb: \(db): cannot store \(Paths.sample): SQLite error 13: database or disk is full"), "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1)
        #expect(try Self.statuses(db) == ["failed"])
        let query = try Self.run(["query", "--db", db])
        #expect(query.status == 0 && query.err == "flowdb: no flows match\n")
    }

    /// A FIFO given as a path (as `<(...)` does) is read once, by libpcap: the
    /// hasher used to read it too and take bytes away from it.
    @Test func fifoPathIsReadOnce() throws {
        let dir = Paths.temporaryDirectory()
        let fifo = dir + "/capture.fifo", db = dir + "/a.sqlite"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "cat \"$0\" > \"$1\"", Paths.sample, fifo]
        try writer.run()
        let r = try Self.run(["ingest", "--quiet", "--db", db, fifo])
        writer.waitUntilExit()
        #expect(r.status == 0, "\(r.err)")
        #expect(try Self.statuses(db) == ["complete"])
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        #expect(try c.scalar("SELECT packets FROM capture") == 830)
        #expect(try c.scalar("SELECT count(*) FROM capture WHERE sha256 IS NULL") == 1)
        #expect(try c.scalar("SELECT count(*) FROM flow") == 10)
    }

    /// An endless character device is rejected by its first bytes; the hasher used
    /// to read it forever.
    @Test(.timeLimit(.minutes(1))) func endlessDeviceIsRejected() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let r = try Self.run(["ingest", "--quiet", "--db", db, "/dev/zero"])
        #expect(r.status == 1)
        #expect(r.err == "flowdb: /dev/zero: cannot open capture: unknown file format\n")
        #expect(try Self.statuses(db) == [])
    }

    /// A file name with a newline and a terminal escape: the error stays one line,
    /// with the control characters escaped.
    @Test func controlCharactersInANameAreEscaped() throws {
        let dir = Paths.temporaryDirectory()
        let name = dir + "/evil\nname\u{1b}[31m.pcap"
        try FileManager.default.copyItem(atPath: HostileFileTests.path("truncated-record.pcap"), toPath: name)
        let r = try Self.run(["ingest", "--quiet", "--db", dir + "/a.sqlite", name])
        #expect(r.status == 1)
        #expect(r.err == "flowdb: \(dir)/evil\\nname\\u{1b}[31m.pcap: packet 9 at byte offset 1075: truncated dump file; tried to read 66 captured bytes, only got 33\n")
    }

    static func command(_ path: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
