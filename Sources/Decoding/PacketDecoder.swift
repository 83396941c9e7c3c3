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
    public func decode(_ packet: UnsafeRawBufferPointer, into out: inout DecodedPacket) -> DecodeResult {
        let n = packet.count
        switch linkType {
        case .ethernet:
            guard n >= 14 else { return .truncated }
            var type = Self.be16(packet, 12)
            var offset = 14
            while type == 0x8100 || type == 0x88a8 || type == 0x9100 {
                guard n >= offset + 4 else { return .truncated }
                type = Self.be16(packet, offset + 2)
                offset += 4
            }
            return decodeEtherType(type, packet, offset, &out)
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

    @inline(__always)
    func decodeEtherType(_ type: UInt16, _ p: UnsafeRawBufferPointer, _ offset: Int, _ out: inout DecodedPacket) -> DecodeResult {
        switch type {
        case 0x0800: return decodeIPv4(p, offset, &out)
        case 0x86dd: return decodeIPv6(p, offset, &out)
        default: return .nonIP
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
        if fragment & 0x2000 != 0 || fragment & 0x1fff != 0 { return .fragment }
        guard p[start + 9] == 6 else { return .nonTCP }
        out.source = IPAddress(ipv4: Self.be32(p, start + 12))
        out.destination = IPAddress(ipv4: Self.be32(p, start + 16))
        return decodeTCP(p, start + headerLength, end, &out)
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
                return .fragment
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
        let dataOffset = Int(p[start + 12] >> 4) * 4
        guard dataOffset >= 20 else { return .malformed }
        guard dataOffset <= available else { return out.payloadTruncated ? .truncated : .malformed }
        guard Self.validTCPOptions(p, from: start + 20, to: start + dataOffset) else { return .malformed }
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
