import Foundation
import Testing
import TestSupport

/// Anomalies as Zeek's weird.log names them: one row per packet and kind.
@Suite struct AnomalyTests {
    static func rows(_ out: String) -> [[String: Any]] {
        out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// scripts/make-anomaly-capture.py: one connection per kind, and an ordinary one.
    @Test func eachKindOnceAndNoneWhereNothingIsOdd() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        #expect(try CommandLineTests.run(["ingest", "--quiet", "--db", db, Paths.fixture("anomalies/tcp-anomalies.pcap")]).status == 0)
        let r = try CommandLineTests.run(["query", "--db", db, "--anomalies", "--format", "json", "--limit", "0"])
        let rows = Self.rows(r.out).map { "\($0["client_port"]!) \($0["name"]!) \($0["detail"]!)" }
        #expect(rows == ["41001 SYN_with_data 5 bytes", "41002 RST_with_data 11 bytes", "41003 data_after_reset 7 bytes"])
        for (name, port) in [("SYN_with_data", 41001), ("RST_with_data", 41002), ("data_after_reset", 41003)] {
            let flows = Self.rows(try CommandLineTests.run(["query", "--db", db, "--anomaly", name, "--format", "json", "--limit", "0"]).out)
            #expect(flows.map { $0["client_port"] as! Int } == [port], "\(name)")
        }
        let weird = try CommandLineTests.run(["query", "--db", db, "--anomalies", "--format", "zeek"])
        #expect(weird.out.contains("#path\tweird\n"))
        #expect(weird.out.contains("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tname\taddl\n"))
        #expect(weird.out.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 3)
    }

    /// Real traffic with loss, retransmissions and resets has none of these.
    @Test func noneOnRealTraffic() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let captures = [Paths.sample, Paths.fixture("ipv6-loss.pcap"), Paths.fixture("apps/app.pcap"),
                        Paths.fixture("datagrams/dns-udp-icmp.pcap"), Paths.fixture("port-reuse.pcap")]
        #expect(try CommandLineTests.run(["ingest", "--quiet", "--db", db] + captures).status == 0)
        let flows = try CommandLineTests.run(["query", "--db", db, "--state", "reset", "--format", "json", "--limit", "0"])
        #expect(Self.rows(flows.out).count >= 3)       // resets there are, anomalies not
        let r = try CommandLineTests.run(["query", "--db", db, "--anomalies", "--format", "json", "--limit", "0"])
        #expect(r.out.isEmpty, "\(r.out)")
    }
}
