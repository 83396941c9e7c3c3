import Foundation
import Query
import Store
import Testing
import TestSupport

/// Overlapping segments with different bytes: kept as conflicts, named as anomalies,
/// and read back as each kind of target would have read them (issue 29).
@Suite struct EvasionTests {
    /// scripts/make-evasion-capture.py: one connection per classic case, client port 43000 + case.
    static let capture = Paths.fixture("anomalies/evasion.pcap")

    static func ingested() throws -> String {
        let db = Paths.temporaryDirectory() + "/e.sqlite"
        let r = try CommandLineTests.run(["ingest", "--db", db, capture])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("conflicts:      14 overlaps with different bytes\n"), "\(r.out)")
        return db
    }

    /// Each case's conflicts exactly (none where the copies agree: case 5), with
    /// both copies, where they were and which one the stream stores.
    @Test func eachCaseExactlyItsConflicts() throws {
        let db = try Self.ingested()
        let rows = try DatagramFlowTests.rows(db, """
            SELECT f.client_port - 43000, c.dir, c.stream_offset, c.length, c.differing, c.earlier_state, c.kept,
                   c.earlier_segment_offset || '+' || c.earlier_segment_length, c.later_segment_offset || '+' || c.later_segment_length,
                   CAST(c.earlier_bytes AS TEXT), CAST(c.later_bytes AS TEXT), c.bytes_cut,
                   c.earlier_packet_index, c.later_packet_index, c.later_ts - c.earlier_ts
            FROM overlap_conflict c JOIN flow f ON f.id = c.flow_id ORDER BY c.rowid
            """).map { $0.joined(separator: " ") }
        #expect(rows == [
            // 1: in-order overlap with new bytes; the earlier copy was delivered, its packet known
            "1 0 4 4 4 delivered earlier NULL 4+8 EFGH XYZW 0 3 4 1000000",
            // 2: out-of-order overlap onto queued data; gopacket keeps the later copy
            "2 0 6 2 2 queued later 4+4 6+4 GH XY 0 12 13 1000000",
            // 3: one segment over two queued ones: a conflict per queued segment
            "3 0 12 4 4 queued later 12+4 4+12 MNOP qqqq 0 23 24 1000000",
            "3 0 4 4 4 queued later 4+4 4+12 EFGH qqqq 0 22 24 2000000",
            // 4: a retransmission over delivered data, one byte different
            "4 0 0 8 1 delivered earlier NULL 0+8 ABCDEFGH ABCDxFGH 0 33 34 1000000",
            // 9: the target-based reassembly paper's pattern: nine overlaps, all different
            "9 0 5 1 1 queued later 5+2 2+4 B J 0 78 86 8000000",
            "9 0 2 2 2 queued later 1+3 2+4 AA JJ 0 77 86 9000000",
            "9 0 7 3 3 queued later 7+3 7+3 CCC KKK 0 79 87 8000000",
            "9 0 11 1 1 queued later 11+1 10+3 D L 0 80 88 8000000",
            "9 0 14 2 2 queued later 14+2 13+3 EE MM 0 81 89 8000000",
            "9 0 17 1 1 queued later 16+3 17+1 F N 0 82 90 8000000",
            "9 0 20 1 1 queued later 19+2 20+1 G O 0 83 91 8000000",
            "9 0 21 1 1 queued later 21+2 21+1 H P 0 84 92 8000000",
            "9 0 23 1 1 queued later 23+1 23+2 I Q 0 85 93 8000000",
        ])
        #expect(try DatagramFlowTests.rows(db, "SELECT client_port - 43000, overlap_conflicts FROM flow ORDER BY id").map { $0.joined(separator: ":") }
                == ["1:1", "2:1", "3:2", "4:1", "5:0", "6:0", "7:0", "8:0", "9:9", "10:0", "11:0", "12:0"])
        // the fragments' datagram kept its first copy, as tshark reassembles it
        let first = try CommandLineTests.run(["query", "--db", db, "--flow", "12", "--show", "raw", "--dir", "client"])
        #expect(first.out == "GET /index.html HTTP/1.0\r\n\r\n")
        // the partial index finds them
        #expect(try DatagramFlowTests.rows(db, "EXPLAIN QUERY PLAN SELECT id FROM flow WHERE overlap_conflicts > 0")
                .contains { $0.joined(separator: " ").contains("flow_by_overlap_conflicts") })
    }

    /// The other cases' anomalies, one row each, and a rexmit_inconsistency per conflict.
    @Test func eachCaseExactlyItsAnomalies() throws {
        let db = try Self.ingested()
        let r = try CommandLineTests.run(["query", "--db", db, "--anomalies", "--format", "json", "--limit", "0"])
        let rows = AnomalyTests.rows(r.out)
        let others = rows.filter { $0["name"] as? String != "rexmit_inconsistency" }
            .map { "\(($0["client_port"] as! Int) - 43000) \($0["name"]!) \($0["detail"]!)" }
        #expect(others == ["6 ttl_changed 64 -> 50 (first 64)", "7 SYN_with_data 5 bytes", "8 urgent_pointer pointer 1, 3 bytes",
                           "10 data_before_established 5 bytes",
                           "11 seq_outside_window ends 9934468 bytes past the receiver's window (65535 bytes at most)",
                           "12 fragment_inconsistency 8 bytes at IP payload offset 24: earlier 2f696e6465782e68, later 4556494c2e455845; "
                               + "the earlier is kept"])
        // the packet of each: the SYN-less data, the far segment, the fragment with the later copy
        #expect(rows.filter { ["data_before_established", "seq_outside_window", "fragment_inconsistency"].contains($0["name"] as? String) }
                .map { "\(($0["ts"] as! Int) % 1_000_000_000 / 1_000_000)" } == ["101", "109", "118"])
        let inconsistent = rows.filter { $0["name"] as? String == "rexmit_inconsistency" }.map { ($0["client_port"] as! Int) - 43000 }
        #expect(inconsistent == [1, 2, 3, 3, 4] + Array(repeating: 9, count: 9))
        #expect(rows.first?["detail"] as? String
                == "4 of 4 bytes at stream offset 4 differ from the delivered copy; the stream keeps the earlier one")
        let flows = try CommandLineTests.run(["query", "--db", db, "--anomaly", "rexmit_inconsistency", "--format", "json", "--limit", "0"])
        #expect(AnomalyTests.rows(flows.out).map { ($0["client_port"] as! Int) - 43000 } == [1, 2, 3, 4, 9])
    }

    /// The paper's pattern as each target reads it: the results Suricata's unit tests
    /// pin for the same segments (src/tests/stream-tcp-list.c), "0" the first byte.
    static let paper: [(String?, String)] = [
        (nil, "0AJJJJBKKKLLLMMMFNFGOPHQQ"),          // as stored: gopacket keeps the later copy of queued bytes
        ("first", "0AAAJBBCCCLDLMEEFFFGGHHIQ"),
        ("last", "0AJJJJBKKKLLLMMMFNFGOPHQQ"),
        ("bsd", "0AAAJJBCCCLLLMMMFFFGGHHIQ"),
        ("windows", "0AAAJJBCCCLLLMMMFFFGGHHIQ"),
        ("macos", "0AAAJJBCCCLLLMMMFFFGGHHIQ"),
        ("linux", "0AAAJJBCCCLLLMMMFFFGGHHQQ"),
        ("solaris", "0AJJJBBKKKLLLMMMFFFGGHHQQ"),
    ]

    @Test func paperPatternAsEachTargetReadsIt() throws {
        let db = try Self.ingested()
        for (policy, expected) in Self.paper {
            let r = try CommandLineTests.run(["query", "--db", db, "--flow", "9", "--show", "raw", "--dir", "client"]
                                             + (policy.map { ["--policy", $0] } ?? []))
            #expect(r.status == 0 && r.out == expected, "\(policy ?? "stored"): \(r.out) \(r.err)")
        }
        // --extract takes the same option, and its files are what --show gives
        let out = Paths.temporaryDirectory() + "/x"
        let r = try CommandLineTests.run(["query", "--db", db, "--flow", "9", "--extract", out, "--no-verify", "--policy", "solaris"])
        #expect(r.status == 0, "\(r.err)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".bin") || $0.contains("c2s") }
        let c2s = try #require(names.first { $0.contains("c2s") })
        #expect(try String(contentsOfFile: out + "/" + c2s, encoding: .utf8) == "0AJJJBBKKKLLLMMMFFFGGHHQQ")
        #expect(try String(contentsOfFile: out + "/manifest.json", encoding: .utf8).contains(",\"policy\":\"solaris\"}"))
    }

    /// The cases with one or two overlaps, read by the rule for delivered bytes
    /// (every target but `last` keeps what it accepted in order) and for queued ones.
    @Test func deliveredBytesStayFirstForEveryTargetButLast() throws {
        let db = try Self.ingested()
        func read(_ flow: Int, _ policy: String?) throws -> String {
            try CommandLineTests.run(["query", "--db", db, "--flow", "\(flow)", "--show", "raw", "--dir", "client"]
                                     + (policy.map { ["--policy", $0] } ?? [])).out
        }
        for policy in [nil, "first", "linux", "bsd", "windows", "solaris", "macos"] {
            #expect(try read(1, policy) == "ABCDEFGH1234", "\(policy ?? "stored")")
            #expect(try read(4, policy) == "ABCDEFGH", "\(policy ?? "stored")")
        }
        #expect(try read(1, "last") == "ABCDXYZW1234")
        #expect(try read(4, "last") == "ABCDxFGH")
        #expect(try read(2, nil) == "ABCDEFXYZW")
        #expect(try read(2, "first") == "ABCDEFGHZW")
        #expect(try read(3, "first") == "ABCDEFGHqqqqMNOP")
        // the q segment starts with EFGH (BSD keeps EFGH) and before MNOP (BSD takes the q)
        #expect(try read(3, "bsd") == "ABCDEFGHqqqqqqqq")
        #expect(try read(5, nil) == "ABCDEFGHIJKLMN")
        #expect(try read(5, "first") == "ABCDEFGHIJKLMN")
    }

    /// `flowdb export` writes the conflicts too (NDJSON), both copies in base64.
    @Test func exportedWithBothCopies() throws {
        let db = try Self.ingested()
        let out = Paths.temporaryDirectory() + "/export"
        let r = try CommandLineTests.run(["export", "--db", db, "--out", out])
        #expect(r.status == 0 && r.err.contains("14 overlap_conflict"), "\(r.err)")
        let lines = try String(contentsOfFile: out + "/e.overlap_conflict.ndjson", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 14)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["flow_id"] as? Int == 1 && first["stream_offset"] as? Int == 4 && first["kept"] as? String == "earlier")
        #expect(first["earlier_bytes"] as? String == "RUZHSA==" && first["later_bytes"] as? String == "WFlaVw==")   // EFGH, XYZW
        #expect(first["earlier_segment_offset"] is NSNull)
    }

    /// scripts/make-evasion-bounds-capture.py: what an attacker may do to the bounds.
    @Test func boundsKeepTheEvidence() throws {
        let db = Paths.temporaryDirectory() + "/b.sqlite"
        let r = try CommandLineTests.run(["ingest", "--db", db, Paths.fixture("anomalies/evasion-bounds.pcap")])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("conflicts:      1002 overlaps with different bytes, 99 more past the bound of 1,000 rows per flow"), "\(r.out)")
        #expect(r.out.contains("anomalies:      2004 (200 more past the bound of 1,000 per flow, counted only)"), "\(r.out)")
        let rows = try DatagramFlowTests.rows(db, """
            SELECT f.client_port - 44000, f.overlap_conflicts,
                   (SELECT count(*) FROM overlap_conflict c WHERE c.flow_id = f.id),
                   (SELECT coalesce(sum(bytes_cut), 0) FROM overlap_conflict c WHERE c.flow_id = f.id),
                   (SELECT group_concat(name || '=' || n) FROM (SELECT name, count(*) AS n FROM anomaly a WHERE a.flow_id = f.id
                                                                GROUP BY name ORDER BY name))
            FROM flow f ORDER BY f.id
            """).map { $0.joined(separator: " ") }
        #expect(rows == [
            // 1,200 empty URG segments fill the flow's 1,000 rows; its conflict still has its row
            "1 1 1 0 rexmit_inconsistency=1,urgent_pointer=1000",
            // 1,100 one-byte retransmissions: the last is a keep-alive's shape (not a conflict), 1,000 rows kept
            "2 1099 1000 0 rexmit_inconsistency=1000",
            // 6,000 different bytes: 4,096 of each copy kept
            "3 1 1 1904 rexmit_inconsistency=1",
            // a SYN with data sent twice alike: no conflict
            "4 0 0 0 SYN_with_data=2",
        ])
        // a copy not kept whole is shown as stored, and --policy says so
        let last = try CommandLineTests.run(["query", "--db", db, "--flow", "3", "--show", "raw", "--dir", "client", "--policy", "last"])
        #expect(last.out == String(repeating: "a", count: 6000))
        #expect(last.err == "flowdb: --policy last: 1 conflict(s) past the archive's bounds were not kept whole; their bytes are shown as stored\n")
    }

    /// Real traffic with loss and retransmissions on both sides of the capture
    /// point overlaps a lot, with the same bytes: no conflict.
    @Test func noConflictOnRealTraffic() throws {
        let db = Paths.temporaryDirectory() + "/r.sqlite"
        let captures = [Paths.sample, Paths.fixture("ipv6-loss.pcap"), Paths.fixture("apps/app.pcap"), Paths.fixture("port-reuse.pcap"),
                        Paths.fixture("sll2-any.pcap")]
        let r = try CommandLineTests.run(["ingest", "--db", db] + captures)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("conflicts:      0 overlaps with different bytes"), "\(r.out)")
        #expect(try DatagramFlowTests.rows(db, "SELECT count(*) FROM overlap_conflict") == [["0"]])
        // while overlaps there were, compared and found equal
        let overlapping = try DatagramFlowTests.rows(db, "SELECT count(*), sum(overlap_bytes) FROM flow WHERE overlap_bytes > 0")[0]
        #expect(Int(overlapping[0])! >= 5 && Int(overlapping[1])! > 10_000, "\(overlapping)")
    }
}
