import Foundation
import Testing
import TestSupport
import Query
import Store
@testable import Ingest

/// Connections inside tunnels, through the whole ingest: the flow is the innermost
/// TCP connection, tenants under different VNIs never merge, and each flow records
/// the chain around it.
@Suite struct TunnelTests {
    struct P {
        var vni: UInt32
        var fromClient: Bool
        var seq: UInt32
        var ack: UInt32 = 0
        var flags: UInt8
        var payload = ""
    }

    static let syn: UInt8 = 0x02, ack: UInt8 = 0x10, fin: UInt8 = 0x01

    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func ipv4(_ src: [UInt8], _ dst: [UInt8], proto: UInt8, _ body: [UInt8]) -> [UInt8] {
        [0x45, 0] + be16(20 + body.count) + [0, 0, 0x40, 0, 64, proto, 0, 0] + src + dst + body
    }

    /// VXLAN between VTEPs 192.0.2.1 and 192.0.2.2 (outer direction follows the inner
    /// one), carrying Ethernet, IPv4 10.77.0.2:40001 <-> 10.77.0.1:80 and TCP.
    static func pcap(_ packets: [P]) -> [UInt8] {
        var out: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0] + [UInt8](repeating: 0, count: 8) + [0xff, 0xff, 0, 0, 1, 0, 0, 0]
        for (i, p) in packets.enumerated() {
            let client: [UInt8] = [10, 77, 0, 2], server: [UInt8] = [10, 77, 0, 1]
            let payload = Array(p.payload.utf8)
            let tcp = be16(p.fromClient ? 40_001 : 80) + be16(p.fromClient ? 80 : 40_001) + be32(p.seq) + be32(p.ack)
                + [0x50, p.flags, 0xff, 0xff, 0, 0, 0, 0] + payload
            let inner = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]
                + ipv4(p.fromClient ? client : server, p.fromClient ? server : client, proto: 6, tcp)
            let vxlan: [UInt8] = [0x08, 0, 0, 0] + be32(p.vni << 8) + inner
            let udp = be16(50_000 + Int(p.vni)) + be16(4789) + be16(8 + vxlan.count) + [0, 0] + vxlan
            let vtepA: [UInt8] = [192, 0, 2, 1], vtepB: [UInt8] = [192, 0, 2, 2]
            let frame = [2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 8, 0x08, 0x00]
                + ipv4(p.fromClient ? vtepA : vtepB, p.fromClient ? vtepB : vtepA, proto: 17, udp)
            let le: (UInt32) -> [UInt8] = { v in [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
            out += le(1_795_000_000) + le(UInt32(i) * 1000) + le(UInt32(frame.count)) + le(UInt32(frame.count)) + frame
        }
        return out
    }

    static func connection(vni: UInt32, request: String, response: String) -> [P] {
        let q = UInt32(request.utf8.count), r = UInt32(response.utf8.count)
        return [P(vni: vni, fromClient: true, seq: 1000, flags: syn),
                P(vni: vni, fromClient: false, seq: 5000, ack: 1001, flags: syn | ack),
                P(vni: vni, fromClient: true, seq: 1001, ack: 5001, flags: ack, payload: request),
                P(vni: vni, fromClient: false, seq: 5001, ack: 1001 + q, flags: ack, payload: response),
                P(vni: vni, fromClient: true, seq: 1001 + q, ack: 5001 + r, flags: fin | ack),
                P(vni: vni, fromClient: false, seq: 5001 + r, ack: 1002 + q, flags: fin | ack),
                P(vni: vni, fromClient: true, seq: 1002 + q, ack: 5002 + r, flags: ack)]
    }

    /// The same connection tagged VLAN 10 one way and VLAN 20 the other (as SPAN
    /// ports do) is one flow by default; `vlanAware` makes VLAN ids part of a
    /// connection's identity, and then the two directions are two flows.
    @Test func vlanTagsAreRecordedNotIdentityUnlessVLANAware() throws {
        func frame(_ p: P, vlan: Int) -> [UInt8] {
            let client: [UInt8] = [10, 77, 0, 2], server: [UInt8] = [10, 77, 0, 1]
            let payload = Array(p.payload.utf8)
            let tcp = Self.be16(p.fromClient ? 40_001 : 80) + Self.be16(p.fromClient ? 80 : 40_001) + Self.be32(p.seq) + Self.be32(p.ack)
                + [0x50, p.flags, 0xff, 0xff, 0, 0, 0, 0] + payload
            return [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00] + Self.be16(vlan) + [0x08, 0x00]
                + Self.ipv4(p.fromClient ? client : server, p.fromClient ? server : client, proto: 6, tcp)
        }
        var out: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0] + [UInt8](repeating: 0, count: 8) + [0xff, 0xff, 0, 0, 1, 0, 0, 0]
        for (i, p) in Self.connection(vni: 0, request: "GET /", response: "OK").enumerated() {
            let f = frame(p, vlan: p.fromClient ? 10 : 20)
            let le: (UInt32) -> [UInt8] = { v in [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
            out += le(1_795_000_000) + le(UInt32(i) * 1000) + le(UInt32(f.count)) + le(UInt32(f.count)) + f
        }
        let dir = Paths.temporaryDirectory()
        try Data(out).write(to: URL(fileURLWithPath: dir + "/span.pcap"))
        for (aware, flows) in [(false, 1), (true, 2)] {
            var options = IngestOptions()
            options.recording.vlanAware = aware
            let db = dir + "/\(aware).sqlite"
            let report = try Ingestor(archive: try Archive(path: db, create: true), options: options).run(paths: [dir + "/span.pcap"])
            #expect(report.flows == flows, "vlanAware \(aware)")
            let c = try SQLiteConnection(path: db, mode: .readOnly)
            let s = try c.prepare("SELECT encapsulation FROM flow WHERE id = 1")
            #expect(try s.step() && s.text(0) == "vlan:10")
        }
    }

    /// Two tenants, VNI 100 and VNI 200, use the same inner addresses and ports at
    /// the same time with different content: two flows, each with its own bytes.
    @Test func twoVNIsWithTheSameAddressesStayTwoFlows() throws {
        let a = Self.connection(vni: 100, request: "GET /tenant-a", response: "A-ONLY")
        let b = Self.connection(vni: 200, request: "GET /tenant-b", response: "B-ONLY-LONGER")
        var interleaved: [P] = []
        for i in 0..<a.count { interleaved += [a[i], b[i]] }
        let dir = Paths.temporaryDirectory()
        try Data(Self.pcap(interleaved)).write(to: URL(fileURLWithPath: dir + "/vxlan.pcap"))
        let db = dir + "/a.sqlite"
        let report = try Ingestor(archive: try Archive(path: db, create: true), options: IngestOptions()).run(paths: [dir + "/vxlan.pcap"])
        // two connections, and the tunnel's own UDP flows (one per outer 5-tuple, each way here)
        #expect(report.flows == 6 && report.counters.tcpPackets == 14 && report.udpStates.map(\.flows) == [4])
        #expect(IngestSummary(report: report, seconds: 1, archive: db).text.contains("\nencapsulations: vxlan 14 (packets)\n"))
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let kinds = try c.prepare("SELECT encapsulations FROM capture")
        #expect(try kinds.step() && kinds.text(0) == #"{"vxlan":14}"#)
        let s = try c.prepare("""
            SELECT f.client_ip || ':' || f.client_port || ' ' || f.server_ip || ':' || f.server_port, f.conn_state, f.encapsulation,
                   (SELECT group_concat(CAST(data AS TEXT), '|') FROM (SELECT data FROM chunk WHERE flow_id = f.id AND length > 0 ORDER BY id))
            FROM flow AS f WHERE f.proto = 'tcp' ORDER BY f.id
            """)
        var rows: [String] = []
        while try s.step() { rows.append((0..<4).map { s.text($0) ?? "-" }.joined(separator: " ; ")) }
        #expect(rows == [
            "10.77.0.2:40001 10.77.0.1:80 ; SF ; vxlan:100 192.0.2.1>192.0.2.2 ; GET /tenant-a|A-ONLY",
            "10.77.0.2:40001 10.77.0.1:80 ; SF ; vxlan:200 192.0.2.1>192.0.2.2 ; GET /tenant-b|B-ONLY-LONGER",
        ])
        // --tunnel selects by the chain
        let store = try Archive(path: db, create: false)
        var f = FlowFilter(); f.tunnel = "vxlan:200"
        #expect(try FlowQuery(archive: store).flows(f).flows.map(\.id) == [4])
        f.tunnel = "192.0.2.1>"
        #expect(try FlowQuery(archive: store).flows(f).flows.map(\.id) == [2, 4])
        // flowdb inspect: the encapsulations seen, and two conversations, one per tenant
        var survey = CaptureSurvey()
        try survey.add(path: dir + "/vxlan.pcap")
        #expect(survey.encapsulations.map { "\($0.kind.name) \($0.packets)" } == ["vxlan 14"])
        #expect(survey.conversations.count == 2)
        #expect(SurveyReport(survey: survey, limit: 0).text.contains("encapsulations:    vxlan 14 (packets)\nTCP connections:   2 by 4-tuple and tunnel\n"))
    }
}

/// IP fragments through the whole ingest: a connection whose data segment was cut
/// into IPv4 fragments (sent in reverse order) keeps every byte; with
/// defragmentation off, the segment is lost as before.
@Suite struct FragmentIngestTests {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    static func pcap() -> (bytes: [UInt8], data: [UInt8]) {
        let client: [UInt8] = [10, 1, 0, 1], server: [UInt8] = [10, 1, 0, 2]
        let data: [UInt8] = (0..<2500).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
        func tcp(_ fromClient: Bool, seq: UInt32, ack: UInt32, flags: UInt8, _ payload: [UInt8] = []) -> [UInt8] {
            be16(fromClient ? 40_001 : 80) + be16(fromClient ? 80 : 40_001) + be32(seq) + be32(ack)
                + [0x50, flags, 0xff, 0xff, 0, 0, 0, 0] + payload
        }
        func ip(_ fromClient: Bool, id: Int, fragment: Int, _ body: [UInt8]) -> [UInt8] {
            [0x45, 0] + be16(20 + body.count) + be16(id) + be16(fragment) + [64, 6, 0, 0]
                + (fromClient ? client : server) + (fromClient ? server : client) + body
        }
        var packets: [[UInt8]] = [
            ip(true, id: 1, fragment: 0, tcp(true, seq: 100, ack: 0, flags: 0x02)),
            ip(false, id: 2, fragment: 0, tcp(false, seq: 900, ack: 101, flags: 0x12)),
            ip(true, id: 3, fragment: 0, tcp(true, seq: 101, ack: 901, flags: 0x10)),
        ]
        let segment = tcp(true, seq: 101, ack: 901, flags: 0x18, data)
        let cuts = [0..<1200, 1200..<2400, 2400..<segment.count]
        for cut in cuts.reversed() {
            let more = cut.upperBound < segment.count ? 0x2000 : 0
            packets.append(ip(true, id: 4, fragment: more | cut.lowerBound / 8, Array(segment[cut])))
        }
        packets += [ip(false, id: 5, fragment: 0, tcp(false, seq: 901, ack: 2601, flags: 0x11)),
                    ip(true, id: 6, fragment: 0, tcp(true, seq: 2601, ack: 902, flags: 0x11)),
                    ip(false, id: 7, fragment: 0, tcp(false, seq: 902, ack: 2602, flags: 0x10))]
        var out: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0] + [UInt8](repeating: 0, count: 8) + [0xff, 0xff, 0, 0, 101, 0, 0, 0]
        let le: (UInt32) -> [UInt8] = { v in [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        for (i, p) in packets.enumerated() {
            out += le(1_795_000_000) + le(UInt32(i) * 1000) + le(UInt32(p.count)) + le(UInt32(p.count)) + p
        }
        return (out, data)
    }

    @Test func fragmentedSegmentKeepsEveryByte() throws {
        let (bytes, data) = Self.pcap()
        let dir = Paths.temporaryDirectory()
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/frag.pcap"))
        for (memory, stored) in [(64 << 20, data.count), (0, 0)] {
            var options = IngestOptions()
            options.recording.maxFragmentMemory = memory
            let db = dir + "/\(memory).sqlite"
            let report = try Ingestor(archive: try Archive(path: db, create: true), options: options).run(paths: [dir + "/frag.pcap"])
            #expect(report.counters.fragments == 3)
            #expect(report.counters.datagramsReassembled == (memory > 0 ? 1 : 0))
            let c = try SQLiteConnection(path: db, mode: .readOnly)
            #expect(try c.scalar("SELECT c2s_bytes FROM flow") == Int64(stored))
            #expect(try c.scalar("SELECT datagrams_reassembled FROM capture") == (memory > 0 ? 1 : 0))
            if memory > 0 {
                let s = try c.prepare("SELECT data FROM chunk WHERE dir = 0 AND length > 0")
                #expect(try s.step() && Array(s.blob(0)) == data)
                #expect(IngestSummary(report: report, seconds: 1, archive: db).text.contains(
                    "fragments:      3 packets: 1 datagrams reassembled, 0 fragments expired, 0 overlaps with other bytes, 0 datagrams over 65,535 bytes\n"))
            }
        }
    }
}
