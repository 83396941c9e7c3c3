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
            let input = Pipe()
            p.standardInput = input
            try p.run()
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
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
        #expect(query.out.split(separator: "\n").count == 2)     // the connection and a late ACK stream
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
            (["query", "--db", db, "--show", "raw", "--dir", "client"], "flowdb: --show raw writes one direction of one flow; 18 flows match (narrow with --flow ID)\n"),
        ] {
            let r = try Self.run(arguments)
            #expect(r.status == 1 && r.err == message, "\(arguments): \(r.status) \(r.err)")
        }
        // The largest limit is a limit like any other.
        let all = try Self.run(["query", "--db", db, "--limit", "9223372036854775807", "--csv"])
        #expect(all.status == 0 && all.out.split(separator: "\n").count == 19, "\(all.status) \(all.err)")
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
            #expect("\(error)" == "\(db): another flowdb ingest is writing to this archive")
        }
        _ = first
    }
}
