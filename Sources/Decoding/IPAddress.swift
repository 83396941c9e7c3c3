/// An IPv4 or IPv6 address held in two integers, so it is hashed, compared and
/// copied without allocation. IPv4 lives in the low 32 bits of `low`.
public struct IPAddress: Hashable, Sendable, Comparable {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    @inlinable
    public init(high: UInt64, low: UInt64, isIPv6: Bool) {
        self.high = high
        self.low = low
        self.isIPv6 = isIPv6
    }

    @inlinable
    public init(ipv4: UInt32) {
        self.init(high: 0, low: UInt64(ipv4), isIPv6: false)
    }

    /// The IPv4 address as a host-order integer (meaningful only when `!isIPv6`).
    @inlinable
    public var ipv4: UInt32 { UInt32(truncatingIfNeeded: low) }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.isIPv6 ? 1 : 0, a.high, a.low) < (b.isIPv6 ? 1 : 0, b.high, b.low)
    }

    /// The address as 16 network-order bytes, IPv4 in its IPv4-mapped form
    /// (`::ffff:a.b.c.d`): a key that sorts and range-matches for CIDR queries.
    public var bytes16: [UInt8] { withBytes16 { Array($0) } }

    /// The address as it is on the wire: 4 bytes for IPv4, 16 for IPv6.
    public var wireBytes: [UInt8] { isIPv6 ? bytes16 : Array(bytes16.suffix(4)) }

    /// Calls `body` with `bytes16`, built on the stack.
    @inlinable
    public func withBytes16<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var key = ((isIPv6 ? high : 0).bigEndian, (isIPv6 ? low : 0xffff_0000_0000 | low).bigEndian)
        return try withUnsafeBytes(of: &key) { try body($0) }
    }

    /// The eight 16-bit groups of an IPv6 address.
    var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6 (lowercase, the
    /// longest run of two or more zero groups shortened to `::`, the first on a tie,
    /// IPv4-mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        if !isIPv6 { return Self.dottedQuad(ipv4) }
        if high == 0 && low >> 32 == 0xffff {
            return "::ffff:" + Self.dottedQuad(UInt32(truncatingIfNeeded: low))
        }
        let g = groups
        var bestStart = -1, bestLength = 1
        var i = 0
        while i < 8 {
            guard g[i] == 0 else { i += 1; continue }
            var j = i
            while j < 8 && g[j] == 0 { j += 1 }
            if j - i > bestLength { bestStart = i; bestLength = j - i }
            i = j
        }
        func hex(_ range: Range<Int>) -> String {
            range.map { String(g[$0], radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// Written digit by digit: archives format one per flow endpoint.
    static func dottedQuad(_ v: UInt32) -> String {
        String(unsafeUninitializedCapacity: 15) { out in
            var n = 0
            for shift in [24, 16, 8, 0] as [UInt32] {
                let octet = Int((v >> shift) & 0xff)
                if shift != 24 { out[n] = UInt8(ascii: "."); n += 1 }
                if octet >= 100 { out[n] = UInt8(48 + octet / 100); n += 1 }
                if octet >= 10 { out[n] = UInt8(48 + octet / 10 % 10); n += 1 }
                out[n] = UInt8(48 + octet % 10); n += 1
            }
            return n
        }
    }
}

extension IPAddress {
    /// Parses a dotted quad or any RFC 4291 text form of an IPv6 address
    /// (with `::` and an embedded dotted quad). Returns nil for anything else.
    public init?(_ text: some StringProtocol) {
        if !text.contains(":") {
            guard let v4 = Self.parseDottedQuad(Substring(text)) else { return nil }
            self.init(ipv4: v4)
            return
        }
        guard let groups = Self.parseIPv6Groups(Substring(text)) else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, g) in groups.enumerated() {
            if i < 4 { high = high << 16 | UInt64(g) } else { low = low << 16 | UInt64(g) }
        }
        self.init(high: high, low: low, isIPv6: true)
    }

    static func parseDottedQuad(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for p in parts {
            guard (1...3).contains(p.count), p.allSatisfy(\.isASCII), let n = UInt32(p), n <= 255 else { return nil }
            value = value << 8 | n
        }
        return value
    }

    static func parseIPv6Groups(_ s: Substring) -> [UInt16]? {
        func parseSide(_ side: Substring) -> [UInt16]? {
            if side.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = side.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, p.contains(".") {
                    guard let v4 = parseDottedQuad(p) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                } else {
                    guard (1...4).contains(p.count), p.allSatisfy(\.isHexDigit), let g = UInt16(p, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        let gaps = s.ranges(of: "::")
        switch gaps.count {
        case 0:
            guard let all = parseSide(s), all.count == 8 else { return nil }
            return all
        case 1:
            guard let head = parseSide(s[..<gaps[0].lowerBound]), let tail = parseSide(s[gaps[0].upperBound...]),
                  head.count + tail.count <= 7 else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
    }
}
