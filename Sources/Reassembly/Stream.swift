/// Receives the reassembled data of one TCP connection (both directions).
///
/// For every connection the assembler calls, in order: the factory's
/// `makeStream`, then `accept` once per packet with zero or more
/// `reassembled` calls, and finally `reassemblyComplete` once both halves
/// are closed.
public protocol Stream: AnyObject {
    /// Decides whether `segment` is processed. `nextSequence` is the next
    /// expected sequence of this half (`nil` while unknown). Setting `start`
    /// to `true` makes the assembler treat this segment as the beginning of
    /// the half-stream even without a SYN.
    func accept(
        _ segment: TCPSegment,
        captureInfo: CaptureInfo,
        direction: FlowDirection,
        nextSequence: TCPSequence?,
        start: inout Bool
    ) -> Bool

    /// Delivers in-order bytes. `sg` is reused by the assembler and only valid
    /// during the call; call `sg.keepFrom(_:)` to see bytes again next time.
    /// `context` is the capture info of the packet that triggered delivery,
    /// or `nil` when that packet is unknown (a flush starting on a page that
    /// is not the first page of its packet).
    func reassembled(_ sg: ScatterGather, context: CaptureInfo?)

    /// Called once both halves are closed (FIN/RST seen, or flushed out).
    /// Return `true` to drop the connection, `false` to keep receiving its
    /// packets through `accept`.
    func reassemblyComplete(context: CaptureInfo?) -> Bool

    /// Whether the connection this packet reached is over, so that the packet
    /// starts a new one (the assembler then completes this stream first). Asked
    /// about every SYN without ACK on a connection whose halves are both open, and,
    /// when `decidesConnectionEnds`, about every packet. gopacket has no such
    /// question; the default answers keep its behaviour.
    func isNewConnection(_ segment: TCPSegment, direction: FlowDirection, context: CaptureInfo) -> Bool

    /// Whether `isNewConnection` is asked about every packet of this stream's
    /// connection (read once, when the stream is created).
    var decidesConnectionEnds: Bool { get }

    /// Hears of a segment covering bytes the half already had (see `Overlap`),
    /// before the segment's own delivery, if any. gopacket has no such call.
    func overlapped(_ overlap: Overlap)

    /// Whether `overlapped` is called for this stream's connection (read once,
    /// when the stream is created).
    var reportsOverlaps: Bool { get }
}

extension Stream {
    public func isNewConnection(_ segment: TCPSegment, direction: FlowDirection, context: CaptureInfo) -> Bool { false }
    public var decidesConnectionEnds: Bool { false }
    public func overlapped(_ overlap: Overlap) {}
    public var reportsOverlaps: Bool { false }
}

/// Creates a stream for every new connection.
public protocol StreamFactory {
    associatedtype StreamType: Stream
    mutating func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> StreamType
}

/// Memory limits of an assembler. Zero means unlimited.
public struct AssemblerOptions: Sendable, Equatable {
    /// Once the assembler as a whole has this many pages in use, every queued
    /// packet forces the oldest buffered data of its half to be delivered.
    public var maxBufferedPagesTotal: Int = 0
    /// Once a half-connection holds this many pages, the oldest buffered data
    /// is delivered (with a skip) instead of waiting for the gap to fill.
    public var maxBufferedPagesPerConnection: Int = 0

    public init(maxBufferedPagesTotal: Int = 0, maxBufferedPagesPerConnection: Int = 0) {
        self.maxBufferedPagesTotal = maxBufferedPagesTotal
        self.maxBufferedPagesPerConnection = maxBufferedPagesPerConnection
    }
}
