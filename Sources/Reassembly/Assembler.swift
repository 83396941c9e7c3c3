/// Reassembles TCP streams from individual segments.
///
/// One assembler is meant to be driven by a single thread: it has no locks.
/// An in-order segment of an established connection is delivered straight
/// from the caller's buffer; bytes are copied into pages only when they must
/// outlive the call (out-of-order data, or data a stream keeps).
public final class Assembler<Factory: StreamFactory> {
    public private(set) var factory: Factory
    let core: AssemblerCore

    public init(factory: Factory, options: AssemblerOptions = .init()) {
        self.factory = factory
        self.core = AssemblerCore(options: options)
    }

    /// Memory limits; may be changed between calls.
    public var options: AssemblerOptions {
        get { core.options }
        set { core.options = newValue }
    }

    /// Feeds one segment. `key` is the packet's own (source address,
    /// destination address, source port, destination port).
    ///
    /// Each call causes, in order: at most one `makeStream`, at most one
    /// `reassembled` and at most one `reassemblyComplete` on that stream
    /// (a reused port may first complete the connection it replaces).
    public func assemble(_ segment: TCPSegment, key: FlowKey, context: CaptureInfo) {
        let target: (connection: Connection, half: HalfConnection)
        if let existing = core.connection(for: segment, key: key, context: context) {
            target = existing
        } else {
            let stream = factory.makeStream(key: key, segment: segment, context: context)
            target = core.addConnection(key: key, stream: stream, timestamp: context.timestamp)
        }
        core.process(segment, connection: target.connection, half: target.half, context: context)
    }

    /// Pushes out buffered data older than `t` (skipping the gaps before it)
    /// and closes halves whose connection was last seen before `tc`.
    /// `nil` stands for "never" (gopacket's zero time). Returns how many
    /// halves were flushed and how many were closed.
    @discardableResult
    public func flush(olderThan t: Int64?, closeOlderThan tc: Int64?) -> (flushed: Int, closed: Int) {
        core.flush(olderThan: t ?? .min, closeOlderThan: tc ?? .min)
    }

    /// `flush(olderThan: t, closeOlderThan: t)`.
    @discardableResult
    public func flushCloseOlderThan(_ t: Int64) -> (flushed: Int, closed: Int) {
        core.flush(olderThan: t, closeOlderThan: t)
    }

    /// Delivers everything buffered and closes every connection. Returns the
    /// number of connections that were in the pool.
    @discardableResult
    public func flushAll() -> Int {
        core.flushAll()
    }

    /// Page cache figures: pages holding data, pages on the free list, and
    /// pages the cache accounts for in total (gopacket's `used`, `len(free)`, `size`).
    public var pageStatistics: (used: Int, free: Int, total: Int) {
        (core.pageCache.used, core.pageCache.freeCount, core.pageCache.size)
    }

    /// Connections currently in the pool.
    public var connectionCount: Int {
        core.pool.count
    }
}

/// The non-generic engine behind `Assembler`.
final class AssemblerCore {
    var options: AssemblerOptions
    var pageCache = PageCache()
    var pool = StreamPool()
    /// Delivery under construction; also the list of pieces gopacket calls `ret`.
    let sg = ScatterGather()
    /// The connection of the packet being processed, when its stream hears of
    /// overlaps (set and cleared around `handleBytes`, while the caller holds it).
    unowned(unsafe) var reporting: Connection?

    /// The stream that hears of the live packet's overlaps, if any.
    var reporter: (any Stream)? { reporting?.stream }

    init(options: AssemblerOptions) {
        self.options = options
    }

    /// Finds the connection of a packet. A SYN without ACK reaching a
    /// connection with a closed half retires that connection (port reuse), so
    /// that the caller creates a new one; so does a packet the connection's
    /// stream says starts a new connection.
    func connection(for segment: TCPSegment, key: FlowKey, context: CaptureInfo) -> (connection: Connection, half: HalfConnection)? {
        guard let found = pool.lookup(key) else { return nil }
        let flags = segment.flags
        let attempt = flags.contains(.syn) && !flags.contains(.ack)
        let connection = found.connection
        if (attempt && connection.anyClosed)
            || ((attempt || connection.asksStream)
                && connection.stream.isNewConnection(segment, direction: found.half.direction, context: context)) {
            retire(connection)
            return nil
        }
        return found
    }

    func addConnection(key: FlowKey, stream: any Stream, timestamp: Int64) -> (connection: Connection, half: HalfConnection) {
        let connection = Connection(key: key, stream: stream, timestamp: timestamp)
        pool.insert(connection)
        return (connection, connection.clientToServer)
    }

    /// Ends a connection for port reuse: flushes it as `flushAll` would
    /// (completing the stream when its last half closes) and drops it from the pool.
    private func retire(_ connection: Connection) {
        flushCompletely(connection)
        pool.remove(connection)
    }

    func process(_ segment: TCPSegment, connection: Connection, half: HalfConnection, context: CaptureInfo) {
        sg.chunks.removeAll(keepingCapacity: true)
        if half.lastSeen < context.timestamp {
            half.lastSeen = context.timestamp
        }
        let flags = segment.flags
        let syn = flags.contains(.syn)
        var start = half.nextSeq == nil && syn
        guard connection.stream.accept(segment, captureInfo: context, direction: half.direction,
                                       nextSequence: half.nextSeq, start: &start) else { return }
        guard !half.closed else { return }

        var seq = TCPSequence(segment.sequence)
        // a SYN's payload starts one after its sequence number (the engine adjusts
        // only the first SYN's, as gopacket does; reports say where the bytes are)
        var payloadStart = syn && half.nextSeq != nil ? seq.adding(1) : seq
        if flags.contains(.ack) {
            half.ackSeq = TCPSequence(segment.acknowledgment)
        }
        var queue = true
        if let expected = half.nextSeq {
            queue = expected.difference(to: seq) > 0
        } else if syn {
            // The SYN occupies one sequence number; its payload starts after it.
            seq = seq.adding(1)
            payloadStart = seq
            half.nextSeq = seq
            queue = false
        } else if start {
            half.nextSeq = seq
            queue = false
        }

        reporting = connection.reportsOverlaps ? connection : nil
        handleBytes(segment.payload, seq: seq, payloadStart: payloadStart, half: half, start: syn,
                    end: flags.contains(.rst) || flags.contains(.fin), queue: queue, context: context)
        reporting = nil
        guard !sg.chunks.isEmpty else { return }
        let next = sendToConnection(connection, half: half, context: context)
        // The FIN occupies a sequence number only when it was delivered. gopacket
        // also adds it when the FIN packet was queued and a page limit forced out
        // older data, which trims one byte of what follows (a deliberate deviation).
        half.nextSeq = flags.contains(.fin) && !queue ? next.adding(1) : next
    }

    /// Queues the live packet, or stages it for immediate delivery.
    private func handleBytes(_ payload: UnsafeRawBufferPointer, seq: TCPSequence, payloadStart: TCPSequence, half: HalfConnection,
                             start: Bool, end: Bool, queue: Bool, context: CaptureInfo) {
        sg.live = LiveSegment(bytes: payload, seq: seq, start: start, end: end, captureInfo: context,
                              segmentStart: payloadStart, segmentCount: payload.count)
        if queue {
            resolveOverlaps(half, queue: true)
            let perConnection = options.maxBufferedPagesPerConnection
            let total = options.maxBufferedPagesTotal
            if (perConnection > 0 && half.pages >= perConnection) || (total > 0 && pageCache.used >= total) {
                popFirstQueued(half)
            }
        } else {
            trimAlreadyDelivered(half)
            resolveOverlaps(half, queue: false)
            if !sg.live.bytes.isEmpty || end || start {
                sg.chunks.append(.live)
            }
        }
    }
}
