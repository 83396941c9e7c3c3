/// What became of one packet.
public enum DecodeResult: UInt8, Sendable, CaseIterable {
    /// A TCP segment: `DecodedPacket` holds its header fields and payload view.
    case tcp
    /// The link layer carries something other than IPv4 or IPv6 (ARP, LLC, …).
    case nonIP
    /// IP, but neither TCP, UDP nor ICMP (or a tunnel's packet that carries none).
    case nonTCP
    /// An IP fragment (IPv4 with MF set or a non-zero offset, or an IPv6 fragment
    /// header): counted, not decoded, as gopacket does.
    case fragment
    /// A header is inconsistent (bad lengths, bad options).
    case malformed
    /// The capture cut a link, IP or TCP header short (snaplen).
    case truncated
    /// The file's link-layer type is not one flowdb decodes.
    case unsupportedLink
    /// A UDP datagram (no tunnel flowdb reads): its ports and payload view.
    case udp
    /// An ICMP or ICMPv6 message: `icmpType`, `icmpCode`, `icmpIdentifier` (echo),
    /// and its body after the 8-byte header as the payload view.
    case icmp
}

/// The fields of one decoded TCP/IP packet. `options` and `payload` borrow the
/// buffer given to `PacketDecoder.decode` and are valid only until that buffer
/// is reused (for libpcap, the next read). Nothing here is heap-allocated.
public struct DecodedPacket {
    public var source = IPAddress(high: 0, low: 0, isIPv6: false)
    public var destination = IPAddress(high: 0, low: 0, isIPv6: false)
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var sequence: UInt32 = 0
    public var acknowledgment: UInt32 = 0
    /// TCP flag bits as on the wire: FIN 0x01 … CWR 0x80, NS 0x100.
    public var flags: UInt16 = 0
    public var window: UInt16 = 0
    public var options = UnsafeRawBufferPointer(start: nil, count: 0)
    public var payload = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The IP header announced more bytes than were captured: the payload holds
    /// only the bytes that exist.
    public var payloadTruncated = false
    /// Offset of the IP header in the packet (for diagnostics).
    public var networkOffset = 0
    /// The IP datagram's length as its header announces it (IPv4 total length,
    /// IPv6 header plus payload length or jumbogram length), header included:
    /// what Zeek counts as a packet's IP bytes. May exceed the bytes captured.
    public var ipLength = 0
    /// TCP payload bytes as the IP header announces them: `payload.count`, or more
    /// when the snaplen cut the packet.
    public var payloadLength = 0
    /// The tunnels, labels and tags around the innermost IP header, outermost first.
    public var encapsulation = Encapsulation()
    /// For a `.fragment` result: where the fragment's parts lie.
    public var fragment = FragmentInfo()
    /// The IP length cut the TCP header inside its options (the fixed 20 bytes are
    /// whole): the segment is decoded without options and without payload, and the
    /// anomaly counted.
    public var headerCut = false
    /// An option's length byte was below 2 or ran past the header: the segment is
    /// decoded without options, its payload where the data offset says, and the
    /// anomaly counted.
    public var badOptions = false
    /// The innermost IP header's TTL (IPv4) or hop limit (IPv6), and the TCP urgent pointer.
    public var hopLimit: UInt8 = 0
    public var urgentPointer: UInt16 = 0
    /// The A-MSDU subframe decoded (`PacketDecoder.decode(_:into:subframe:)`), and
    /// whether the frame holds more after it: an 802.11 frame may aggregate several
    /// packets, each decoded in turn.
    public internal(set) var subframe = 0
    public internal(set) var moreSubframes = false
    /// For an `.icmp` result: the message's type and code, and for an echo request
    /// or reply its identifier (0 otherwise).
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    public var icmpIdentifier: UInt16 = 0

    public init() {}
}

/// Decodes link, IP and TCP headers over borrowed bytes, checking every length
/// against the bytes captured. Header rules follow gopacket's `layers` package
/// (so that both see the same TCP segments) except that Linux cooked v2 is
/// understood and QinQ may use 0x9100 as well as 0x88a8.
public struct PacketDecoder: Sendable {
    public let linkType: LinkType

    public init(linkType: LinkType) {
        self.linkType = linkType
    }

    @inlinable
    static func be16(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    static func be32(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    static func be64(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Decodes one captured packet into `out`. Returns `.tcp` when `out` holds a
    /// TCP segment; any other result says why the packet carries none.
    /// Decodes a datagram put back together from fragments (`Defragmenter`): an IP
    /// header at its start. The encapsulation chain of the fragment that completed
    /// it is kept, and extended by what the datagram carries.
    public func decodeReassembled(_ datagram: UnsafeRawBufferPointer, into out: inout DecodedPacket) -> DecodeResult {
        guard datagram.count >= 1 else { return .truncated }
        switch datagram[0] >> 4 {
        case 4: return decodeIPv4(datagram, 0, &out)
        case 6: return decodeIPv6(datagram, 0, &out)
        default: return .malformed
        }
    }

    /// `subframe`: which packet of an aggregate 802.11 frame (A-MSDU) to decode; a
    /// caller decodes subframe 0, then the next ones while `out.moreSubframes`.
    public func decode(_ packet: UnsafeRawBufferPointer, into out: inout DecodedPacket, subframe: Int = 0) -> DecodeResult {
        let n = packet.count
        out.encapsulation.removeAll()
        out.subframe = subframe
        out.moreSubframes = false
        switch linkType {
        case .ethernet:
            return decodeEthernet(packet, 0, &out)
        case .linuxCooked:
            guard n >= 16 else { return .truncated }
            return decodeEtherType(Self.be16(packet, 14), packet, 16, &out)
        case .linuxCooked2:
            guard n >= 20 else { return .truncated }
            return decodeEtherType(Self.be16(packet, 0), packet, 20, &out)
        case .null, .loop:
            guard n >= 4 else { return .truncated }
            // DLT_NULL holds the family in the writer's byte order; the family is
            // small, so a zero in the first two bytes means big-endian.
            let family: UInt32 = (packet[0] == 0 && packet[1] == 0)
                ? Self.be32(packet, 0)
                : UInt32(littleEndian: packet.loadUnaligned(as: UInt32.self))
            switch family {
            case 2: return decodeIPv4(packet, 4, &out)
            case 10, 24, 28, 30: return decodeIPv6(packet, 4, &out)
            default: return .nonIP
            }
        case .raw:
            guard n >= 1 else { return .truncated }
            switch packet[0] >> 4 {
            case 4: return decodeIPv4(packet, 0, &out)
            case 6: return decodeIPv6(packet, 0, &out)
            default: return .nonIP
            }
        case .ipv4:
            return decodeIPv4(packet, 0, &out)
        case .ipv6:
            return decodeIPv6(packet, 0, &out)
        case .ciscoHDLC:
            // address (0x0f unicast, 0x8f broadcast), control, then an EtherType
            guard n >= 4 else { return .truncated }
            return decodeEtherType(Self.be16(packet, 2), packet, 4, &out)
        case .nflog:
            return decodeNFLOG(packet, &out)
        case .unsupported:
            return .unsupportedLink
        }
    }

    /// An Ethernet frame at `start`: any stack of 802.1Q / 802.1ad / 0x9100 tags
    /// (recorded as VLAN layers), then its EtherType.
    @inline(__always)
    func decodeEthernet(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        guard n >= start + 14 else { return .truncated }
        var type = Self.be16(p, start + 12)
        var offset = start + 14
        while type == 0x8100 || type == 0x88a8 || type == 0x9100 {
            guard n >= offset + 4 else { return .truncated }
            out.encapsulation.append(EncapsulationLayer(kind: .vlan, id: UInt32(Self.be16(p, offset) & 0x0fff)))
            type = Self.be16(p, offset + 2)
            offset += 4
        }
        return decodeEtherType(type, p, offset, &out)
    }

    /// A Linux NFLOG record: address family, version 0, resource id, then
    /// type-length-value attributes, each padded to 4 bytes, whose lengths and
    /// types libpcap hands over in this machine's byte order. The packet is the
    /// value of the payload attribute (type 9), from its IP header on.
    func decodeNFLOG(_ p: UnsafeRawBufferPointer, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        guard n >= 4 else { return .truncated }
        guard p[1] == 0 else { return .malformed }
        let family = p[0]
        var offset = 4
        while n - offset >= 4 {
            let length = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            let type = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
            guard length >= 4 else { return .malformed }
            if type == 9 {
                // the attribute as captured: the snaplen may have cut it
                let value = UnsafeRawBufferPointer(rebasing: p[..<min(n, offset + length)])
                switch family {
                case 2: return decodeIPv4(value, offset + 4, &out)
                case 10: return decodeIPv6(value, offset + 4, &out)
                default: return .nonIP
                }
            }
            offset += (length + 3) & ~3
        }
        return offset > n ? .truncated : .nonIP
    }
}
