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
        #expect(try archive.connection.scalar("SELECT count(*) FROM flow") == Int64(truth.tcp_conversations ?? -1))
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
