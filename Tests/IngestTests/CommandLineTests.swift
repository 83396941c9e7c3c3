import Foundation
import Testing
import TestSupport
import Store
@testable import Ingest

/// The flowdb binary as an analyst runs it: exit codes and one-line errors.
@Suite struct CommandLineTests {
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: flowdbBinary)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            // flowdb may exit before reading its input (a refused option): the
            // write must then fail, not kill the test process.
            signal(SIGPIPE, SIG_IGN)
            let input = Pipe()
            p.standardInput = input
            try p.run()
            try? input.fileHandleForWriting.write(contentsOf: stdin)
            try? input.fileHandleForWriting.close()
        } else {
            try p.run()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func ingestFromStdinThenQuery() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let ingest = try Self.run(["ingest", "--db", db, "-"], stdin: try Data(contentsOf: URL(fileURLWithPath: Paths.sample)))
        #expect(ingest.status == 0, "\(ingest.err)")
        #expect(ingest.out.hasPrefix("ingested 1 of 1 file(s) into \(db)\npackets:        830 (TCP 830)\n"))
        let query = try Self.run(["query", "--db", db, "--client-port", "45740", "--json"])
        #expect(query.status == 0)
        #expect(query.out.split(separator: "\n").count == 1)     // the connection, its last ACK included
        #expect(query.out.contains(#""conn_state":"SF","history":"ShADadFf","c2s_packets":27,"s2c_packets":45"#))
        let none = try Self.run(["query", "--db", db, "--port", "1"])
        #expect(none.status == 0 && none.out.isEmpty && none.err == "flowdb: no flows match\n")
    }

    @Test func badInputIsOneLineAndNonZero() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite"
        _ = try Self.run(["ingest", "--quiet", "--db", db, Paths.sample])
        for (arguments, message) in [
            (["query", "--db", db, "--host", "10.0.0.0/33"], "flowdb: --host: not an address or CIDR block: 10.0.0.0/33\n"),
            (["query", "--db", db, "--since", "yesterday"], "flowdb: --since: not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): yesterday\n"),
            // Values beyond what nanoseconds in 64 bits hold are refused, not trapped on.
            (["query", "--db", db, "--since", "9223372036.9"], "flowdb: --since: not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): 9223372036.9\n"),
            (["query", "--db", db, "--since=-9223372036.9"], "flowdb: --since: not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): -9223372036.9\n"),
            (["query", "--db", db, "--until", "2300-01-01"], "flowdb: --until: not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): 2300-01-01\n"),
            (["query", "--db", db, "--until", "9999-12-31T23:59:59Z"], "flowdb: --until: not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): 9999-12-31T23:59:59Z\n"),
            (["query", "--db", dir + "/missing.sqlite"], "flowdb: \(dir)/missing.sqlite: no such archive (create one with `flowdb ingest --db \(dir)/missing.sqlite CAPTURE`)\n"),
            (["query", "--db", db, "--show", "raw", "--dir", "client"], "flowdb: --show raw writes one direction of one flow; 10 flows match (narrow with --flow ID)\n"),
        ] {
            let r = try Self.run(arguments)
            #expect(r.status == 1 && r.err == message, "\(arguments): \(r.status) \(r.err)")
        }
        // The largest limit is a limit like any other.
        let all = try Self.run(["query", "--db", db, "--limit", "9223372036854775807", "--csv"])
        #expect(all.status == 0 && all.out.split(separator: "\n").count == 11, "\(all.status) \(all.err)")
        let empty = dir + "/empty.pcap"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let r = try Self.run(["ingest", "--quiet", "--db", db, empty])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("flowdb: \(empty): cannot open capture: "))
        #expect(r.err.split(separator: "\n").count == 1)
    }

    /// One writer at a time: a second ingest into the same archive is refused
    /// while the first holds it, and allowed once it is done.
    @Test func oneWriterAtATime() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let first = try Ingestor(archive: try Archive(path: db, create: true), options: IngestOptions())
        do {
            _ = try Ingestor(archive: try Archive(path: db, create: true), options: IngestOptions())
            Issue.record("a second writer was let in")
        } catch {
            #expect("\(error)" == "\(db): another flowdb ingest or capture is writing to this archive")
        }
        _ = first
    }

    /// A lock file planted as a symbolic link (dangling, or to a file elsewhere) is
    /// refused before anything is created: neither its target nor the archive.
    @Test func symlinkedLockFileIsRefused() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/b.sqlite", target = dir + "/planted"
        try FileManager.default.createSymbolicLink(atPath: db + ".ingest-lock", withDestinationPath: target)
        let r = try Self.run(["ingest", "--quiet", "--db", db, Paths.sample])
        #expect(r.status == 1)
        #expect(r.err == "flowdb: \(db): the lock file \(db).ingest-lock is a symbolic link; flowdb does not follow it (remove it)\n")
        #expect(!Paths.exists(target))
        #expect(!Paths.exists(db))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: db + ".ingest-lock") == target)
    }

    @Test func lockFileThatIsNotARegularFileIsRefused() throws {
        let db = Paths.temporaryDirectory() + "/b.sqlite"
        #expect(mkfifo(db + ".ingest-lock", 0o600) == 0)
        do {
            _ = try Ingestor(path: db, options: IngestOptions())
            Issue.record("a FIFO was used as the lock file")
        } catch {
            #expect("\(error)" == "\(db): the lock file \(db).ingest-lock is not a regular file; flowdb does not use it (remove it)")
        }
        #expect(!Paths.exists(db))
    }

    /// The lock is taken on the path before the archive is created: while another
    /// ingest holds it, a new archive is not even created.
    @Test func lockIsTakenBeforeTheArchiveIsCreated() throws {
        let db = Paths.temporaryDirectory() + "/new.sqlite"
        do {
            let held = try IngestLock(archivePath: db)
            #expect(held.lockPath == db + ".ingest-lock")
            do {
                _ = try Ingestor(path: db, options: IngestOptions())
                Issue.record("a second writer was let in")
            } catch {
                #expect("\(error)" == "\(db): another flowdb ingest or capture is writing to this archive")
            }
            #expect(!Paths.exists(db))
        }
        let ingestor = try Ingestor(path: db, options: IngestOptions())
        let report = try ingestor.run(paths: [Paths.sample])
        #expect(report.files.count == 1 && report.failures.isEmpty)
        var st = stat()
        #expect(stat(db, &st) == 0 && st.st_mode & 0o7777 == 0o600)
    }

    /// `--extract` into a symbolic link to a directory is refused, and nothing is
    /// written into the directory it points to.
    @Test func extractIntoSymlinkIsRefused() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite", target = dir + "/target", link = dir + "/link"
        let ingest = try Self.run(["ingest", "--quiet", "--db", db, Paths.sample])
        #expect(ingest.status == 0, "\(ingest.err)")
        #expect(mkdir(target, 0o755) == 0 && chmod(target, 0o755) == 0)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let r = try Self.run(["query", "--db", db, "--flow", "1", "--extract", link])
        #expect(r.status == 1)
        #expect(r.err == "flowdb: \(link): is a symbolic link; flowdb extracts only into a real directory\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == [])
        var st = stat()
        #expect(stat(target, &st) == 0 && st.st_mode & 0o7777 == 0o755)
    }
}
