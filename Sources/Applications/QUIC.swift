/// QUIC's Initial packets as they travel (RFC 9000 17.2.2; version 2, RFC 9369,
/// numbers its long-header types differently), and the frames of their decrypted
/// payload. Removing the protection needs keys and ciphers, which the caller
/// brings; everything here is bounded by the bytes given.
public enum QUIC {
    /// An Initial packet's header up to its (still protected) packet number.
    public struct InitialHeader: Sendable, Equatable {
        public var version: UInt32
        public var destinationID: [UInt8]
        public var sourceID: [UInt8]
        /// Where the packet number begins, and where the packet ends (a datagram
        /// may hold several packets), in the datagram's bytes.
        public var packetNumberOffset: Int
        public var end: Int
    }

    /// The Initial packet at `start` of a datagram, if one is there: a long header
    /// (its top two bits set), version 1 or 2, the Initial type of that version,
    /// connection ids of at most 20 bytes, and a length within the datagram.
    public static func initialHeader(_ b: UnsafeRawBufferPointer, at start: Int = 0) -> InitialHeader? {
        guard b.count >= start + 7, b[start] & 0xc0 == 0xc0 else { return nil }
        let version = UInt32(b[start + 1]) << 24 | UInt32(b[start + 2]) << 16 | UInt32(b[start + 3]) << 8 | UInt32(b[start + 4])
        let type = (b[start] >> 4) & 0x03
        switch version {
        case 0x0000_0001: guard type == 0 else { return nil }
        case 0x6b33_43cf: guard type == 1 else { return nil }
        default: return nil
        }
        var i = start + 5
        let dcidLength = Int(b[i])
        guard dcidLength <= 20, i + 1 + dcidLength < b.count else { return nil }
        let dcid = Array(UnsafeRawBufferPointer(rebasing: b[(i + 1)..<(i + 1 + dcidLength)]))
        i += 1 + dcidLength
        let scidLength = Int(b[i])
        guard scidLength <= 20, i + 1 + scidLength <= b.count else { return nil }
        let scid = Array(UnsafeRawBufferPointer(rebasing: b[(i + 1)..<(i + 1 + scidLength)]))
        i += 1 + scidLength
        guard let tokenLength = varint(b, &i), tokenLength <= UInt64(b.count - i) else { return nil }
        i += Int(tokenLength)
        guard let length = varint(b, &i), length >= 20, length <= UInt64(b.count - i) else { return nil }
        return InitialHeader(version: version, destinationID: dcid, sourceID: scid, packetNumberOffset: i, end: i + Int(length))
    }

    /// A variable-length integer (RFC 9000 16) at `i`, which it moves past it.
    public static func varint(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> UInt64? {
        guard i < b.count else { return nil }
        let length = 1 << Int(b[i] >> 6)
        guard i + length <= b.count else { return nil }
        var v = UInt64(b[i] & 0x3f)
        for k in 1..<length { v = v << 8 | UInt64(b[i + k]) }
        i += length
        return v
    }

    /// The CRYPTO frames of a decrypted Initial payload, as (stream offset, bytes),
    /// past the PADDING, PING and ACK frames an Initial may also carry; nil when a
    /// frame is malformed or of a type an Initial cannot hold.
    public static func cryptoFrames(_ plaintext: [UInt8]) -> [(offset: Int, data: [UInt8])]? {
        plaintext.withUnsafeBytes { b -> [(offset: Int, data: [UInt8])]? in
            var frames: [(offset: Int, data: [UInt8])] = []
            var i = 0
            while i < b.count {
                guard let type = varint(b, &i) else { return nil }
                switch type {
                case 0x00, 0x01:                       // PADDING, PING
                    continue
                case 0x02, 0x03:                       // ACK: largest, delay, range count, first range, ranges (and ECN counts)
                    guard varint(b, &i) != nil, varint(b, &i) != nil, let ranges = varint(b, &i), ranges < 4096,
                          varint(b, &i) != nil else { return nil }
                    for _ in 0..<ranges { guard varint(b, &i) != nil, varint(b, &i) != nil else { return nil } }
                    if type == 0x03 { for _ in 0..<3 { guard varint(b, &i) != nil else { return nil } } }
                case 0x06:                             // CRYPTO: offset, length, data
                    guard let offset = varint(b, &i), let length = varint(b, &i), offset < 1 << 20,
                          length <= UInt64(b.count - i) else { return nil }
                    frames.append((Int(offset), Array(UnsafeRawBufferPointer(rebasing: b[i..<(i + Int(length))]))))
                    i += Int(length)
                case 0x1c:                             // CONNECTION_CLOSE: code, frame type, reason
                    guard varint(b, &i) != nil, varint(b, &i) != nil, let length = varint(b, &i),
                          length <= UInt64(b.count - i) else { return nil }
                    i += Int(length)
                default:
                    return nil
                }
            }
            return frames
        }
    }

    /// The first handshake message of a CRYPTO stream, once it is whole and of
    /// `type` (1: ClientHello, 2: ServerHello); nil while it is not.
    public static func handshakeMessage(_ type: UInt8, in frames: [(offset: Int, data: [UInt8])], limit: Int = 1 << 16) -> [UInt8]? {
        let stream = contiguous(frames, limit: limit)
        guard stream.count >= 4, stream[0] == type else { return nil }
        let needed = 4 + (Int(stream[1]) << 16 | Int(stream[2]) << 8 | Int(stream[3]))
        return stream.count >= needed ? Array(stream[0..<needed]) : nil
    }

    /// The bytes of a CRYPTO stream from its start, as far as they are contiguous.
    public static func contiguous(_ frames: [(offset: Int, data: [UInt8])], limit: Int = 1 << 16) -> [UInt8] {
        var out: [UInt8] = []
        var progressed = true
        while progressed && out.count < limit {
            progressed = false
            for f in frames where f.offset <= out.count && f.offset + f.data.count > out.count {
                out += f.data[(out.count - f.offset)...]
                progressed = true
            }
        }
        return Array(out.prefix(limit))
    }
}
