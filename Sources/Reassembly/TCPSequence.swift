/// A 32-bit TCP sequence number with wrap-around aware arithmetic.
///
/// `difference(to:)` follows gopacket 1.1.19's wrap rule (a value in the last
/// quarter of the 32-bit space comes before a value in the first quarter) with
/// one deliberate deviation: the correction added across the wrap is 2^32.
/// gopacket adds `0xFFFF_FFFF`, so its distances across the wrap are one short,
/// which repeats a delivered byte on retransmissions and under-reports gaps that
/// straddle the wrap (docs/gopacket.md, "Known deviations from gopacket").
@frozen
public struct TCPSequence: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The raw 32-bit value carried in the TCP header.
    public var rawValue: UInt32

    @inlinable
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    @inlinable
    public init(integerLiteral value: UInt32) { self.rawValue = value }

    /// Signed distance from `self` to `other`: positive when `other` comes after `self`.
    @inlinable
    public func difference(to other: TCPSequence) -> Int {
        let quarter: Int64 = 0x3FFF_FFFF
        let lastQuarter: Int64 = 0xFFFF_FFFF - quarter
        var from = Int64(rawValue)
        var to = Int64(other.rawValue)
        if from > lastQuarter && to < quarter {
            to += 0x1_0000_0000
        } else if to > lastQuarter && from < quarter {
            from += 0x1_0000_0000
        }
        return Int(to - from)
    }

    /// The sequence `n` bytes further (or back, for negative `n`), modulo 2^32.
    @inlinable
    public func adding(_ n: Int) -> TCPSequence {
        TCPSequence(UInt32(truncatingIfNeeded: Int64(rawValue) &+ Int64(truncatingIfNeeded: n)))
    }

    /// Orders by raw numeric value, like comparing gopacket's `Sequence` with `<`.
    /// This is not wrap-aware; use `difference(to:)` to order positions in a stream.
    @inlinable
    public static func < (lhs: TCPSequence, rhs: TCPSequence) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
