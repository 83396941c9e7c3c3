/// What became of one packet.
public enum DecodeResult: UInt8, Sendable, CaseIterable {
    /// A TCP segment: `DecodedPacket` holds its header fields and payload view.
    case tcp
    /// The link layer carries something other than IPv4 or IPv6 (ARP, LLC, …).
    case nonIP
    /// IP, but not TCP (UDP, ICMP, …).
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
    /// whole): the segment is decoded without options, and the anomaly counted.
    public var headerCut = false

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

    public func decode(_ packet: UnsafeRawBufferPointer, into out: inout DecodedPacket) -> DecodeResult {
        let n = packet.count
        out.encapsulation.removeAll()
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

    @inline(__always)
    func decodeEtherType(_ type: UInt16, _ p: UnsafeRawBufferPointer, _ offset: Int, _ out: inout DecodedPacket) -> DecodeResult {
        switch type {
        case 0x0800: return decodeIPv4(p, offset, &out)
        case 0x86dd: return decodeIPv6(p, offset, &out)
        default: return decodeOtherEtherType(type, p, offset, &out)
        }
    }

    /// Layer-2 encapsulations: MPLS label stacks, PPPoE sessions, 802.1ah PBB,
    /// VN-Tag and Cisco FabricPath. Anything else carries no IP.
    func decodeOtherEtherType(_ type: UInt16, _ p: UnsafeRawBufferPointer, _ offset: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        switch type {
        case 0x8847, 0x8848:
            var i = offset
            while true {
                guard n >= i + 4 else { return .truncated }
                let entry = Self.be32(p, i)
                guard out.encapsulation.append(EncapsulationLayer(kind: .mpls, id: entry >> 12)) else { return .malformed }
                i += 4
                if entry & 0x100 != 0 { break }      // bottom of the stack
            }
            // What follows the stack is not announced: an IP version nibble tells.
            guard n > i else { return .truncated }
            switch p[i] >> 4 {
            case 4: return decodeIPv4(p, i, &out)
            case 6: return decodeIPv6(p, i, &out)
            default: return .nonIP
            }
        case 0x8864:
            // PPPoE session: version/type, code, session id, length, then the PPP protocol.
            guard n >= offset + 8 else { return .truncated }
            guard p[offset] == 0x11, p[offset + 1] == 0 else { return .malformed }
            guard out.encapsulation.append(EncapsulationLayer(kind: .pppoe, id: UInt32(Self.be16(p, offset + 2)))) else {
                return .malformed
            }
            switch Self.be16(p, offset + 6) {
            case 0x0021: return decodeIPv4(p, offset + 8, &out)
            case 0x0057: return decodeIPv6(p, offset + 8, &out)
            default: return .nonIP
            }
        case 0x88e7:
            // 802.1ah: the I-TAG (I-SID in its low 24 bits), then the customer's frame.
            guard n >= offset + 4 else { return .truncated }
            guard out.encapsulation.append(EncapsulationLayer(kind: .pbb, id: Self.be32(p, offset) & 0x00ff_ffff)) else {
                return .malformed
            }
            return decodeEthernet(p, offset + 4, &out)
        case 0x8926:
            // VN-Tag: 4 bytes, then the EtherType of what it carries.
            guard n >= offset + 6 else { return .truncated }
            guard out.encapsulation.append(EncapsulationLayer(kind: .vnTag, id: UInt32(Self.be16(p, offset) & 0x3fff))) else {
                return .malformed
            }
            return decodeEtherType(Self.be16(p, offset + 4), p, offset + 6, &out)
        case 0x8903:
            // Cisco FabricPath: the FTag and TTL, then the original frame.
            guard n >= offset + 2 else { return .truncated }
            guard out.encapsulation.append(EncapsulationLayer(kind: .fabricPath, id: UInt32(Self.be16(p, offset) >> 6))) else {
                return .malformed
            }
            return decodeEthernet(p, offset + 2, &out)
        default:
            return .nonIP
        }
    }

    /// What an IP header at `start` carries (`protocol`), within `end`: TCP, or a
    /// tunnel whose outer addresses are `out.source` / `out.destination`.
    @inline(__always)
    func decodeIPPayload(_ proto: UInt8, _ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int,
                         _ out: inout DecodedPacket) -> DecodeResult {
        if proto == 6 { return decodeTCP(p, start, end, &out) }
        return decodeTunnel(proto, p, start, end, &out)
    }

    func decodeTunnel(_ proto: UInt8, _ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int,
                      _ out: inout DecodedPacket) -> DecodeResult {
        // The outer packet ends at `end` (link padding or a snaplen cut beyond it is not inner data).
        let inner = UnsafeRawBufferPointer(rebasing: p[..<end])
        let outer = (out.source, out.destination)
        switch proto {
        case 4, 41:
            guard out.encapsulation.append(EncapsulationLayer(kind: .ipInIP, outerSource: outer.0, outerDestination: outer.1)) else {
                return .malformed
            }
            return proto == 4 ? decodeIPv4(inner, start, &out) : decodeIPv6(inner, start, &out)
        case 17:
            return decodeUDP(inner, start, &out)
        case 47:
            return decodeGRE(inner, start, &out)
        default:
            return .nonTCP
        }
    }

    /// UDP tunnels, by port: VXLAN (4789, and Linux's former 8472), Geneve (6081),
    /// GRE in UDP (4754), GTP-U (2152), Teredo (3544), AYIYA (5072).
    func decodeUDP(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        guard n >= start + 8 else { return .nonTCP }
        let sourcePort = Self.be16(p, start), destinationPort = Self.be16(p, start + 2)
        let body = start + 8
        let outer = (source: out.source, destination: out.destination)
        func layer(_ kind: EncapsulationKind, _ id: UInt32?) -> EncapsulationLayer {
            EncapsulationLayer(kind: kind, id: id, outerSource: outer.source, outerDestination: outer.destination)
        }
        switch destinationPort {
        case 4789, 8472:
            // flags (I: a VNI is present), 3 reserved, VNI, 1 reserved; then Ethernet
            guard n >= body + 8 else { return .truncated }
            guard p[body] & 0x08 != 0 else { return .nonTCP }   // not VXLAN after all
            guard out.encapsulation.append(layer(.vxlan, Self.be32(p, body + 4) >> 8)) else { return .malformed }
            return decodeEthernet(p, body + 8, &out)
        case 4790:
            // VXLAN-GPE: flags (P: a next protocol is given; I: a VNI), 2 reserved,
            // next protocol (1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS), VNI, 1 reserved
            guard n >= body + 8 else { return .truncated }
            guard p[body] & 0x08 != 0 else { return .nonTCP }
            guard out.encapsulation.append(layer(.vxlan, Self.be32(p, body + 4) >> 8)) else { return .malformed }
            let next = body + 8
            switch p[body] & 0x04 != 0 ? p[body + 3] : 3 {
            case 1: return decodeIPv4(p, next, &out)
            case 2: return decodeIPv6(p, next, &out)
            case 3: return decodeEthernet(p, next, &out)
            case 5: return decodeOtherEtherType(0x8847, p, next, &out)
            default: return .nonIP
            }
        case 6081:
            // version and option length (4-byte words), flags, protocol, VNI; then options
            guard n >= body + 8 else { return .truncated }
            guard p[body] >> 6 == 0 else { return .nonTCP }   // not Geneve version 0
            let headerLength = 8 + Int(p[body] & 0x3f) * 4
            guard n >= body + headerLength else { return .truncated }
            guard out.encapsulation.append(layer(.geneve, Self.be32(p, body + 4) >> 8)) else { return .malformed }
            let next = body + headerLength
            switch Self.be16(p, body + 2) {
            case 0x6558: return decodeEthernet(p, next, &out)
            case 0x0800: return decodeIPv4(p, next, &out)
            case 0x86dd: return decodeIPv6(p, next, &out)
            default: return .nonIP
            }
        case 4754:
            return decodeGRE(p, body, &out)
        case 2152:
            return decodeGTPU(p, body, &out, layer(.gtpU, nil))
        case 5072:
            return decodeAYIYA(p, body, &out, layer(.ayiya, nil))
        default:
            if destinationPort == 3544 || sourcePort == 3544 {
                return decodeTeredo(p, body, &out, layer(.teredo, nil))
            }
            return .nonTCP
        }
    }

    /// GRE (RFC 2784, 2890): optional checksum, key and sequence number, then IP,
    /// Ethernet (0x6558), MPLS or ERSPAN types I, II (0x88BE) and III (0x22EB).
    func decodeGRE(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        guard n >= start + 4 else { return .truncated }
        let flags = Self.be16(p, start), proto = Self.be16(p, start + 2)
        // version 0 only (1 is PPTP's enhanced GRE, carrying PPP); no source routing
        guard flags & 0x0007 == 0, flags & 0x4000 == 0 else { return .nonTCP }
        var offset = start + 4
        if flags & 0x8000 != 0 { offset += 4 }
        var key: UInt32?
        if flags & 0x2000 != 0 {
            guard n >= offset + 4 else { return .truncated }
            key = Self.be32(p, offset)
            offset += 4
        }
        let sequenced = flags & 0x1000 != 0
        if sequenced { offset += 4 }
        guard n >= offset else { return .truncated }
        let outer = (source: out.source, destination: out.destination)
        switch proto {
        case 0x88BE, 0x22EB:
            var session: UInt32?
            if proto == 0x22EB {
                // ERSPAN III: 12 bytes, 8 more when the O flag announces a platform sub-header
                guard n >= offset + 12 else { return .truncated }
                session = UInt32(Self.be16(p, offset + 2) & 0x03ff)
                offset += 12 + (p[offset + 11] & 0x01 != 0 ? 8 : 0)
            } else if sequenced {
                // ERSPAN II: 8 bytes (type I has no header and no sequence number)
                guard n >= offset + 8 else { return .truncated }
                session = UInt32(Self.be16(p, offset + 2) & 0x03ff)
                offset += 8
            }
            guard out.encapsulation.append(EncapsulationLayer(kind: .erspan, id: session, outerSource: outer.source,
                                                              outerDestination: outer.destination)) else { return .malformed }
            return decodeEthernet(p, offset, &out)
        default:
            break
        }
        guard out.encapsulation.append(EncapsulationLayer(kind: .gre, id: key, outerSource: outer.source,
                                                          outerDestination: outer.destination)) else { return .malformed }
        switch proto {
        case 0x0800: return decodeIPv4(p, offset, &out)
        case 0x86dd: return decodeIPv6(p, offset, &out)
        case 0x6558: return decodeEthernet(p, offset, &out)
        case 0x8847, 0x8848: return decodeOtherEtherType(proto, p, offset, &out)
        default: return .nonIP
        }
    }

    /// GTP-U (version 1): a G-PDU carries an IP packet after the TEID, the optional
    /// sequence / N-PDU / next-extension word and any extension headers.
    func decodeGTPU(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket, _ base: EncapsulationLayer) -> DecodeResult {
        let n = p.count
        guard n >= start + 8 else { return .truncated }
        let flags = p[start]
        guard flags >> 5 == 1, flags & 0x10 != 0 else { return .nonTCP }   // version 1, GTP (not GTP')
        guard p[start + 1] == 0xff else { return .nonTCP }                 // G-PDU: user data
        var layer = base
        layer.id = Self.be32(p, start + 4)
        var offset = start + 8
        if flags & 0x07 != 0 {
            guard n >= offset + 4 else { return .truncated }
            var next = p[offset + 3]
            offset += 4
            while next != 0 {
                guard n >= offset + 1 else { return .truncated }
                let length = Int(p[offset]) * 4
                guard length >= 4, n >= offset + length else { return length == 0 ? .malformed : .truncated }
                next = p[offset + length - 1]
                offset += length
            }
        }
        guard out.encapsulation.append(layer) else { return .malformed }
        guard n > offset else { return .truncated }
        switch p[offset] >> 4 {
        case 4: return decodeIPv4(p, offset, &out)
        case 6: return decodeIPv6(p, offset, &out)
        default: return .nonIP
        }
    }

    /// Teredo (RFC 4380): an optional authentication header and origin indication,
    /// then an IPv6 packet.
    func decodeTeredo(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket, _ layer: EncapsulationLayer) -> DecodeResult {
        let n = p.count
        var offset = start
        if n >= offset + 4, p[offset] == 0, p[offset + 1] == 1 {
            // authentication: client id and auth value lengths, 8-byte nonce, confirmation byte
            let idLength = Int(p[offset + 2]), authLength = Int(p[offset + 3])
            offset += 4 + idLength + authLength + 9
        }
        if n >= offset + 8, p[offset] == 0, p[offset + 1] == 0 { offset += 8 }   // origin indication
        guard n >= offset + 40, p[offset] >> 4 == 6 else { return .nonTCP }
        guard out.encapsulation.append(layer) else { return .malformed }
        return decodeIPv6(p, offset, &out)
    }

    /// AYIYA: identity and signature of the lengths its first bytes announce, then
    /// the packet its next-header byte names.
    func decodeAYIYA(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket, _ layer: EncapsulationLayer) -> DecodeResult {
        let n = p.count
        guard n >= start + 8 else { return .truncated }
        let identity = 1 << Int(p[start] >> 4), signature = Int(p[start + 1] >> 4) * 4
        guard p[start + 2] & 0x0f == 1 else { return .nonTCP }     // opcode 1: forward
        let next = p[start + 3]
        let offset = start + 8 + identity + signature
        guard n >= offset else { return .truncated }
        guard out.encapsulation.append(layer) else { return .malformed }
        switch next {
        case 4: return decodeIPv4(p, offset, &out)
        case 41: return decodeIPv6(p, offset, &out)
        default: return .nonTCP
        }
    }

    func decodeIPv4(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let available = p.count - start
        guard available >= 20 else { return .truncated }
        out.networkOffset = start
        let headerLength = Int(p[start] & 0x0f) * 4
        var totalLength = Int(Self.be16(p, start + 2))
        // A zero total length is what TCP segmentation offload leaves behind:
        // the packet is as long as what was captured.
        if totalLength == 0 { totalLength = available }
        guard totalLength >= 20, headerLength >= 20, headerLength <= totalLength else { return .malformed }
        out.ipLength = totalLength
        let end: Int
        if available >= totalLength {
            end = start + totalLength          // drop link-layer padding
            out.payloadTruncated = false
        } else {
            guard headerLength <= available else { return .truncated }
            end = p.count
            out.payloadTruncated = true
        }
        guard Self.validIPv4Options(p, from: start + 20, to: start + headerLength) else { return .malformed }
        let fragment = Self.be16(p, start + 6)
        if fragment & 0x2000 != 0 || fragment & 0x1fff != 0 {
            var f = FragmentInfo()
            f.source = IPAddress(ipv4: Self.be32(p, start + 12))
            f.destination = IPAddress(ipv4: Self.be32(p, start + 16))
            f.identification = UInt32(Self.be16(p, start + 4))
            f.offset = Int(fragment & 0x1fff) * 8
            f.moreFragments = fragment & 0x2000 != 0
            f.payloadProtocol = p[start + 9]
            f.headerStart = start
            f.headerLength = headerLength
            f.dataStart = start + headerLength
            f.dataLength = end - (start + headerLength)
            f.truncated = out.payloadTruncated
            out.fragment = f
            return .fragment
        }
        out.source = IPAddress(ipv4: Self.be32(p, start + 12))
        out.destination = IPAddress(ipv4: Self.be32(p, start + 16))
        return decodeIPPayload(p[start + 9], p, start + headerLength, end, &out)
    }

    /// IPv4 options as gopacket accepts them: End ends the list, NOP is one byte,
    /// every other option needs a length above 2 that fits.
    @inline(__always)
    static func validIPv4Options(_ p: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        validOptions(p, from: from, to: to, minimumLength: 3)
    }

    func decodeIPv6(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        guard p.count - start >= 40 else { return .truncated }
        out.networkOffset = start
        let payloadLength = Int(Self.be16(p, start + 4))
        var next = p[start + 6]
        var offset = start + 40
        var limit: Int   // end of the IPv6 payload as announced
        if next == 0 {
            // Hop-by-hop options are part of the base header; a jumbogram carries
            // its length there (RFC 2675).
            guard let (hbhNext, hbhLength) = Self.extensionHeader(p, offset) else { return .malformed }
            let jumbo = Self.jumboLength(p, from: offset + 2, to: offset + hbhLength)
            switch (jumbo, payloadLength) {
            case (.some(let j), 0): limit = offset + Int(j)
            case (.some, _), (nil, 0): return .malformed
            default: limit = offset + payloadLength
            }
            next = hbhNext
            offset += hbhLength
        } else {
            guard payloadLength != 0 else { return .malformed }
            limit = offset + payloadLength
        }
        out.ipLength = limit - start
        let end: Int
        if limit > p.count {
            end = p.count
            out.payloadTruncated = true
        } else {
            end = limit
            out.payloadTruncated = false
        }
        // Routing, destination options, further hop-by-hop and AH headers are
        // stepped over; a fragment header ends decoding.
        while true {
            switch next {
            case 6:
                out.source = IPAddress(high: Self.be64(p, start + 8), low: Self.be64(p, start + 16), isIPv6: true)
                out.destination = IPAddress(high: Self.be64(p, start + 24), low: Self.be64(p, start + 32), isIPv6: true)
                return decodeTCP(p, offset, end, &out)
            case 0, 43, 60:
                guard let (following, length) = Self.extensionHeader(p, offset, end: end) else { return .malformed }
                next = following
                offset += length
            case 51:
                guard end - offset >= 12 else { return .malformed }
                let length = (Int(p[offset + 1]) + 2) * 4
                guard length <= end - offset else { return .malformed }
                next = p[offset]
                offset += length
            case 44:
                // next header, reserved, offset (13 bits) and M flag, identification
                guard end - offset >= 8 else { return .malformed }
                var f = FragmentInfo()
                f.isIPv6 = true
                f.source = IPAddress(high: Self.be64(p, start + 8), low: Self.be64(p, start + 16), isIPv6: true)
                f.destination = IPAddress(high: Self.be64(p, start + 24), low: Self.be64(p, start + 32), isIPv6: true)
                f.identification = Self.be32(p, offset + 4)
                let field = Self.be16(p, offset + 2)
                f.offset = Int(field >> 3) * 8
                f.moreFragments = field & 1 != 0
                f.payloadProtocol = p[offset]
                f.headerStart = start
                f.headerLength = 40
                f.dataStart = offset + 8
                f.dataLength = end - (offset + 8)
                f.truncated = out.payloadTruncated
                out.fragment = f
                return .fragment
            case 4, 17, 41, 47:
                out.source = IPAddress(high: Self.be64(p, start + 8), low: Self.be64(p, start + 16), isIPv6: true)
                out.destination = IPAddress(high: Self.be64(p, start + 24), low: Self.be64(p, start + 32), isIPv6: true)
                return decodeTunnel(next, p, offset, end, &out)
            default:
                return .nonTCP
            }
        }
    }

    /// Next header and total length of an IPv6 extension header at `offset`, or
    /// nil when it does not fit in the bytes available.
    static func extensionHeader(_ p: UnsafeRawBufferPointer, _ offset: Int, end: Int? = nil) -> (UInt8, Int)? {
        let end = end ?? p.count
        guard end - offset >= 2 else { return nil }
        let length = Int(p[offset + 1]) * 8 + 8
        guard length <= end - offset else { return nil }
        return (p[offset], length)
    }

    /// The jumbo payload length option (type 0xC2) among hop-by-hop options.
    static func jumboLength(_ p: UnsafeRawBufferPointer, from: Int, to: Int) -> UInt32? {
        var i = from
        while i < to {
            let type = p[i]
            if type == 0 { i += 1; continue }          // Pad1
            guard to - i >= 2 else { return nil }
            let length = Int(p[i + 1])
            if type == 0xc2, length == 4, to - i >= 6 { return be32(p, i + 2) }
            i += 2 + length
        }
        return nil
    }

    @inline(__always)
    func decodeTCP(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let available = end - start
        guard available >= 20 else { return out.payloadTruncated ? .truncated : .malformed }
        var dataOffset = Int(p[start + 12] >> 4) * 4
        guard dataOffset >= 20 else { return .malformed }
        out.headerCut = false
        if dataOffset > available {
            if out.payloadTruncated { return .truncated }
            // The IP length ends the packet inside the TCP options while the fixed
            // 20 bytes are whole: scanners (Mirai and its kin) send SYNs like this.
            // The segment still counts, without the options that are not there.
            dataOffset = 20
            out.headerCut = true
        } else {
            guard Self.validTCPOptions(p, from: start + 20, to: start + dataOffset) else { return .malformed }
        }
        out.sourcePort = Self.be16(p, start)
        out.destinationPort = Self.be16(p, start + 2)
        out.sequence = Self.be32(p, start + 4)
        out.acknowledgment = Self.be32(p, start + 8)
        out.flags = UInt16(p[start + 13]) | (UInt16(p[start + 12] & 0x01) << 8)
        out.window = Self.be16(p, start + 14)
        let base = p.baseAddress!
        out.options = UnsafeRawBufferPointer(start: base + start + 20, count: dataOffset - 20)
        out.payload = UnsafeRawBufferPointer(start: base + start + dataOffset, count: available - dataOffset)
        out.payloadLength = max(available - dataOffset, out.networkOffset + out.ipLength - (start + dataOffset))
        return .tcp
    }

    /// TCP options as gopacket accepts them: End ends the list, NOP is one byte,
    /// every other option needs a length of at least 2 that fits.
    @inline(__always)
    static func validTCPOptions(_ p: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        validOptions(p, from: from, to: to, minimumLength: 2)
    }

    /// A type-length option list: kind 0 ends it, kind 1 is a one-byte NOP, any
    /// other kind carries a length byte of at least `minimumLength` that must fit.
    @inline(__always)
    static func validOptions(_ p: UnsafeRawBufferPointer, from: Int, to: Int, minimumLength: Int) -> Bool {
        var i = from
        while i < to {
            switch p[i] {
            case 0: return true
            case 1: i += 1
            default:
                guard to - i >= 2 else { return false }
                let length = Int(p[i + 1])
                guard length >= minimumLength, length <= to - i else { return false }
                i += length
            }
        }
        return true
    }
}
