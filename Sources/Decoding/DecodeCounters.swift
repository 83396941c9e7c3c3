/// Per-capture packet counts by what the decoder made of each packet.
public struct DecodeCounters: Sendable, Equatable {
    public var packets = 0
    /// Captured bytes of all packet records.
    public var bytes = 0
    public var tcpPackets = 0
    /// UDP datagrams and ICMP messages (each a packet of a datagram flow).
    public var udpPackets = 0
    public var icmpPackets = 0
    /// TCP segments whose payload the capture cut short (delivered with the bytes that exist).
    public var truncatedPayloads = 0
    public var nonIP = 0
    public var nonTCP = 0
    public var fragments = 0
    public var malformed = 0
    public var truncated = 0
    public var unsupportedLink = 0
    /// Packets that came through each kind of encapsulation, by `EncapsulationKind.rawValue`.
    public var encapsulated = EncapsulationCounts()
    /// IP fragments (counted in `fragments`): datagrams put back together, fragments
    /// dropped unused (timed out or evicted), fragments that overlapped other bytes,
    /// datagrams over 65,535 bytes (dropped).
    /// TCP segments whose header the IP length cut inside the options (decoded
    /// without them: the SYNs of some scanners look like this).
    public var tcpHeadersCut = 0
    /// TCP segments with an option whose length byte is below 2 or runs past the
    /// header (decoded without options, their payload kept).
    public var tcpBadOptions = 0
    public var datagramsReassembled = 0
    public var fragmentsExpired = 0
    public var fragmentOverlaps = 0
    public var oversizedDatagrams = 0
    /// Datagram flows let go before their timeout because the tracker was full.
    public var datagramFlowsEvicted = 0

    public init() {}

    /// Counts the encapsulation kinds around a packet (each kind once per packet).
    @inlinable
    public mutating func record(_ encapsulation: Encapsulation) {
        guard !encapsulation.isEmpty else { return }
        var seen: UInt32 = 0
        for i in 0..<encapsulation.count {
            let bit: UInt32 = 1 << UInt32(encapsulation[i].kind.rawValue)
            if seen & bit == 0 {
                seen |= bit
                encapsulated[encapsulation[i].kind] += 1
            }
        }
    }

    @inlinable
    public mutating func record(_ result: DecodeResult, capturedBytes: Int, payloadTruncated: Bool) {
        packets += 1
        bytes += capturedBytes
        switch result {
        case .tcp:
            tcpPackets += 1
            if payloadTruncated { truncatedPayloads += 1 }
        case .nonIP: nonIP += 1
        case .nonTCP: nonTCP += 1
        case .fragment: fragments += 1
        case .malformed: malformed += 1
        case .truncated: truncated += 1
        case .unsupportedLink: unsupportedLink += 1
        case .udp:
            udpPackets += 1
            if payloadTruncated { truncatedPayloads += 1 }
        case .icmp: icmpPackets += 1
        }
    }

    /// Packets that carried no TCP segment, UDP datagram or ICMP message.
    public var skipped: Int { nonIP + nonTCP + fragments + malformed + truncated + unsupportedLink }

    public static func += (a: inout DecodeCounters, b: DecodeCounters) {
        a.packets += b.packets; a.bytes += b.bytes; a.tcpPackets += b.tcpPackets
        a.udpPackets += b.udpPackets; a.icmpPackets += b.icmpPackets
        a.truncatedPayloads += b.truncatedPayloads; a.nonIP += b.nonIP; a.nonTCP += b.nonTCP
        a.fragments += b.fragments; a.malformed += b.malformed; a.truncated += b.truncated
        a.unsupportedLink += b.unsupportedLink
        for kind in EncapsulationKind.allCases { a.encapsulated[kind] += b.encapsulated[kind] }
        a.tcpHeadersCut += b.tcpHeadersCut; a.tcpBadOptions += b.tcpBadOptions
        a.datagramsReassembled += b.datagramsReassembled; a.fragmentsExpired += b.fragmentsExpired
        a.fragmentOverlaps += b.fragmentOverlaps; a.oversizedDatagrams += b.oversizedDatagrams
        a.datagramFlowsEvicted += b.datagramFlowsEvicted
    }
}

/// Packet counts per encapsulation kind, stored inline.
public struct EncapsulationCounts: Sendable, Equatable {
    var counts = [Int](repeating: 0, count: 16)

    public init() {}

    public subscript(kind: EncapsulationKind) -> Int {
        get { counts[Int(kind.rawValue) & 15] }
        set { counts[Int(kind.rawValue) & 15] = newValue }
    }

    /// The kinds seen, most packets first (then in kind order).
    public var seen: [(kind: EncapsulationKind, packets: Int)] {
        EncapsulationKind.allCases.filter { self[$0] > 0 }.map { ($0, self[$0]) }
            .sorted { $0.packets != $1.packets ? $0.packets > $1.packets : $0.kind.rawValue < $1.kind.rawValue }
    }

    /// `{"vxlan":120,"vlan":40}`, or nil when none was seen.
    public var json: String? {
        let s = seen
        guard !s.isEmpty else { return nil }
        return "{" + s.map { "\"\($0.kind.name)\":\($0.packets)" }.joined(separator: ",") + "}"
    }
}
