/// IEEE 802.11 data frames, as tunnels carry them (Aruba's GRE): the MAC header,
/// then an LLC/SNAP header naming the EtherType, or an A-MSDU of several.
extension PacketDecoder {
    /// A data frame at `start` (frame control first, no FCS). Management, control,
    /// null-data and protected frames carry no packet that can be read.
    func decode80211(_ p: UnsafeRawBufferPointer, _ start: Int, _ out: inout DecodedPacket) -> DecodeResult {
        let n = p.count
        guard n >= start + 24 else { return .truncated }
        let control = p[start], flags = p[start + 1]
        guard control & 0x03 == 0 else { return .malformed }              // protocol version 0
        guard control & 0x0c == 0x08 else { return .nonIP }               // type 2: data
        let subtype = control >> 4
        guard subtype & 0x04 == 0 else { return .nonIP }                  // no data (null, QoS null, CF)
        guard flags & 0x40 == 0 else { return .nonIP }                    // protected: encrypted
        var offset = start + 24
        if flags & 0x03 == 0x03 { offset += 6 }                           // to and from DS: a fourth address
        var aggregate = false
        if subtype & 0x08 != 0 {                                          // QoS data: QoS control
            guard n >= offset + 2 else { return .truncated }
            aggregate = p[offset] & 0x80 != 0
            offset += 2
            if flags & 0x80 != 0 { offset += 4 }                          // +HTC: the HT control field
        }
        guard out.encapsulation.append(EncapsulationLayer(kind: .wlan)) else { return .malformed }
        guard aggregate else { return decodeLLC(p, offset, n, &out) }
        // A-MSDU: subframes of destination, source, length (big-endian), then the
        // MSDU, each but the last padded to a multiple of 4 bytes.
        var index = 0
        while true {
            guard n >= offset + 14 else { return index == 0 ? .truncated : .malformed }
            let length = Int(Self.be16(p, offset + 12))
            let body = offset + 14
            guard length <= n - body else { return .truncated }
            let next = body + length + (-(14 + length) & 3)
            if index == out.subframe {
                out.moreSubframes = next + 14 <= n
                return decodeLLC(p, body, body + length, &out)
            }
            index += 1
            offset = next
        }
    }

    /// An LLC/SNAP header (AA AA 03, an encapsulation OUI, the EtherType) at `start`,
    /// within `end`.
    func decodeLLC(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ out: inout DecodedPacket) -> DecodeResult {
        guard end >= start + 8 else { return .truncated }
        guard p[start] == 0xaa, p[start + 1] == 0xaa, p[start + 2] == 0x03 else { return .nonIP }
        // RFC 1042 (000000) or 802.1H bridge tunnel (0000F8) encapsulation
        guard p[start + 3] == 0, p[start + 4] == 0, p[start + 5] == 0 || p[start + 5] == 0xf8 else { return .nonIP }
        let frame = UnsafeRawBufferPointer(rebasing: p[..<end])
        return decodeEtherType(Self.be16(p, start + 6), frame, start + 8, &out)
    }
}
