import Foundation
import Testing
import TestSupport
@testable import Query
import Store
@testable import Ingest

/// UDP and ICMP flows (issue 26), on real traffic between two network namespaces
/// (scripts/make-datagram-traffic.sh: dnsmasq answering dig, UDP exchanges with
/// known bytes, some IP-fragmented, ping and ping -6, a datagram to a closed port).
@Suite struct DatagramFlowTests {
    static let capture = Paths.fixture("datagrams/dns-udp-icmp.pcap")

    static func rows(_ db: String, _ sql: String) throws -> [[String]] {
        let archive = try Archive(path: db, create: false)
        let s = try archive.connection.prepare(sql)
        var out: [[String]] = []
        while try s.step() { out.append((0..<s.columnCount).map { s.text($0) ?? "NULL" }) }
        return out
    }

    /// scripts/datagram-check.py: every UDP direction's datagrams and bytes as sent,
    /// each ping one flow with its counts, the closed port's datagram and its ICMP error.
    @Test func everyDatagramAsSent() throws {
        let (status, lines) = try runScript("datagram-check.py", ["--flowdb", flowdbBinary, Self.capture])
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "12 passed, 0 failed")
    }

    @Test func flowsByTransportAndZeekState() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let report = try IngestTests.ingest([Self.capture], into: db)
        #expect(report.counters.udpPackets == 47 && report.counters.icmpPackets == 17)
        #expect(try Self.rows(db, "SELECT proto, conn_state, count(*) FROM flow GROUP BY 1, 2 ORDER BY 1, 2") == [
            ["icmp", "OTH", "6"], ["tcp", "SF", "2"], ["udp", "S0", "1"], ["udp", "SF", "11"],
        ])
        // the DNS queries over UDP: one flow each, client to port 53, history Dd
        #expect(try Self.rows(db, "SELECT count(*), min(history), max(history) FROM flow WHERE proto = 'udp' AND server_port = 53")
                == [["7", "Dd", "Dd"]])
        #expect(try Self.rows(db, "SELECT udp_packets, icmp_packets, skipped_non_tcp FROM capture") == [["47", "17", "0"]])
        // the value sets the schema documents (no CHECK constraint holds them since 0013)
        #expect(try Self.rows(db, """
            SELECT count(*) FROM flow WHERE proto NOT IN ('tcp', 'udp', 'icmp')
                OR conn_state NOT IN ('S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH')
                OR coalesce(app, 'http') NOT IN ('http', 'tls', 'ssh', 'dns', 'quic')
            """) == [["0"]])
    }

    /// Identity in time: a flow idle longer than the timeout is over. The pings go
    /// out 0.2 s apart: with a 0.1 s timeout each request and its reply are a flow.
    @Test func timeoutSplitsFlows() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Self.capture], into: db) { $0.recording.datagramTimeout = 100_000_000 }
        #expect(try Self.rows(db, "SELECT count(*), sum(c2s_packets), sum(s2c_packets) FROM flow WHERE proto = 'icmp' AND client_port = 8")
                == [["3", "3", "3"]])
    }

    /// A full tracker lets the flows idle longest go (written, counted), and loses
    /// no packet or byte: the same totals as without the limit.
    @Test func boundedTrackerEvictsAndKeepsEveryByte() throws {
        let unbounded = Paths.temporaryDirectory() + "/a.sqlite", bounded = Paths.temporaryDirectory() + "/b.sqlite"
        _ = try IngestTests.ingest([Self.capture], into: unbounded)
        let report = try IngestTests.ingest([Self.capture], into: bounded) { $0.recording.maxDatagramFlows = 2 }
        #expect(report.counters.datagramFlowsEvicted > 0)
        let totals = "SELECT sum(c2s_bytes + s2c_bytes), sum(c2s_packets + s2c_packets) FROM flow WHERE proto <> 'tcp'"
        #expect(try Self.rows(bounded, totals) == Self.rows(unbounded, totals))
        #expect(try Self.rows(bounded, "SELECT datagram_flows_evicted FROM capture") == [[String(report.counters.datagramFlowsEvicted)]])
    }

    @Test func queryByTransport() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Self.capture], into: db)
        let query = FlowQuery(archive: try Archive(path: db, create: false))
        var filter = FlowFilter()
        filter.proto = "icmp"
        let icmp = try query.flows(filter).flows
        #expect(icmp.count == 6 && icmp.allSatisfy { $0.proto == "icmp" && $0.state == "seen" })
        filter.proto = "udp"
        filter.serverPort = 7777
        let udp = try query.flows(filter).flows
        #expect(udp.map(\.state) == ["answered", "answered"])
        #expect(ZeekConnLog.line(udp[0]).split(separator: "\t")[6] == "udp")
        #expect(Formats.jsonLine(udp[0]).contains(",\"proto\":\"udp\",\"community_id\":\"1:"))
    }
}

/// DNS (issue 26): dig's queries to dnsmasq over UDP and TCP, IPv4 and IPv6, as
/// rows of `dns` with Zeek's fields; and every field tshark also reads agreeing with
/// it, on the fixture and tcpdump's DNS captures.
@Suite struct DNSRowTests {
    @Test func digAgainstDnsmasq() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([DatagramFlowTests.capture], into: db)
        #expect(try DatagramFlowTests.rows(db, """
            SELECT f.proto, d.query, d.qtype_name, d.rcode_name, d.aa, d.rd, d.ra, d.answers, d.ttls, d.rejected, d.rtt > 0
            FROM dns d JOIN flow f ON f.id = d.flow_id ORDER BY d.ts
            """) == [
            ["udp", "www.flowdb.test", "A", "NOERROR", "1", "1", "1", "10.77.0.80", "0", "0", "1"],
            ["udp", "www.flowdb.test", "AAAA", "NOERROR", "1", "1", "1", "fd77::80", "0", "0", "1"],
            ["udp", "deep.flowdb.test", "A", "NOERROR", "1", "1", "1", "alias.flowdb.test,www.flowdb.test,10.77.0.80", "0,0,0", "0", "1"],
            ["udp", "flowdb.test", "MX", "NOERROR", "1", "1", "1", "mail.flowdb.test", "0", "0", "1"],
            ["udp", "flowdb.test", "TXT", "NOERROR", "1", "1", "1", "TXT 11 v=spf1 -all TXT 18 flowdb test record", "0", "0", "1"],
            ["udp", "nothere.flowdb.test", "A", "NXDOMAIN", "0", "1", "1", "NULL", "NULL", "0", "1"],
            ["tcp", "www.flowdb.test", "A", "NOERROR", "1", "1", "1", "10.77.0.80", "0", "0", "1"],
            ["udp", "www.flowdb.test", "AAAA", "NOERROR", "1", "1", "1", "fd77::80", "0", "0", "1"],
            ["tcp", "alias.flowdb.test", "AAAA", "NOERROR", "1", "1", "1", "www.flowdb.test,fd77::80", "0,0", "0", "1"],
        ])
        #expect(try DatagramFlowTests.rows(db, "SELECT app, count(*) FROM flow WHERE app IS NOT NULL GROUP BY app") == [["dns", "9"], ["quic", "2"]])
        #expect(try DatagramFlowTests.rows(db, "SELECT count(*) FROM dns_log WHERE aa = 'yes'") == [["8"]])
    }

    static let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: tshark, "tshark is not installed"))
    func everyFieldAgreesWithTshark() throws {
        let shared = ["dns-badcookie.pcap", "dns-badlabel.pcap", "dns-badvers.pcap", "dns-uri.pcap", "dns_fwdptr.pcap", "dns_tcp.pcap",
                      "dns_udp.pcap", "dns_udp_2.pcap", "dnssec.pcap", "edns-opts.pcap"].map { Paths.capture("tcpdump-tests/" + $0) }
        let (status, lines) = try runScript("dns-check.py", ["--flowdb", flowdbBinary, DatagramFlowTests.capture] + shared)
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "506 of 506 fields agree")
    }
}

/// `flowdb query --dns` and `--dns-query` on the dig traffic.
@Suite struct DNSQueryTests {
    @Test func listingAndFilter() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([DatagramFlowTests.capture], into: db)
        let archive = try Archive(path: db, create: false)
        let query = FlowQuery(archive: archive)
        var filter = FlowFilter()
        filter.dnsNames = ["*.FLOWDB.test"]
        #expect(try query.flows(filter).flows.count == 9)
        filter.dnsNames = ["flowdb.test"]
        let apex = try query.flows(filter).flows
        #expect(apex.count == 2 && apex.allSatisfy { $0.app == "dns" && $0.appHost == "flowdb.test" })
        filter.dnsNames = ["*.%", "*._lowdb.test"]     // LIKE's wildcards are the name's own characters
        #expect(try query.flows(filter).flows.isEmpty)
        let rows = try ApplicationLog.dns.rows(archive: archive, flowIDs: apex.map(\.id))
        #expect(rows.map { ApplicationLog.text($0[ApplicationLog.dns.columns.firstIndex { $0.name == "qtype_name" }!]) } == ["MX", "TXT"])
        let zeek = ApplicationLog.dns.zeekLine(rows[0]).split(separator: "\t")
        #expect(zeek.count == ApplicationLog.dns.columns.count && zeek[7] == "0.000068" && zeek.last == "F\n")
    }
}

/// A tunnel's own UDP flow (issue 26): Linux's VXLAN between two namespaces
/// (Tests/Fixtures/tunnels): each outer 5-tuple one `udp` flow named `vxlan`, as
/// many as tshark's UDP conversations, every outer datagram one of its packets.
@Suite struct TunnelFlowTests {
    @Test(arguments: [("vxlan.pcap", 10, 124), ("vxlan-two-vni.pcap", 13, 288), ("vxlan-frag4.pcap", 10, 129)])
    func outerFlowsOfVXLAN(file: String, conversations: Int, datagrams: Int) throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Paths.fixture("tunnels/" + file)], into: db)
        #expect(try DatagramFlowTests.rows(db, """
            SELECT count(*), sum(c2s_packets + s2c_packets), min(server_port), max(server_port), sum(c2s_bytes + s2c_bytes)
            FROM flow WHERE proto = 'udp' AND app = 'vxlan'
            """) == [[String(conversations), String(datagrams), "4789", "4789", "0"]])
        // the inner connections are flows of their own, as before
        #expect(try DatagramFlowTests.rows(db, "SELECT count(*) > 0 FROM flow WHERE proto = 'tcp' AND encapsulation LIKE 'vxlan:%'") == [["1"]])
    }

    /// tcpdump's Geneve captures: as many `geneve` flows and packets as tshark's UDP
    /// conversations and datagrams on port 6081 (4 and 39, 1 and 1).
    @Test(arguments: [("geneve.pcap", 4, 39), ("geneve-gcp.pcap", 1, 1)])
    func outerFlowsOfGeneve(file: String, conversations: Int, datagrams: Int) throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try IngestTests.ingest([Paths.capture("tcpdump-tests/" + file)], into: db)
        #expect(try DatagramFlowTests.rows(db, "SELECT count(*), sum(c2s_packets + s2c_packets) FROM flow WHERE proto = 'udp' AND app = 'geneve'")
                == [[String(conversations), String(datagrams)]])
    }
}
