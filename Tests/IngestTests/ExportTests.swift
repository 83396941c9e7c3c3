import Foundation
import Testing
import TestSupport

/// `flowdb export`: the records of archives as NDJSON or Zeek logs.
@Suite struct ExportTests {
    static func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }
    static func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func ndjsonIsTheQuerysRowsWithTheirArchive() throws {
        let dir = MultiArchiveTests.directory, out = Paths.temporaryDirectory() + "/export"
        let r = try CommandLineTests.run(["export", "--db", dir, "--out", out])
        #expect(r.status == 0, "\(r.err)")
        for name in ["a", "b", "c"] {
            let db = dir + "/\(name).sqlite"
            let id = try CommandLineTests.run(["query", "--db", db, "--limit", "0", "--format", "json"])
            let archiveID = String(Self.lines(r.err).first { $0.contains("/\(name).sqlite:") }?.split(separator: " ").last?.dropLast() ?? "")
            #expect(archiveID.count == 36)
            let prefix = "{\"archive_id\":\"\(archiveID)\",\"archive\":\"\(name).sqlite\","
            let expected = Self.lines(id.out).map { line -> String in
                let flowID = (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["id"] as! Int
                return prefix + "\"flow_id\":\(flowID)," + line.dropFirst()
            }
            #expect(Self.lines(try Self.read(out + "/\(name).flow.ndjson")) == expected, "\(name)")
            #expect(!expected.isEmpty)
            for log in ["http", "tls", "ssh", "dns"] {
                let rows = try CommandLineTests.run(["query", "--db", db, "--limit", "0", "--\(log)", "--format", "json"])
                #expect(Self.lines(try Self.read(out + "/\(name).\(log).ndjson")) == Self.lines(rows.out).map { prefix + $0.dropFirst() },
                        "\(name) \(log)")
            }
        }
        #expect(Self.lines(try Self.read(out + "/b.http.ndjson")).count >= 10)
        #expect(Self.lines(try Self.read(out + "/b.dns.ndjson")).count >= 5)
    }

    /// A sync job can compare: the same archives exported again are the same bytes.
    @Test func exportingAgainWritesTheSameBytes() throws {
        let dir = MultiArchiveTests.directory, out = Paths.temporaryDirectory() + "/export"
        for format in ["ndjson", "zeek"] {
            _ = try CommandLineTests.run(["export", "--db", dir, "--out", out, "--format", format])
            let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            let first = try files.map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }
            _ = try CommandLineTests.run(["export", "--db", dir, "--out", out, "--format", format])
            #expect(try files.map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) } == first)
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == files)
        }
    }

    /// Zeek logs: each record line is the line `query --format zeek` writes.
    @Test func zeekLogsAreTheQuerysLines() throws {
        let dir = MultiArchiveTests.directory, out = Paths.temporaryDirectory() + "/export"
        _ = try CommandLineTests.run(["export", "--db", dir, "--out", out, "--format", "zeek"])
        func records(_ text: String) -> [String] { Self.lines(text).filter { !$0.hasPrefix("#") } }
        func header(_ text: String) -> [String] { Self.lines(text).filter { $0.hasPrefix("#fields") || $0.hasPrefix("#types") || $0.hasPrefix("#path") } }
        for (log, file) in [("", "conn"), ("--http", "http"), ("--tls", "ssl"), ("--ssh", "ssh"), ("--dns", "dns")] {
            let q = try CommandLineTests.run(["query", "--db", dir + "/b.sqlite", "--limit", "0", "--format", "zeek"] + (log.isEmpty ? [] : [log]))
            let exported = try Self.read(out + "/b.\(file).log")
            #expect(records(exported) == records(q.out) && !records(q.out).isEmpty, "\(file)")
            #expect(header(exported) == header(q.out), "\(file)")
        }
    }

    /// --since/--until: the flows of the window, and only their application rows.
    @Test func aTimeWindow() throws {
        let dir = MultiArchiveTests.directory, out = Paths.temporaryDirectory() + "/export"
        _ = try CommandLineTests.run(["export", "--db", dir + "/b.sqlite", "--out", out, "--since", "2026-12-01"])
        let flows = Self.lines(try Self.read(out + "/b.flow.ndjson"))
        let q = try CommandLineTests.run(["query", "--db", dir + "/b.sqlite", "--since", "2026-12-01", "--limit", "0", "--format", "json"])
        #expect(flows.count == Self.lines(q.out).count && !flows.isEmpty)
        #expect(try Self.read(out + "/b.http.ndjson").isEmpty)     // the HTTP is from November
        #expect(!(try Self.read(out + "/b.dns.ndjson")).isEmpty)
    }
}
