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
    /// The encapsulation kinds seen (a packet with a VLAN tag inside VXLAN counts
    /// for both), most packets first.
    public var encapsulations: [(kind: EncapsulationKind, packets: Int)] { counters.encapsulated.seen }

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
            counters.record(packet.encapsulation)
            tally(result, packet)
            var subframe = 1
            while packet.moreSubframes {
                tally(decoder.decode(raw.bytes, into: &packet, subframe: subframe), packet)
                subframe += 1
            }
        }
    }

    /// Counts one decoded packet in its conversation.
    private mutating func tally(_ result: DecodeResult, _ packet: DecodedPacket) {
        guard result == .tcp else { return }
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
