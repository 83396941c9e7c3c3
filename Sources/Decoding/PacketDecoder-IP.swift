/// IPv4, IPv6 (with its extension headers) and TCP headers.
extension PacketDecoder {
    func decodeIPv4(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let available = p.count - start
        guard available >= 20 else { return .truncated }
        // Whatever announced IPv4 (an EtherType, a tunnel's protocol field), a header
        // of another version is not one: its addresses and ports would be invented.
        guard p[start] >> 4 == 4 else { return .malformed }
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
        out.hopLimit = p[start + 8]
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
        guard p[start] >> 4 == 6 else { return .malformed }
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
                out.hopLimit = p[start + 7]
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
            case 4, 17, 41, 47, 58:
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
        let dataOffset = Int(p[start + 12] >> 4) * 4
        guard dataOffset >= 20 else { return .malformed }
        out.headerCut = false
        out.badOptions = false
        var optionsEnd = start + dataOffset, payloadStart = start + dataOffset
        if dataOffset > available {
            if out.payloadTruncated { return .truncated }
            // The IP length ends the packet inside the TCP options while the fixed
            // 20 bytes are whole: scanners (Mirai and its kin) send SYNs like this.
            // The segment counts, with no options and no payload: what lies past
            // the 20 bytes is the start of options, never data (tshark: no payload).
            optionsEnd = start + 20
            payloadStart = end
            out.headerCut = true
        } else if !Self.validTCPOptions(p, from: start + 20, to: start + dataOffset) {
            // An option whose length byte is below 2 or runs past the header: the
            // data offset still says where the payload begins, so it is kept (gopacket
            // drops the segment, losing its bytes); the options are not read.
            optionsEnd = start + 20
            out.badOptions = true
        }
        out.sourcePort = Self.be16(p, start)
        out.destinationPort = Self.be16(p, start + 2)
        out.sequence = Self.be32(p, start + 4)
        out.acknowledgment = Self.be32(p, start + 8)
        out.flags = UInt16(p[start + 13]) | (UInt16(p[start + 12] & 0x01) << 8)
        out.window = Self.be16(p, start + 14)
        out.urgentPointer = Self.be16(p, start + 18)
        let base = p.baseAddress!
        out.options = UnsafeRawBufferPointer(start: base + start + 20, count: optionsEnd - (start + 20))
        out.payload = UnsafeRawBufferPointer(start: base + payloadStart, count: end - payloadStart)
        out.payloadLength = out.headerCut ? 0 : max(end - payloadStart, out.networkOffset + out.ipLength - payloadStart)
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
