import Capture
import Decoding

/// A first look at captures: packet counts by decode result and the TCP
/// connections seen, by 4-tuple (both directions together). It reads through
/// the same capture and decoding layers as ingest, without reassembly.
public struct CaptureSurvey {
    /// Two endpoints of a TCP conversation, in the order of the first packet seen.
    public struct Conversation: Hashable, Sendable {
        public var a: IPAddress
        public var aPort: UInt16
        public var b: IPAddress
        public var bPort: UInt16
        /// Tenants of different tunnels are different conversations (`Encapsulation.zone`).
        public var zone: UInt64 = 0
    }

    public struct Tally: Sendable, Equatable {
        public var packets = 0
        public var payloadBytes = 0
        public var firstIndex = 0
    }

    public private(set) var counters = DecodeCounters()
    /// Conversations in order of first appearance.
    public private(set) var conversations: [Conversation] = []
    public private(set) var tallies: [Conversation: Tally] = [:]
    public private(set) var linkTypes: [String] = []
    public private(set) var packetIndex = 0
    /// Packets that came through each kind of encapsulation (a packet with a VLAN
    /// tag inside VXLAN counts for both), indexed by `EncapsulationKind.rawValue`.
    public private(set) var encapsulated = [Int](repeating: 0, count: 32)

    /// The kinds seen, most packets first.
    public var encapsulations: [(kind: EncapsulationKind, packets: Int)] {
        EncapsulationKind.allCases.filter { encapsulated[Int($0.rawValue)] > 0 }
            .map { ($0, encapsulated[Int($0.rawValue)]) }
            .sorted { $0.packets != $1.packets ? $0.packets > $1.packets : $0.kind.rawValue < $1.kind.rawValue }
    }

    public init() {}

    /// Reads every packet of `path` ("-" for stdin).
    public mutating func add(path: String, filter: String? = nil) throws(CaptureError) {
        let reader = try CaptureReader(path: path, filter: filter)
        let linkType = LinkType(dlt: reader.dlt)
        linkTypes.append(linkType.isSupported ? linkType.name : "\(reader.linkTypeName) (DLT \(reader.dlt), not decoded)")
        let decoder = PacketDecoder(linkType: linkType)
        var packet = DecodedPacket()
        while let raw = try reader.next() {
            let result = decoder.decode(raw.bytes, into: &packet)
            counters.record(result, capturedBytes: raw.bytes.count, payloadTruncated: packet.payloadTruncated)
            defer { packetIndex += 1 }
            var kinds: UInt32 = 0
            for i in 0..<packet.encapsulation.count { kinds |= 1 << UInt32(packet.encapsulation[i].kind.rawValue) }
            for k in 0..<32 where kinds & (1 << UInt32(k)) != 0 { encapsulated[k] += 1 }
            guard result == .tcp else { continue }
            let zone = packet.encapsulation.zone()
            let forward = Conversation(a: packet.source, aPort: packet.sourcePort, b: packet.destination, bPort: packet.destinationPort,
                                       zone: zone)
            let backward = Conversation(a: packet.destination, aPort: packet.destinationPort, b: packet.source, bPort: packet.sourcePort,
                                        zone: zone)
            let key = tallies[backward] != nil ? backward : forward
            if tallies[key] == nil {
                conversations.append(key)
                tallies[key] = Tally(firstIndex: packetIndex)
            }
            tallies[key]!.packets += 1
            tallies[key]!.payloadBytes += packet.payload.count
        }
    }
}
