/// What follows an EtherType, an IP protocol or a UDP port: the network layers, and
/// the tunnels that carry a packet inside another (GRE, UDP tunnels, GTP-U, Teredo, AYIYA).
extension PacketDecoder {
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
            // PPPoE session: version/type, code, session id, length, then the PPP protocol:
            // two bytes, or one when the peers agreed on protocol-field compression
            // (RFC 1661 6.5: a protocol's last byte is odd, its first even).
            guard n >= offset + 7 else { return .truncated }
            guard p[offset] == 0x11, p[offset + 1] == 0 else { return .malformed }
            guard out.encapsulation.append(EncapsulationLayer(kind: .pppoe, id: UInt32(Self.be16(p, offset + 2)))) else {
                return .malformed
            }
            let compressed = p[offset + 6] & 1 == 1
            guard compressed || n >= offset + 8 else { return .truncated }
            let proto = compressed ? UInt16(p[offset + 6]) : Self.be16(p, offset + 6)
            let data = offset + (compressed ? 7 : 8)
            switch proto {
            case 0x0021: return decodeIPv4(p, data, &out)
            case 0x0057: return decodeIPv6(p, data, &out)
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
        case 0x8100, 0x88a8, 0x9100:
            // A VLAN tag after another header (a VN-Tag, as a Cisco fabric extender
            // sends them, before the 802.1Q tag): recorded as the tags of the frame are.
            guard n >= offset + 4 else { return .truncated }
            guard out.encapsulation.append(EncapsulationLayer(kind: .vlan, id: UInt32(Self.be16(p, offset) & 0x0fff))) else {
                return .malformed
            }
            return decodeEtherType(Self.be16(p, offset + 2), p, offset + 4, &out)
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
        case 1 where !outer.0.isIPv6, 58 where outer.0.isIPv6:
            return decodeICMP(inner, start, &out)
        default:
            return .nonTCP
        }
    }

    /// A UDP datagram that is no tunnel: its ports, and its payload within the UDP
    /// length (what the capture holds of it; `payloadLength` as announced). A UDP
    /// length below 8, or past the IP packet's end, is malformed.
    func decodePlainUDP(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let length = Int(Self.be16(p, start + 4))
        let announcedEnd = out.networkOffset + out.ipLength
        guard length >= 8, start + length <= max(announcedEnd, p.count) else { return .malformed }
        out.sourcePort = Self.be16(p, start)
        out.destinationPort = Self.be16(p, start + 2)
        let end = min(start + length, p.count)
        out.payload = UnsafeRawBufferPointer(rebasing: p[(start + 8)..<max(start + 8, end)])
        out.payloadLength = length - 8
        out.payloadTruncated = end < start + length
        return .udp
    }

    /// An ICMP (IPv4) or ICMPv6 message: type, code, checksum, then for echo
    /// requests and replies the identifier and sequence number; the body after
    /// those 8 bytes is the payload.
    func decodeICMP(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        guard p.count >= start + 8 else { return .truncated }
        let type = p[start]
        out.icmpType = type
        out.icmpCode = p[start + 1]
        let echo = out.source.isIPv6 ? (type == 128 || type == 129) : (type == 8 || type == 0)
        out.icmpIdentifier = echo ? Self.be16(p, start + 4) : 0
        out.sourcePort = 0
        out.destinationPort = 0
        out.payload = UnsafeRawBufferPointer(rebasing: p[(start + 8)...])
        let announced = out.networkOffset + out.ipLength - start - 8
        out.payloadLength = max(announced, out.payload.count)
        out.payloadTruncated = announced > out.payload.count
        return .icmp
    }

    /// UDP tunnels, by port: VXLAN (4789, and Linux's former 8472), Geneve (6081),
    /// GRE in UDP (4754), GTP-U (2152), Teredo (3544), AYIYA (5072).
    func decodeUDP(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        guard n >= start + 8 else { return .truncated }
        let sourcePort = Self.be16(p, start), destinationPort = Self.be16(p, start + 2)
        let body = start + 8
        let outer = (source: out.source, destination: out.destination)
        let outerIPLength = Int32(truncatingIfNeeded: out.ipLength)
        func layer(_ kind: EncapsulationKind, _ id: UInt32?) -> EncapsulationLayer {
            var l = EncapsulationLayer(kind: kind, id: id, outerSource: outer.source, outerDestination: outer.destination)
            l.outerPorts = UInt32(sourcePort) << 16 | UInt32(destinationPort)
            l.outerIPLength = outerIPLength
            return l
        }
        switch destinationPort {
        case 4789, 8472:
            // flags (I: a VNI is present), 3 reserved, VNI, 1 reserved; then Ethernet
            guard n >= body + 8 else { return .truncated }
            guard p[body] & 0x08 != 0 else { return decodePlainUDP(p, start, &out) }   // not VXLAN after all
            guard out.encapsulation.append(layer(.vxlan, Self.be32(p, body + 4) >> 8)) else { return .malformed }
            return decodeEthernet(p, body + 8, &out)
        case 4790:
            // VXLAN-GPE: flags (P: a next protocol is given; I: a VNI), 2 reserved,
            // next protocol (1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS), VNI, 1 reserved
            guard n >= body + 8 else { return .truncated }
            guard p[body] & 0x08 != 0 else { return decodePlainUDP(p, start, &out) }
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
            guard p[body] >> 6 == 0 else { return decodePlainUDP(p, start, &out) }   // not Geneve version 0
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
            // a GTP message other than a G-PDU (echo, error indication, end marker):
            // the tunnel's own signalling, a datagram of its flow
            if n >= body + 2, p[body + 1] != 0xff { return decodePlainUDP(p, start, &out) }
            return decodeGTPU(p, body, &out, layer(.gtpU, nil))
        case 5072:
            // AYIYA other than forwarding (a heartbeat, a query): a datagram of the tunnel's flow
            if n >= body + 3, p[body + 2] & 0x0f != 1 { return decodePlainUDP(p, start, &out) }
            return decodeAYIYA(p, body, &out, layer(.ayiya, nil))
        default:
            if destinationPort == 3544 || sourcePort == 3544 {
                return decodeTeredo(p, body, &out, layer(.teredo, nil))
            }
            // the return direction of AYIYA, from the server's port to the client's
            if sourcePort == 5072 {
                if n >= body + 3, p[body + 2] & 0x0f != 1 { return decodePlainUDP(p, start, &out) }
                return decodeAYIYA(p, body, &out, layer(.ayiya, nil))
            }
            // Teredo between a qualified client and a relay or a peer uses the ports
            // their NATs mapped, not 3544: recognised by what it carries (as Zeek
            // does), an IPv6 packet to or from a Teredo address.
            if n > body, p[body] == 0 || p[body] >> 4 == 6, isTeredo(p, body) {
                return decodeTeredo(p, body, &out, layer(.teredo, nil))
            }
            return decodePlainUDP(p, start, &out)
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
        case 0x8200...0x8370 where proto & 0x0f == 0:
            // Aruba: an 802.11 frame (no FCS) between access point and controller
            return decode80211(p, offset, &out)
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
        let offset = Self.teredoIPv6(p, start)
        guard p.count >= offset + 40, p[offset] >> 4 == 6 else { return .nonTCP }
        guard out.encapsulation.append(layer) else { return .malformed }
        return decodeIPv6(p, offset, &out)
    }

    /// Where the IPv6 header of a Teredo packet at `start` begins: after the
    /// authentication header (lengths of client id and authenticator, 8-byte nonce,
    /// confirmation byte) and the 8-byte origin indication, each when present.
    static func teredoIPv6(_ p: UnsafeRawBufferPointer, _ start: Int) -> Int {
        let n = p.count
        var offset = start
        if n >= offset + 4, p[offset] == 0, p[offset + 1] == 1 {
            offset += 4 + Int(p[offset + 2]) + Int(p[offset + 3]) + 9
        }
        if n >= offset + 8, p[offset] == 0, p[offset + 1] == 0 { offset += 8 }
        return offset
    }

    /// Whether a UDP payload on ports other than Teredo's is Teredo: an IPv6 header
    /// (after the optional headers) whose payload length accounts for exactly the
    /// datagram's remaining bytes, with a Teredo address (2001::/32) or a
    /// link-local one (qualification) at either end. A datagram cut by the snaplen
    /// is not recognised this way.
    func isTeredo(_ p: UnsafeRawBufferPointer, _ start: Int) -> Bool {
        let offset = Self.teredoIPv6(p, start)
        guard p.count >= offset + 40, p[offset] >> 4 == 6,
              Int(Self.be16(p, offset + 4)) == p.count - offset - 40 else { return false }
        func teredoOrLinkLocal(_ at: Int) -> Bool {
            let prefix = Self.be32(p, at)
            return prefix == 0x2001_0000 || prefix & 0xffc0_0000 == 0xfe80_0000
        }
        return teredoOrLinkLocal(offset + 8) || teredoOrLinkLocal(offset + 24)
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
}
