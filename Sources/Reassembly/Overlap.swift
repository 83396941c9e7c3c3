extension UnsafeRawBufferPointer {
    /// Whether two buffers hold the same bytes: eight at a time (overlaps of real
    /// traffic run to hundreds of megabytes, all of them compared).
    @inlinable
    public func sameBytes(as other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        guard count > 0, let a = baseAddress, let b = other.baseAddress else { return true }
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }
}

/// A segment's bytes covering bytes the assembler already had for that half:
/// delivered to the stream, or queued out of order. Streams that ask for them
/// (`Stream.reportsOverlaps`) hear of every overlap on delivered bytes, whose
/// earlier copy the assembler no longer holds, and of every overlap on queued
/// bytes whose two copies differ. Reporting changes nothing in what is delivered.
public struct Overlap {
    /// Where the earlier copy was when the later one arrived.
    public enum Earlier: Sendable, Equatable {
        case delivered, queued
    }

    public var direction: FlowDirection
    public var earlier: Earlier
    /// The half's next expected sequence number when the later copy arrived;
    /// positions below are stream positions relative to it.
    public var nextExpected: TCPSequence
    /// Sequence number of the first overlapping byte.
    public var start: TCPSequence
    /// The later copy's bytes over the overlap (borrowed: valid during the call only).
    public var laterBytes: UnsafeRawBufferPointer
    /// The earlier copy's bytes over the overlap; empty when it was delivered.
    public var earlierBytes: UnsafeRawBufferPointer
    /// The packets that carried the two copies (the earlier one's is a zero value
    /// when it was delivered).
    public var earlierInfo: CaptureInfo
    public var laterInfo: CaptureInfo
    /// The whole segments the two copies came from: first sequence number and length
    /// (the earlier one's is zero-length when it was delivered).
    public var earlierSegment: (start: TCPSequence, count: Int)
    public var laterSegment: (start: TCPSequence, count: Int)
    /// Whether the assembler keeps the later copy: it does for queued bytes
    /// (gopacket overwrites them), never for delivered ones.
    public var laterKept: Bool
}
