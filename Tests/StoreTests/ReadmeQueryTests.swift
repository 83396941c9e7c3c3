import Foundation
import Testing
import TestSupport
import Store

/// The README's example queries, run as written in the sqlite3 shell on an archive
/// of the bundled sample (made by the flowdb binary, as `make demo` does).
@Suite struct ReadmeQueryTests {
    static func examples() throws -> [String] {
        let readme = try String(contentsOfFile: Paths.repository + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "<!-- sqlite-examples -->"), let end = readme.range(of: "<!-- /sqlite-examples -->") else { return [] }
        return readme[start.upperBound..<end.lowerBound].split(separator: "\n")
            .filter { !$0.hasPrefix("```") && !$0.hasPrefix("--") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map(String.init)
    }

    static func sqlite3(_ db: String, _ sql: String) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", "-bail", "-readonly", db, sql]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func examplesRunInTheShell() throws {
        let flowdb = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flowdb").path
        let db = Paths.temporaryDirectory() + "/demo.sqlite"
        let ingest = Process()
        ingest.executableURL = URL(fileURLWithPath: flowdb)
        ingest.arguments = ["ingest", "--quiet", "--db", db, Paths.sample]
        try ingest.run()
        ingest.waitUntilExit()
        #expect(ingest.terminationStatus == 0)
        let examples = try Self.examples()
        #expect(examples.count == 8)
        var outputs: [String] = []
        for sql in examples {
            let (status, out, err) = try Self.sqlite3(db, sql)
            #expect(status == 0 && err.isEmpty, "\(sql): \(err)")
            outputs.append(out)
        }
        #expect(outputs[0].hasPrefix("8|2026-11-25T12:52:15.275393Z|10.77.0.2:45788|10.77.0.1:9000|40032|150000|184|reset|RSTO|ShADadtR\n"))
        #expect(outputs[1] == "000000C80000EA60\n")
        #expect(outputs[2] == "0|30|40032\n1|106|150000\n")
        #expect(outputs[3] == "RSTO|2|230\nSF|8|600\n")
        #expect(outputs[4] == "6|10.77.0.2:45770|68056|ShADadtFf\n3|10.77.0.2:45750|53800|ShADadtFf\n8|10.77.0.2:45788|34752|ShADadtR\n")
        #expect(outputs[5] == "1|60816|1448|40544|1\n1|70952|1448|27512|1\n")
        #expect(outputs[6].hasPrefix("1|\(Paths.sample)|complete|830|830|0\n"))
        #expect(outputs[7] == "")
        // The overlap question reads only the flows that have some, through their partial index.
        let (_, plan, _) = try Self.sqlite3(db, "EXPLAIN QUERY PLAN SELECT id FROM flows WHERE overlap_bytes > 0")
        #expect(plan.contains("INDEX flow_by_overlap (overlap_bytes>?)"), "\(plan)")
    }
}
