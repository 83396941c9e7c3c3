import Foundation
import Testing
import TestSupport
import Digest
import Recording
import Store
@testable import Ingest

/// Runs a script of scripts/ with python3 and returns its exit status and output.
func runScript(_ name: String, _ arguments: [String]) throws -> (status: Int32, lines: [Substring]) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", Paths.repository + "/scripts/" + name] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self).split(separator: "\n"))
}

/// The flowdb executable SwiftPM built beside this test bundle.
let flowdbBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flowdb").path

@Suite(.serialized) struct IngestTests {
    static func ingest(_ paths: [String], into db: String, _ configure: (inout IngestOptions) -> Void = { _ in }) throws -> IngestReport {
        var options = IngestOptions()
        options.recording.flushPolicy = .never
        configure(&options)
        let archive = try Archive(path: db, create: true)
        return try Ingestor(archive: archive, options: options).run(paths: paths)
    }

    @Test func sampleIntoArchive() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let report = try Self.ingest([Paths.sample], into: db)
        #expect(report.files.count == 1)
        #expect(report.files[0].outcome == .ingested(captureID: 1))
        // 10 connections, 10 flows: the packets after each close (final ACKs)
        // belong to their connection instead of opening empty flows.
        #expect(report.flows == 10)
        #expect(report.bytesDelivered == 701_324)
        #expect(report.bytesStored == 701_324)
        #expect(report.gaps == 0)
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let capture = try c.prepare("SELECT path, sha256, size, link_type, packets, tcp_packets, first_ts, last_ts, status FROM capture")
        #expect(try capture.step())
        #expect(capture.text(0) == Paths.sample)
        #expect(capture.text(1) == "276780f57e10e988182499d50db5b27171f9a30d21965e5697cdb9bda5d0049d")
        #expect(capture.int(2) == 783_556 && capture.int(3) == 1 && capture.int(4) == 830 && capture.int(5) == 830)
        #expect(capture.int64(6) == 1_795_611_135_270_787_000 && capture.int64(7) == 1_795_611_135_741_806_000)
        #expect(capture.text(8) == "complete")
        #expect(try c.scalar("SELECT count(*) FROM chunk") == 544)
        #expect(try c.scalar("SELECT sum(length(data)) FROM chunk") == 701_324)
        #expect(try c.scalar("SELECT count(*) FROM flow WHERE complete = 1") == 10)
        // Every packet is counted on its connection, pure ACKs included.
        #expect(try c.scalar("SELECT sum(c2s_packets + s2c_packets) FROM flow") == 830)
        // The two connections the peer ended with a RST (ground truth), the rest by FIN both ways.
        #expect(try c.scalar("SELECT count(*) FROM flow WHERE conn_state = 'SF'") == 8)
        let others = try c.prepare("""
            SELECT group_concat(client_port || ':' || conn_state || ':' || history, ' ')
            FROM (SELECT * FROM flow WHERE conn_state <> 'SF' ORDER BY id)
            """)
        #expect(try others.step() && others.text(0) == "45752:RSTO:ShADadR 45788:RSTO:ShADadtR")
        // Flow 1, packet by packet as tcpdump counts them (27 from the client, 45 from the server).
        let one = try c.prepare("SELECT c2s_packets, s2c_packets, c2s_ip_bytes, s2c_ip_bytes, c2s_data_packets, history FROM flow WHERE id = 1")
        #expect(try one.step())
        #expect((0..<6).map { one.value($0) } == [.integer(27), .integer(45), .integer(1628), .integer(62_348), .integer(3),
                                                  .text("ShADadFf")])
        let first = try c.prepare("SELECT id, start, client, server, c2s_bytes, s2c_bytes, state FROM flows ORDER BY id LIMIT 1")
        #expect(try first.step())
        #expect((0..<7).map { first.value($0) } == [.integer(1), .text("2026-11-25T12:52:15.270787Z"), .text("10.77.0.2:45740"),
                                                    .text("10.77.0.1:9000"), .integer(216), .integer(60_000), .text("closed")])
        #expect(try c.scalar("SELECT count(*) FROM pragma_foreign_key_check") == 0)
        let integrity = try c.prepare("PRAGMA integrity_check")
        #expect(try integrity.step() && integrity.text(0) == "ok")
        // every direction's bytes, read back from chunk, are what was really sent
        let truth = try GroundTruth.load(Paths.sample)
        #expect(truth.flows.count == 10)
        for flow in truth.flows {
            for (dir, length, sha) in [(0, flow.c2s_len, flow.c2s_sha256), (1, flow.s2c_len, flow.s2c_sha256)] {
                let s = try c.prepare("""
                    SELECT data FROM chunk WHERE dir = ? AND flow_id =
                      (SELECT id FROM flow WHERE client_port = ? AND (c2s_bytes + s2c_bytes > 0 OR ? = 0) ORDER BY id LIMIT 1)
                    ORDER BY id
                    """)
                try s.bind(dir, at: 1)
                try s.bind(flow.clientPort, at: 2)
                try s.bind(flow.c2s_len + flow.s2c_len, at: 3)
                var sha256 = Digest.SHA256(), n = 0
                while try s.step() { sha256.update(s.blob(0)); n += s.blob(0).count }
                #expect(n == length && sha256.hexDigest == sha, "port \(flow.clientPort) dir \(dir)")
            }
        }
    }

    @Test func reingestIsANoOpAndForceReplaces() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Self.ingest([Paths.sample], into: db)
        let again = try Self.ingest([Paths.sample], into: db)
        guard case .skipped(let reason) = again.files[0].outcome else { Issue.record("not skipped"); return }
        #expect(reason.hasPrefix("already in the archive as capture 1 (sha256 276780f57e10e988"))
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        #expect(try c.scalar("SELECT count(*) FROM flow") == 10)
        let forced = try Self.ingest([Paths.sample], into: db) { $0.force = true }
        #expect(forced.flows == 10)
        #expect(try c.scalar("SELECT count(*) FROM capture") == 1)
        #expect(try c.scalar("SELECT count(*) FROM flow") == 10)
        #expect(try c.scalar("SELECT count(*) FROM chunk") == 544)
    }

    /// Deliveries are stored in blocks of at most `deliveriesPerBlock` per flow
    /// and write batch; the size of the blocks changes nothing a reader sees.
    @Test func blockSizeDoesNotChangeDeliveries() throws {
        func rows(_ db: String) throws -> [String] {
            let c = try SQLiteConnection(path: db)
            let s = try c.prepare("SELECT id, flow_id, dir, is_start, is_end, skip, length, hex(data), stream_offset, ts_first, ts_last, " +
                                  "packets, chunks, queued_bytes, queued_packets, overlap_bytes, overlap_packets FROM chunk ORDER BY id")
            var out: [String] = []
            while try s.step() { out.append((0..<s.columnCount).map { s.text($0) ?? "NULL" }.joined(separator: "|")) }
            return out
        }
        let whole = Paths.temporaryDirectory() + "/whole.sqlite", small = Paths.temporaryDirectory() + "/small.sqlite"
        _ = try Self.ingest([Paths.sample], into: whole)
        _ = try Self.ingest([Paths.sample], into: small) { $0.recording.deliveriesPerBlock = 5 }
        let expected = try rows(whole)
        #expect(expected.count == 544)
        #expect(try rows(small) == expected)
        let w = try SQLiteConnection(path: whole), s = try SQLiteConnection(path: small)
        // One per flow with deliveries (10 of the 18), as all fit one batch.
        #expect(try w.scalar("SELECT count(*) FROM delivery_block") == 10)
        #expect(try w.scalar("SELECT count(DISTINCT flow_id) FROM delivery_block") == 10)
        #expect(try w.scalar("SELECT max(deliveries) FROM delivery_block") == 136)
        #expect(try s.scalar("SELECT max(deliveries) FROM delivery_block") == 5)
        #expect(try s.scalar("SELECT sum(deliveries) FROM delivery_block") == 544)
        #expect(try s.scalar("SELECT count(*) FROM delivery_block") == 113)     // the sum of ceil(n / 5)
        // A block's first and last ids bound its deliveries.
        #expect(try s.scalar("""
            SELECT count(*) FROM delivery_block b, json_each(b.records) r
            WHERE json_extract(r.value, '$[0]') NOT BETWEEN b.first_delivery AND b.last_delivery
            """) == 0)
    }

    /// What an interrupted ingest left (capture still 'running', part of its rows)
    /// is removed when the same file is ingested again.
    @Test func leftoversOfAnInterruptedIngestAreReplaced() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Self.ingest([Paths.sample], into: db)
        let c = try SQLiteConnection(path: db)
        try c.execute("UPDATE capture SET status = 'running', sha256 = NULL; DELETE FROM delivery_block WHERE first_delivery > 300")
        let report = try Self.ingest([Paths.sample], into: db)
        #expect(report.files[0].outcome == .ingested(captureID: 1))
        #expect(try c.scalar("SELECT count(*) FROM capture") == 1)
        #expect(try c.scalar("SELECT count(*) FROM chunk") == 544)
        #expect(try c.scalar("SELECT count(*) FROM capture WHERE status = 'complete'") == 1)
    }


    /// An ingest into an empty archive builds the indexes of flow at
    /// the end; one killed before that leaves them out, and the next ingest
    /// puts them back (exactly as schema/ defines them) before it deletes leftovers.
    @Test func deferredIndexesAreBuiltAndRepaired() throws {
        func indexes(_ c: SQLiteConnection) throws -> [String] {
            let s = try c.prepare("SELECT name || ': ' || sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            var found: [String] = []
            while try s.step() { found.append(s.text(0) ?? "") }
            return found
        }
        let fresh = Paths.temporaryDirectory() + "/fresh.sqlite"
        let expected = try indexes(Archive(path: fresh, create: true).connection)
        #expect(expected.count == 28)
        #expect(expected.contains("delivery_block_by_flow: CREATE INDEX delivery_block_by_flow ON delivery_block(flow_id, first_delivery)"))
        #expect(!expected.contains { $0.hasPrefix("delivery_by_flow") })      // dropped by 0003
        // in the order 0013 rebuilt them, then 0015's and 0019's
        #expect(BulkLoad.deferredIndexes.map(\.name) == ["flow_by_capture", "flow_by_client_ip", "flow_by_server_ip",
            "flow_by_client_port", "flow_by_server_port", "flow_by_first_ts", "flow_by_conn_state", "flow_by_duration",
            "flow_by_overlap", "flow_by_app", "flow_by_app_host", "flow_by_proto", "flow_by_community_id",
            "flow_by_overlap_conflicts"])
        // each as the migrations left it (on an expression, partial ones), made idempotent
        #expect(BulkLoad.deferredIndexes.first?.sql == "CREATE INDEX IF NOT EXISTS flow_by_capture     ON flow(capture_id)")
        #expect(BulkLoad.deferredIndexes.last?.sql
                == "CREATE INDEX IF NOT EXISTS flow_by_overlap_conflicts ON flow(overlap_conflicts) WHERE overlap_conflicts > 0")
        #expect(BulkLoad.deferredIndexes.map { "\($0.name): \($0.sql)" }.sorted()
                == expected.filter { $0.hasPrefix("flow_by_") }.map { $0.replacing("CREATE INDEX ", with: "CREATE INDEX IF NOT EXISTS ") }.sorted())

        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Self.ingest([Paths.sample], into: db)
        let c = try SQLiteConnection(path: db)
        #expect(try indexes(c) == expected)
        // The state a kill during the bulk load leaves: no deferred index, capture 'running'.
        for index in BulkLoad.deferredIndexes { try c.execute("DROP INDEX \(index.name)") }
        try c.execute("UPDATE capture SET status = 'running', sha256 = NULL")
        #expect(try indexes(c) == ["anomaly_by_flow: CREATE INDEX anomaly_by_flow ON anomaly(flow_id)",
                                   "anomaly_by_name: CREATE INDEX anomaly_by_name ON anomaly(name)",
                                   "capture_by_run: CREATE INDEX capture_by_run ON capture(ingest_run)",
                                   "capture_by_sha256: CREATE INDEX capture_by_sha256 ON capture(sha256)",
                                   "delivery_block_by_flow: CREATE INDEX delivery_block_by_flow ON delivery_block(flow_id, first_delivery)",
                                   "dns_by_flow: CREATE INDEX dns_by_flow ON dns(flow_id)",
                                   "dns_by_query: CREATE INDEX dns_by_query ON dns(query COLLATE NOCASE)",
                                   "gap_by_flow: CREATE INDEX gap_by_flow ON gap(flow_id, dir)",
                                   "http_by_host: CREATE INDEX http_by_host ON http(host COLLATE NOCASE)",
                                   "overlap_conflict_by_flow: CREATE INDEX overlap_conflict_by_flow ON overlap_conflict(flow_id, dir, stream_offset)",
                                   "payload_by_flow: CREATE INDEX payload_by_flow ON payload(flow_id, dir, stream_offset)",
                                   "tls_by_ja3: CREATE INDEX tls_by_ja3 ON tls(ja3)",
                                   "tls_by_ja4: CREATE INDEX tls_by_ja4 ON tls(ja4)",
                                   "tls_by_server_name: CREATE INDEX tls_by_server_name ON tls(server_name COLLATE NOCASE)"])
        #expect(try c.scalar("SELECT count(*) FROM chunk WHERE flow_id = 3") == 70)     // still answers, by scanning
        let report = try Self.ingest([Paths.sample], into: db)
        #expect(report.files[0].outcome == .ingested(captureID: 1))
        #expect(try indexes(c) == expected)
        #expect(try c.scalar("SELECT count(*) FROM chunk") == 544)
        // Into a non-empty archive, the indexes stay in place throughout.
        #expect(try BulkLoad.deferIndexesIfEmpty(c) == false)
        #expect(try indexes(c) == expected)
    }

    /// A file cut in the middle of a record: the packets before the cut are kept,
    /// the capture is marked failed with the reader's message.
    @Test func brokenFileKeepsWhatWasRead() throws {
        let dir = Paths.temporaryDirectory()
        let cut = dir + "/cut.pcap"
        try Array(try [UInt8](contentsOf: Paths.sample).prefix(10_000)).write(to: cut)
        let report = try Self.ingest([cut], into: dir + "/a.sqlite")
        #expect(report.failures == ["\(cut): packet 24 at byte offset 10000: truncated dump file; tried to read 1514 captured bytes, only got 352"])
        #expect(report.counters.packets == 24)
        let c = try SQLiteConnection(path: dir + "/a.sqlite", mode: .readOnly)
        #expect(try c.scalar("SELECT count(*) FROM capture WHERE status = 'failed' AND error LIKE '%packet 24%'") == 1)
        #expect(try c.scalar("SELECT count(*) FROM flow") == 3)
        #expect(try c.scalar("SELECT packets FROM capture") == 24)
    }

    @Test func payloadPolicies() throws {
        let dir = Paths.temporaryDirectory()
        let none = try Self.ingest([Paths.sample], into: dir + "/none.sqlite") { $0.recording.payload = PayloadPolicy(maxBytesPerDirection: 0) }
        #expect(none.bytesDelivered == 701_324 && none.bytesStored == 0)
        let c = try SQLiteConnection(path: dir + "/none.sqlite", mode: .readOnly)
        #expect(try c.scalar("SELECT count(*) FROM payload") == 0)
        #expect(try c.scalar("SELECT sum(length) FROM chunk") == 701_324)
        let capped = try Self.ingest([Paths.sample], into: dir + "/capped.sqlite") { $0.recording.payload = PayloadPolicy(maxBytesPerDirection: 100) }
        let d = try SQLiteConnection(path: dir + "/capped.sqlite", mode: .readOnly)
        // each direction keeps its first 100 bytes: the sum of min(sent, 100) over
        // the ground truth's 20 directions is 1,748
        let truth = try GroundTruth.load(Paths.sample)
        #expect(truth.flows.reduce(0) { $0 + min($1.c2s_len, 100) + min($1.s2c_len, 100) } == 1_748)
        #expect(capped.bytesStored == 1_748)
        #expect(try d.scalar("SELECT max(c2s_stored) FROM flow") == 100)
        #expect(try d.scalar("SELECT count(*) FROM flow WHERE c2s_bytes > 0 AND c2s_stored <> min(c2s_bytes, 100)") == 0)
    }

    /// scripts/archive-check.py: every chunk row equals gopacket's delivery field by
    /// field, and every direction's bytes equal the ground truth. gopacket's streams
    /// for the packets after a close (18 last ACKs) continue their connection's flow.
    @Test func archiveMatchesOracleAndGroundTruth() throws {
        let captures = [Paths.sample] + (try FileManager.default.contentsOfDirectory(atPath: Paths.repository + "/Tests/Fixtures")
            .filter { $0.hasSuffix(".pcap") }.sorted().map { Paths.fixture($0) })
        let (status, lines) = try runScript("archive-check.py", ["--flowdb", flowdbBinary] + captures)
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "8 passed, 0 failed")
        #expect(lines.contains("compared 28 connections, 734 chunks with gopacket; flow accounting: 18 streams continued their connection"))
    }

    /// scripts/conn-check.py on real traffic with its ground truth (loss, resets, port
    /// reuse, IPv6, Linux cooked v2, other link headers): every real connection is
    /// exactly one flow, FIN both ways is SF, a RST is RSTO or RSTR, no other flow.
    @Test func everyRealConnectionIsOneFlow() throws {
        let captures = [Paths.sample] + (try FileManager.default.contentsOfDirectory(atPath: Paths.repository + "/Tests/Fixtures")
            .filter { $0.hasSuffix(".pcap") }.sorted().map { Paths.fixture($0) })
        let (status, lines) = try runScript("conn-check.py", ["--flowdb", flowdbBinary] + captures)
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "8 passed, 0 failed")
        #expect(lines.first == "ok \(Paths.sample): 10 connections, 10 flows; exactly one flow: 10; FIN both ways and SF: 8 of 8; RST and RSTO/RSTR: 2 of 2; other flows: 0")
        #expect(lines.contains { $0.hasSuffix("port-reuse.pcap: 4 connections, 4 flows; exactly one flow: 4; FIN both ways and SF: 2 of 2; RST and RSTO/RSTR: 2 of 2; other flows: 0") })
    }

    /// scripts/tunnel-check.py on the real traffic of Tests/Fixtures/tunnels (made by
    /// scripts/make-tunnel-traffic.sh through Linux's own tunnels): every direction's
    /// bytes equal what was really sent, every connection is one flow, and (where
    /// tshark is installed) flowdb's flows equal tshark's TCP conversations.
    @Test func tunnelledRealTrafficKeepsEveryByte() throws {
        let dir = Paths.repository + "/Tests/Fixtures/tunnels"
        let captures = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".pcap") && FileManager.default.fileExists(atPath: dir + "/" + $0 + ".json") }
            .sorted().map { dir + "/" + $0 }
        try #require(captures.count >= 7)
        let (status, lines) = try runScript("tunnel-check.py", ["--flowdb", flowdbBinary] + captures)
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "\(captures.count) passed, 0 failed")
        #expect(lines.contains { $0.hasPrefix("vxlan-frag4.pcap") && $0.contains("vxlan:4242") && $0.contains("6 of 6") })
        #expect(lines.contains { $0.hasPrefix("ipv4-frag.pcap") && $0.contains("6 of 6") })
        // two tenants (VNI 100 and 200) with the same inner addresses and ports, other bytes
        #expect(lines.contains { $0.hasPrefix("vxlan-two-vni.pcap") && $0.contains("16 of 16") })
    }

    /// scripts/wrap-captures.py puts the real IPv4 and IPv6 traffic of two fixtures in
    /// every encapsulation this machine's kernel cannot build (GRE, gretap, ERSPAN II
    /// and III, GRE in UDP, IP in IP both ways, Geneve, MPLS in a VLAN, PPPoE, GTP-U,
    /// Teredo, AYIYA (also from a client's own port), PBB, VN-Tag (also before an 802.1Q
    /// tag), FabricPath, PPPoE with a one-byte PPP protocol, Teredo between mapped ports,
    /// Aruba's GRE with 802.11 frames, A-MSDUs too), the
    /// link types Cisco HDLC and Linux NFLOG, and IPv4 and IPv6 fragments (also inside
    /// VXLAN); scripts/tunnel-check.py then finds every direction's bytes right and as
    /// many flows as tshark finds conversations.
    @Test func wrappedRealTrafficKeepsEveryByte() throws {
        let dir = Paths.temporaryDirectory() + "/wrapped"
        let (made, out) = try runScript("wrap-captures.py", [dir])
        #expect(made == 0 && out.last == "wrote 54 captures into \(dir)")
        let captures = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".pcap") }.sorted()
            .map { dir + "/" + $0 }
        let (status, lines) = try runScript("tunnel-check.py", ["--flowdb", flowdbBinary] + captures)
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "54 passed, 0 failed")
        for name in ["nflog-4", "nflog-6", "chdlc-4", "chdlc-6", "pppoe-pfc-4", "pppoe-pfc-6", "ayiya-ports-4", "ayiya-ports-6",
                     "vntag-vlan-4", "vntag-vlan-6", "gtpu-outer-frag-4", "gtpu-outer-frag-6", "teredo-relay-6",
                     "aruba-4", "aruba-6", "aruba-amsdu-4", "aruba-amsdu-6"] {
            #expect(lines.contains { $0.hasPrefix(name + ".pcap") && $0.contains("6 of 6") }, "\(name)")
        }
        #expect(lines.contains { $0.hasPrefix("erspan3-6.pcap") && $0.contains("erspan:300") && $0.contains("6 of 6") })
        #expect(lines.contains { $0.hasPrefix("vxlan-ipv6-frag.pcap") && $0.contains("6 of 6") })
        #expect(lines.contains { $0.hasPrefix("vxlan-ipv4-frag.pcap") && $0.contains("6 of 6") })
    }

    /// scripts/interrupt-test.py: 20 kills at random moments.
    @Test func killedIngestsLeaveAConsistentArchive() throws {
        // 40 shifted copies of the sample (31 MB); trials go on until 20 kills have
        // landed while the capture was incomplete (most do: 16 of 20 in a debug build)
        let (status, lines) = try runScript("interrupt-test.py", ["--flowdb", flowdbBinary, "--trials", "20", "--mid-ingest", "20", "--copies", "40"])
        #expect(status == 0, "\(lines.suffix(25).joined(separator: "\n"))")
        let summary = lines.last?.split(separator: " ") ?? []
        #expect(summary.count == 4 && summary[1] == "passed," && summary[2] == "0" && Int(summary[0]) ?? 0 >= 20, "\(lines.last ?? "")")
        let midIngest = lines.first { $0.hasSuffix("trials killed with the capture marked incomplete") }
            .flatMap { Int($0.split(separator: " ")[0]) } ?? 0
        #expect(midIngest >= 20, "only \(midIngest) kills landed while the capture was incomplete")
    }
}
