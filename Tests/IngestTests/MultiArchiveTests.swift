import Foundation
import Testing
import TestSupport

/// `flowdb query --db DIR` (or --db repeated): one question of many archives.
@Suite struct MultiArchiveTests {
    /// Three archives: the sample, the datagram sample with the application fixture, a VXLAN capture.
    static let directory: String = {
        let dir = Paths.temporaryDirectory("flowdb-multi")
        for (name, captures) in [("a.sqlite", [Paths.sample]),
                                 ("b.sqlite", [Paths.repository + "/Samples/sample-dns.pcap", Paths.fixture("apps/app.pcap")]),
                                 ("c.sqlite", [Paths.fixture("tunnels/vxlan.pcap")])] {
            let r = try! CommandLineTests.run(["ingest", "--quiet", "--db", dir + "/" + name] + captures)
            precondition(r.status == 0, r.err)
        }
        return dir
    }()

    static func json(_ out: String) -> [[String: Any]] {
        out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// For several filters, the directory's answer is exactly the union of each
    /// archive's own, each row naming its archive, in time order.
    @Test func theUnionOfEachArchivesAnswer() throws {
        let dir = Self.directory
        for filter in [[String](), ["--port", "53"], ["--proto", "tcp"], ["--state", "SF"], ["--app", "http"],
                       ["--since", "2026-11-29"], ["--until", "2026-11-26"], ["--host", "10.77.0.0/16"], ["--contains", "GET /"]] {
            let all = try CommandLineTests.run(["query", "--db", dir, "--format", "json", "--limit", "0"] + filter)
            #expect(all.status == 0, "\(filter): \(all.err)")
            var union: [String] = []
            for name in ["a.sqlite", "b.sqlite", "c.sqlite"] {
                let one = try CommandLineTests.run(["query", "--db", dir + "/" + name, "--format", "json", "--limit", "0"] + filter)
                for row in Self.json(one.out) { union.append("\(name):\(row["id"] as! Int):\(row["community_id"] as! String)") }
            }
            let rows = Self.json(all.out)
            let got = rows.map { "\($0["archive"] as! String):\($0["id"] as! Int):\($0["community_id"] as! String)" }
            #expect(got.sorted() == union.sorted(), "\(filter)")
            #expect(!got.isEmpty, "\(filter) selects nothing: the case proves nothing")
            let times = rows.map { $0["first_ts"] as! Int }
            #expect(times == times.sorted(), "\(filter): not in time order")
        }
        // --db repeated is the same as the directory
        let repeated = try CommandLineTests.run(["query", "--db", dir + "/a.sqlite", "--db", dir + "/b.sqlite", "--db", dir + "/c.sqlite",
                                                 "--format", "json", "--limit", "0"])
        let whole = try CommandLineTests.run(["query", "--db", dir, "--format", "json", "--limit", "0"])
        #expect(repeated.out == whole.out && !whole.out.isEmpty)
    }

    /// The first N by time across archives, not each archive's first N by id.
    @Test func aLimitCutsTheMergedList() throws {
        let all = Self.json(try CommandLineTests.run(["query", "--db", Self.directory, "--format", "json", "--limit", "0"]).out)
        let five = try CommandLineTests.run(["query", "--db", Self.directory, "--format", "json", "--limit", "5"])
        #expect(Self.json(five.out).map { "\($0["archive"]!):\($0["id"]!)" } == all.prefix(5).map { "\($0["archive"]!):\($0["id"]!)" })
        #expect(five.err == "flowdb: showing the first 5 flows; more match (--limit N, or --limit 0 for all)\n")
    }

    /// `--flow ARCHIVE:ID` selects one archive's flow for the content and packet exports.
    @Test func oneFlowByArchiveAndID() throws {
        let dir = Self.directory
        let shown = try CommandLineTests.run(["query", "--db", dir, "--flow", "a.sqlite:8", "--show", "raw", "--dir", "server"])
        let direct = try CommandLineTests.run(["query", "--db", dir + "/a.sqlite", "--flow", "8", "--show", "raw", "--dir", "server"])
        #expect(shown.status == 0 && shown.out == direct.out && direct.out.utf8.count > 100_000)
        let out = Paths.temporaryDirectory()
        let viaSet = try CommandLineTests.run(["query", "--db", dir, "--flow", "b.sqlite:3", "--pcap", out + "/x.pcap"])
        let viaOne = try CommandLineTests.run(["query", "--db", dir + "/b.sqlite", "--flow", "3", "--pcap", out + "/y.pcap"])
        #expect(viaSet.status == 0 && viaOne.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/x.pcap")) == Data(contentsOf: URL(fileURLWithPath: out + "/y.pcap")))
        // several archives' flows cannot be one stream
        let mixed = try CommandLineTests.run(["query", "--db", dir, "--show", "ascii"])
        #expect(mixed.status == 1)
        #expect(mixed.err == "flowdb: the flows selected are in 3 archives; --show, --extract, --pcap and --extract-objects read one (narrow with --flow ARCHIVE:ID, or one --db)\n")
        let unknown = try CommandLineTests.run(["query", "--db", dir, "--flow", "z.sqlite:1"])
        #expect(unknown.err == "flowdb: --flow z.sqlite:…: no archive of that name among those given\n")
        let wrongOne = try CommandLineTests.run(["query", "--db", dir + "/a.sqlite", "--flow", "b.sqlite:1"])
        #expect(wrongOne.err == "flowdb: --flow b.sqlite:1: the archive is a.sqlite\n")
    }

    /// --dns and the other application listings, across archives.
    @Test func applicationRowsAcrossArchives() throws {
        let r = try CommandLineTests.run(["query", "--db", Self.directory, "--dns", "--format", "json", "--limit", "0"])
        let rows = Self.json(r.out)
        let one = Self.json(try CommandLineTests.run(["query", "--db", Self.directory + "/b.sqlite", "--dns", "--format", "json", "--limit", "0"]).out)
        #expect(rows.count == one.count && rows.count > 5)
        #expect(rows.allSatisfy { $0["archive"] as? String == "b.sqlite" })
    }
}
