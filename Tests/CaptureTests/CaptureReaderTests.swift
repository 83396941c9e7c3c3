import Foundation
import Testing
import TestSupport
@testable import Capture
import Decoding

/// What reading a whole capture through Capture and Decoding gives.
struct Reading {
    var dlt: Int32 = -1
    var counters = DecodeCounters()
    var firstTimestamp: Int64?
    var lastTimestamp: Int64?
    var connections = Set<String>()
    var payloadBytes = 0

    init(_ path: String, filter: String? = nil) throws {
        let reader = try CaptureReader(path: path, filter: filter)
        dlt = reader.dlt
        let decoder = PacketDecoder(linkType: LinkType(dlt: reader.dlt))
        var packet = DecodedPacket()
        while let raw = try reader.next() {
            if firstTimestamp == nil { firstTimestamp = raw.timestamp }
            lastTimestamp = raw.timestamp
            let result = decoder.decode(raw.bytes, into: &packet)
            counters.record(result, capturedBytes: raw.bytes.count, payloadTruncated: packet.payloadTruncated)
            if result == .tcp {
                let a = "\(packet.source):\(packet.sourcePort)", b = "\(packet.destination):\(packet.destinationPort)"
                connections.insert(a < b ? "\(a)-\(b)" : "\(b)-\(a)")
                payloadBytes += packet.payload.count
            }
        }
    }
}

@Suite struct CaptureReaderTests {
    /// `tcpdump -r Samples/sample-loss.pcap | wc -l` prints 830; its first and last
    /// packets are at 1795611135.270787000 and 1795611135.741806000 (`tcpdump -tt --nano`).
    @Test func bundledSample() throws {
        let r = try Reading(Paths.sample)
        #expect(r.dlt == 1)
        #expect(r.counters.packets == 830)
        #expect(r.counters.tcpPackets == 830)
        #expect(r.counters.bytes == 770_252)
        #expect(r.firstTimestamp == 1_795_611_135_270_787_000)
        #expect(r.lastTimestamp == 1_795_611_135_741_806_000)
        #expect(r.connections.count == 10)
    }

    /// The sample's payload bytes are at least what its ground truth says was sent
    /// (retransmissions add more).
    @Test func samplePayloadCoversGroundTruth() throws {
        let truth = try GroundTruth.load(Paths.sample)
        let sent = truth.flows.reduce(0) { $0 + $1.c2s_len + $1.s2c_len }
        let r = try Reading(Paths.sample)
        #expect(sent == 701_324)
        #expect(r.payloadBytes >= sent)
    }

    /// One real capture per link type, each with its exact counts.
    @Test(arguments: [
        // fixture, DLT, packets, TCP packets, connections
        ("sll2-any.pcap", Int32(276), 64, 64, 3),       // tcpdump -i any: Linux cooked v2
        ("loop-be.pcap", Int32(108), 64, 64, 3),
        ("null-be.pcap", Int32(0), 64, 64, 3),
        ("raw-ipv4.pcap", Int32(12), 64, 64, 3),        // LINKTYPE_RAW 101 is DLT_RAW 12 in libpcap
        ("qinq.pcap", Int32(1), 64, 64, 3),
        ("ipv6-loss.pcap", Int32(1), 63, 63, 3),
    ])
    func realTrafficFixtures(name: String, dlt: Int32, packets: Int, tcp: Int, connections: Int) throws {
        let r = try Reading(Paths.fixture(name))
        #expect(r.dlt == dlt)
        #expect(r.counters.packets == packets)
        #expect(r.counters.tcpPackets == tcp)
        #expect(r.connections.count == connections)
        let truth = try GroundTruth.load(Paths.fixture(name))
        #expect(truth.flows.count == connections, "\(name): connections in the ground truth")
        for flow in truth.flows {
            let a = "\(flow.clientIP):\(flow.clientPort)", b = "\(flow.serverIP):\(flow.serverPort)"
            #expect(r.connections.contains(a < b ? "\(a)-\(b)" : "\(b)-\(a)"), "\(name): \(a) <-> \(b)")
        }
    }

    @Test(arguments: [
        // public capture, DLT, packets, TCP packets, non-IP
        ("gopacket/test_loopback.pcap", Int32(0), 24, 24, 0),                   // DLT_NULL, little-endian
        ("tcpdump-tests/resp_2_inline.pcap", Int32(113), 14, 14, 0),            // Linux cooked v1
        ("tcpdump-tests/mptcp-tcprst.pcap", Int32(12), 2, 2, 0),                // raw IPv4
        ("tcpdump-tests/802.1ad_QinQ.pcap", Int32(1), 2, 0, 2),                 // ARP under two tags
        ("gopacket/test_ethernet.pcap", Int32(1), 10, 10, 0),
    ])
    func publicCaptures(path: String, dlt: Int32, packets: Int, tcp: Int, nonIP: Int) throws {
        let full = Paths.capture(path)
        try #require(Paths.exists(full), "missing \(full)")
        let r = try Reading(full)
        #expect(r.dlt == dlt)
        #expect(r.counters.packets == packets)
        #expect(r.counters.tcpPackets == tcp)
        #expect(r.counters.nonIP == nonIP)
    }

    /// Linux NFLOG and Cisco HDLC (issue 25, item 5) were "link type not decoded":
    /// their IP packets are now reached. tshark reads nflog.pcap as 4 nflog:ip:udp:dns
    /// packets, HDLC.pcap as 10 chdlc:ip:icmp packets among SLARP and other non-IP frames.
    @Test(arguments: [
        ("tcpdump-tests/nflog.pcap", Int32(239), 4, 4, 0, 0),
        ("tcpdump-tests/HDLC.pcap", Int32(104), 38, 0, 10, 28),
    ])
    func linkTypesOfItsOwnReachIP(path: String, dlt: Int32, packets: Int, udp: Int, icmp: Int, nonIP: Int) throws {
        let r = try Reading(Paths.capture(path))
        #expect(r.dlt == dlt)
        #expect(r.counters.packets == packets)
        #expect(r.counters.unsupportedLink == 0)
        #expect(r.counters.udpPackets == udp && r.counters.icmpPackets == icmp && r.counters.nonTCP == 0)
        #expect(r.counters.nonIP == nonIP)
    }

    @Test func ipv6AddressesInRFC5952Form() throws {
        let r = try Reading(Paths.fixture("ipv6-loss.pcap"))
        #expect(r.connections.count == 3)
        #expect(r.connections.allSatisfy { $0.hasPrefix("fd77::1:9000-fd77::2:") })
    }

    @Test func bpfFilterSelectsPackets() throws {
        let r = try Reading(Paths.sample, filter: "tcp port 45740")
        #expect(r.counters.packets == 72)
        #expect(r.connections == ["10.77.0.1:9000-10.77.0.2:45740"])
    }

    @Test func badFilterIsAClearError() {
        #expect(throws: CaptureError.self) { try CaptureReader(path: Paths.sample, filter: "tcp port banana") }
        do {
            _ = try CaptureReader(path: Paths.sample, filter: "tcp port banana")
        } catch {
            #expect(error.description.hasPrefix("\(Paths.sample): bad filter 'tcp port banana': "))
        }
    }

    @Test func notACaptureIsAClearError() throws {
        let dir = Paths.temporaryDirectory()
        let path = dir + "/notes.txt"
        try "not a capture\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try CaptureReader(path: path)
            Issue.record("opened a text file as a capture")
        } catch {
            #expect(error.description == "\(path): cannot open capture: unknown file format")
        }
        do {
            _ = try CaptureReader(path: dir + "/missing.pcap")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.description.hasPrefix("\(dir)/missing.pcap: cannot open capture: "))
        }
    }

    /// A file cut in the middle of a record: the packets before it are read, then
    /// the error names the file, the packet index and libpcap's message.
    @Test func truncatedRecordKeepsWhatWasRead() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Paths.sample)))
        let dir = Paths.temporaryDirectory()
        let path = dir + "/cut.pcap"
        try Data(bytes.prefix(10_000)).write(to: URL(fileURLWithPath: path))
        let reader = try CaptureReader(path: path)
        var read = 0
        do {
            while try reader.next() != nil { read += 1 }
            Issue.record("no error at the cut")
        } catch {
            guard case let .read(p, index, offset, message) = error else { Issue.record("\(error)"); return }
            #expect(p == path)
            #expect(index == read)
            #expect(read > 0)
            #expect(offset != nil)
            #expect(message.contains("truncated dump file"))
        }
    }

    @Test func timestampsSaturateInsteadOfTrapping() {
        #expect(CaptureReader.nanoseconds(seconds: 1, fraction: 5) == 1_000_000_005)
        #expect(CaptureReader.nanoseconds(seconds: -1, fraction: 0) == -1_000_000_000)
        #expect(CaptureReader.nanoseconds(seconds: .max, fraction: 0) == .max)
        #expect(CaptureReader.nanoseconds(seconds: .min, fraction: 0) == .min)
    }
}
