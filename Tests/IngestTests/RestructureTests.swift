import Foundation
import Testing
import TestSupport
import Store
@testable import Ingest

/// What issue 24's restructuring promised besides moving code: a failed write is
/// an error, ingest and capture take the same recording options, the summary
/// counts a file that could not be read as failed, and deleting a capture takes
/// its application rows with it.
@Suite struct RestructureTests {
    /// Runs flowdb with standard output on `stdoutPath` (e.g. /dev/full).
    static func run(_ arguments: [String], stdoutPath: String) throws -> (status: Int32, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: flowdbBinary)
        p.arguments = arguments
        let sink = try #require(FileHandle(forWritingAtPath: stdoutPath))
        let err = Pipe()
        p.standardOutput = sink
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try sink.close()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    static let archive: String = {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try? CommandLineTests.run(["ingest", "--quiet", "--db", db, Paths.sample])
        return db
    }()

    /// `query > /full/disk` used to exit 0 with nothing written; every output
    /// path (the flow list, --show raw, --show ascii, a Zeek log, events) now
    /// fails with the destination named.
    @Test(arguments: [
        ["query", "--flow", "8", "--show", "raw", "--dir", "server"],
        ["query", "--flow", "8", "--show", "ascii"],
        ["query", "--format", "zeek"],
        ["query", "--json"],
    ])
    func failedWriteToStandardOutputIsAnError(_ arguments: [String]) throws {
        let result = try Self.run(arguments + ["--db", Self.archive], stdoutPath: "/dev/full")
        #expect(result.status == 1, "\(arguments): \(result.err)")
        #expect(result.err == "flowdb: standard output: cannot write: No space left on device\n", "\(arguments)")
    }

    @Test func failedWriteOfEventsIsAnError() throws {
        let result = try Self.run(["events", Paths.sample], stdoutPath: "/dev/full")
        #expect(result.status == 1)
        #expect(result.err == "flowdb: standard output: cannot write: No space left on device\n")
    }

    /// The same query to a writable file exits 0 and writes the 150,000 bytes
    /// the server sent on flow 8 (the failure above is the disk's, not the query's).
    @Test func theSameWriteToAFileSucceeds() throws {
        let path = Paths.temporaryDirectory() + "/out.bin"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let result = try Self.run(["query", "--db", Self.archive, "--flow", "8", "--show", "raw", "--dir", "server"], stdoutPath: path)
        #expect(result.status == 0, "\(result.err)")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 150_000)
    }

    /// The long options a command's --help lists.
    static func options(_ command: String) throws -> Set<String> {
        let help = try CommandLineTests.run([command, "--help"])
        #expect(help.status == 0)
        let words = help.out.split(whereSeparator: { " \n,<>[]".contains($0) })
        return Set(words.filter { $0.hasPrefix("--") && $0.count > 2 }.map(String.init))
    }

    /// Every recording option of ingest exists for capture, by construction
    /// (one option group); what is left is ingest's handling of files.
    @Test func captureListsEveryRecordingOptionOfIngest() throws {
        let ingest = try Self.options("ingest"), capture = try Self.options("capture")
        #expect(ingest.subtracting(capture) == ["--force", "--keep-stdin"])
        for option in ["--max-frag-memory", "--frag-timeout", "--batch-bytes", "--close-delay", "--no-apps", "--vlan-aware",
                       "--max-bytes-per-flow", "--no-payload", "--filter", "--max-pages-per-conn", "--max-pages-total",
                       "--flush-after", "--close-after"] {
            #expect(capture.contains(option), "capture lacks \(option)")
        }
    }

    /// `flowdb ingest missing.pcap` printed the error and `ingested 1 of 1 file(s)`.
    @Test func missingFileIsCountedAsFailed() throws {
        let dir = Paths.temporaryDirectory()
        let result = try CommandLineTests.run(["ingest", "--db", dir + "/a.sqlite", dir + "/missing.pcap", Paths.sample])
        #expect(result.status == 1)
        #expect(result.out.hasPrefix("ingested 1 of 2 file(s) into \(dir)/a.sqlite, 1 failed\npackets:        830 (TCP 830)\n"), "\(result.out)")
        #expect(result.err.contains("\(dir)/missing.pcap: cannot open capture: No such file or directory"), "\(result.err)")
        let alone = try CommandLineTests.run(["ingest", "--db", dir + "/b.sqlite", dir + "/missing.pcap"])
        #expect(alone.status == 1)
        #expect(alone.out == "ingested 0 of 1 file(s) into \(dir)/b.sqlite, 1 failed\n")
    }

    /// `--force` on a capture with HTTP, TLS and SSH failed on a foreign key
    /// (its flows were deleted before their http/tls/ssh rows).
    @Test func forcedIngestReplacesApplicationRows() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite", capture = Paths.repository + "/Tests/Fixtures/apps/app.pcap"
        let first = try CommandLineTests.run(["ingest", "--quiet", "--db", db, capture])
        #expect(first.status == 0, "\(first.err)")
        let again = try CommandLineTests.run(["ingest", "--quiet", "--force", "--db", db, capture])
        #expect(again.status == 0, "\(again.err)")
        let archive = try Archive(path: db, create: false)
        let c = archive.connection
        #expect(try c.scalar("SELECT count(*) FROM capture") == 1)
        #expect(try c.scalar("SELECT count(*) FROM http") == 14)
        #expect(try c.scalar("SELECT count(*) FROM tls") == 8)
        for table in ["http", "tls", "ssh", "payload", "gap", "delivery_block", "packet_block"] {
            #expect(try c.scalar("SELECT count(*) FROM \(table) WHERE flow_id NOT IN (SELECT id FROM flow)") == 0, "\(table)")
        }
    }
}
