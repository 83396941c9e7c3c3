import Foundation
import Testing
import TestSupport
import Query
import Store
@testable import Ingest

/// Never invent a byte, never drop one (issue 25, items 1-3): real captures with
/// one header broken (scripts/make-malformed-fixtures.py), against what tshark
/// reads in them (`NAME.pcap.tshark.json`, its `follow,tcp,raw` bytes per endpoint).
@Suite struct MalformedHeaderTests {
    static let directory = Paths.repository + "/Tests/Fixtures/malformed/"

    struct Truth: Decodable {
        var follow_raw_stream_0: [String: String]?
        var tcp_conversations: Int?
        var bogus_ip_version_packets: Int?
        var http_messages: [[String]]?
    }

    static func truth(_ name: String) throws -> Truth {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + name + ".tshark.json"))
        return try JSONDecoder().decode(Truth.self, from: data)
    }

    /// Ingests `name` and returns the archive with the bytes each endpoint of its
    /// flows sent, as hex, keyed as tshark names endpoints ("10.77.0.2:45740").
    static func ingest(_ name: String) throws -> (archive: Archive, sent: [String: String], report: IngestReport) {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let report = try IngestTests.ingest([directory + name], into: db)
        let archive = try Archive(path: db, create: false)
        let reader = try FlowReader(archive: archive)
        let flows = try archive.connection.prepare("SELECT id, client_ip || ':' || client_port, server_ip || ':' || server_port FROM flow")
        var sent: [String: String] = [:]
        while try flows.step() {
            for (dir, endpoint) in [(0, flows.text(1) ?? ""), (1, flows.text(2) ?? "")] {
                var bytes: [UInt8] = []
                try reader.writeStream(flowID: flows.int64(0), dir: dir, fillGaps: false, hashing: false) { bytes += $0 }
                sent[endpoint, default: ""] += bytes.map { String(format: "%02x", $0) }.joined()
            }
        }
        return (archive, sent, report)
    }

    /// Item 1: a SYN whose data offset says 40 with 32 bytes present. Its 12 bytes
    /// of 0xaa were stored as the client's first bytes, in place of the first 12
    /// bytes of its real request; they are (cut) options, never payload.
    @Test func headerCutInsideOptionsCarriesNoPayload() throws {
        let (archive, sent, report) = try Self.ingest("header-cut-syn.pcap")
        let truth = try #require(try Self.truth("header-cut-syn.pcap").follow_raw_stream_0)
        #expect(truth.count == 2)
        #expect(sent == truth)
        #expect(sent["10.77.0.2:45740"]?.count == 2 * 216)
        #expect(sent["10.77.0.2:45740"]?.hasPrefix("000000c80000ea60") == true)
        #expect(report.counters.tcpHeadersCut == 1)
        #expect(try archive.connection.scalar("SELECT tcp_headers_cut FROM capture") == 1)
        #expect(try archive.connection.scalar("SELECT count(*) FROM flow") == 1)
    }

    /// Item 2: two data segments with a malformed option (kind 0x74 announcing 104
    /// bytes with 10 left; a length of 1). The data offset is valid: their payload
    /// is kept (gopacket drops the segments) and the options counted.
    @Test func malformedOptionKeepsThePayload() throws {
        let (archive, sent, report) = try Self.ingest("bad-tcp-options.pcap")
        let truth = try #require(try Self.truth("bad-tcp-options.pcap").follow_raw_stream_0)
        #expect(truth.values.map(\.count).sorted() == [2 * 216, 2 * 60_000])
        #expect(sent == truth)
        #expect(report.counters.tcpBadOptions == 2)
        #expect(report.counters.malformed == 0)
        #expect(try archive.connection.scalar("SELECT tcp_bad_options FROM capture") == 2)
        #expect(try archive.connection.scalar("SELECT gaps FROM flow") == 0)
    }

    /// Item 3: inside an SRv6 tunnel, one connection's inner IPv4 headers start with
    /// version 5. tshark calls them bogus; no connection may come of them.
    @Test func wrongIPVersionIsMalformed() throws {
        let (archive, _, report) = try Self.ingest("ip-version.pcap")
        let truth = try Self.truth("ip-version.pcap")
        #expect(truth.tcp_conversations == 2)
        #expect(truth.bogus_ip_version_packets == 54)
        #expect(try archive.connection.scalar("SELECT count(*) FROM flow WHERE proto = 'tcp'") == Int64(truth.tcp_conversations ?? -1))
        #expect(report.counters.malformed == truth.bogus_ip_version_packets ?? -1)
        #expect(try archive.connection.scalar("SELECT count(*) FROM flow WHERE client_port = 57390 OR server_port = 57390") == 0)
    }

    /// Item 7: a capture that missed a segment of the first response's body, on a
    /// keep-alive connection of three transactions. Parsing used to stop at the gap
    /// (the two later responses were lost); tshark finds those two; flowdb keeps the
    /// framing across the gap, whose length is known, and finds all three.
    @Test func httpAfterAGap() throws {
        let (archive, _, _) = try Self.ingest("http-gap.pcap")
        let truth = try #require(try Self.truth("http-gap.pcap").http_messages)
        let responses = truth.filter { $0[2] != "" }.map { [$0[2], $0[3]] }
        #expect(responses == [["200", "20000"], ["200", "6281"]])
        let s = try archive.connection.prepare("""
            SELECT uri, status_code, response_body_len, incomplete FROM http ORDER BY trans_depth
            """)
        var rows: [[String]] = []
        while try s.step() { rows.append((0..<4).map { s.text(Int32($0)) ?? "NULL" }) }
        #expect(rows.map { $0[0] } == truth.filter { $0[0] == "GET" }.map { $0[1] })
        #expect(rows.map { $0[1] } == ["200", "200", "200"])
        #expect(rows.map { $0[3] } == ["1", "0", "0"])
        #expect(rows.dropFirst().map { [$0[1], $0[2]] } == responses)
        #expect(try archive.connection.scalar("SELECT gaps FROM flow") == 1)
    }

    /// A CONNECT without a Host field (FoxIO's https-connect.pcap, a real proxy
    /// client): its row keeps the wire's fields (the target as its URI, no host: tshark
    /// shows no http.host), and its flow's host is the one the target names.
    @Test func connectWithoutHostNamesItsTarget() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Paths.capture("ja4/https-connect.pcap")], into: db)
        let archive = try Archive(path: db, create: false)
        let s = try archive.connection.prepare("SELECT h.method, h.uri, h.host, f.app_host FROM http AS h JOIN flow AS f ON f.id = h.flow_id")
        #expect(try s.step())
        #expect((0..<4).map { s.text(Int32($0)) } == ["CONNECT", "ts01-b.cloudsink.net:443", nil, "ts01-b.cloudsink.net:443"])
        #expect(try !s.step())
    }
}

/// Connections as Zeek ends them (issue 25, item 9): a connection idle for longer
/// than `tcp_inactivity_timeout` (5 minutes) is over, and its next packet opens
/// another (flowdb joined them into one flow).
@Suite struct InactivityTimeoutTests {
    static func flows(_ configure: (inout IngestOptions) -> Void = { _ in }) throws -> [[String]] {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Paths.fixture("zeek/idle-6min.pcap")], into: db, configure)
        let archive = try Archive(path: db, create: false)
        let s = try archive.connection.prepare("""
            SELECT conn_state, history, c2s_bytes, s2c_bytes, c2s_packets + s2c_packets, client_port FROM flow ORDER BY id
            """)
        var rows: [[String]] = []
        while try s.step() { rows.append((0..<6).map { s.text(Int32($0)) ?? "NULL" }) }
        return rows
    }

    /// The real connection of 72 packets (216 bytes out, 60,000 back) paused for 6
    /// minutes after its 20th packet, another connection in the pause: two
    /// connections of the first, the bytes split where the pause is, none lost; the
    /// second begins midstream (no SYN in its history).
    @Test func idleConnectionEndsAfterFiveMinutes() throws {
        let rows = try Self.flows()
        #expect(rows == [["S1", "ShADad", "216", "11584", "20", "45740"], ["SF", "ShADadtFf", "16", "60000", "75", "45748"],
                         ["SF", "AdFf", "0", "48416", "52", "45740"]])
    }

    @Test(arguments: [(Int64(0), 2), (Int64(600_000_000_000), 2), (Int64(300_000_000_000), 3), (Int64(60_000_000_000), 3)])
    func timeoutIsAnOption(timeout: Int64, flows: Int) throws {
        let rows = try Self.flows { $0.recording.inactivityTimeout = timeout }
        #expect(rows.count == flows)
        #expect(rows.filter { $0[5] == "45740" }.map { Int($0[2])! + Int($0[3])! }.reduce(0, +) == 60_216)
    }

    /// A flush during the pause (the other connection's packets, every packet here)
    /// closes the idle connection after 2 minutes, as ingest's flushes do: that used
    /// to cut it there, while without a flush it was never cut. Now the cut is
    /// Zeek's, flush or not: within the timeout the connection goes on in its flow.
    @Test(arguments: [(Int64(600_000_000_000), 2), (Int64(300_000_000_000), 3)])
    func flushesDoNotMoveTheCut(timeout: Int64, flows: Int) throws {
        let rows = try Self.flows {
            $0.recording.flushPolicy = FlushPolicy(every: 1, after: 120_000_000_000, closeAfter: 120_000_000_000)
            $0.recording.inactivityTimeout = timeout
        }
        #expect(rows.count == flows)
        #expect(rows.first?[0] == (flows == 2 ? "SF" : "S1"))
    }
}

/// Zeek's later role flip (issue 25, item 9): a real connection whose SYN-ACK came
/// before its SYN (scripts/make-malformed-fixtures.py). Port 9000 is no likely
/// service, so the SYN-ACK's sender starts as the originator; at the SYN the roles
/// swap, and the flow's client is the SYN's sender, every count on its side.
@Suite struct RoleFlipTests {
    @Test func synAfterItsSynAckMakesItsSenderTheClient() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Paths.fixture("zeek/synack-first.pcap")], into: db)
        let archive = try Archive(path: db, create: false)
        let s = try archive.connection.prepare("""
            SELECT client_ip, client_port, server_port, conn_state, history, c2s_bytes, s2c_bytes, c2s_packets, s2c_packets FROM flow
            """)
        #expect(try s.step())
        #expect((0..<9).map { s.text(Int32($0)) } == ["10.77.0.2", "45740", "9000", "SF", "Hs^ADadFf", "216", "60000", "27", "45"])
        #expect(try !s.step())
        // each direction's bytes on its side: 216 from the client, 60,000 back
        let chunks = try archive.connection.prepare("SELECT dir, sum(length(data)) FROM chunk GROUP BY dir ORDER BY dir")
        #expect(try chunks.step())
        #expect(chunks.text(0) == "0" && chunks.text(1) == "216")
        #expect(try chunks.step())
        #expect(chunks.text(0) == "1" && chunks.text(1) == "60000")
    }
}
