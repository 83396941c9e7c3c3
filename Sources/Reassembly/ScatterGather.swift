/// Figures describing one delivery and the half-connection it came from.
public struct ReassemblyStats: Sendable, Equatable {
    /// Pieces in this delivery (the live packet and/or pages).
    public var chunks: Int
    /// Pieces of this delivery that begin a packet.
    public var packets: Int
    /// Bytes queued out of order on this half since its previous delivery.
    public var queuedBytes: Int
    /// Packets queued out of order on this half since its previous delivery.
    public var queuedPackets: Int
    /// Bytes dropped as overlaps on this half since its previous delivery.
    public var overlapBytes: Int
    /// Packets involved in overlaps on this half since its previous delivery.
    public var overlapPackets: Int

    public init(chunks: Int = 0, packets: Int = 0, queuedBytes: Int = 0, queuedPackets: Int = 0,
                overlapBytes: Int = 0, overlapPackets: Int = 0) {
        self.chunks = chunks
        self.packets = packets
        self.queuedBytes = queuedBytes
        self.queuedPackets = queuedPackets
        self.overlapBytes = overlapBytes
        self.overlapPackets = overlapPackets
    }
}

/// The packet currently being assembled; its bytes borrow the caller's buffer.
struct LiveSegment {
    var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    var seq = TCPSequence(0)
    var start = false
    var end = false
    var captureInfo = CaptureInfo()
    /// The segment as it arrived, before any trimming: first sequence number and length.
    var segmentStart = TCPSequence(0)
    var segmentCount = 0
}

/// One piece of a delivery: the live packet or a buffered page.
enum Chunk {
    case live
    case page(Page)
}

/// In-order data handed to `Stream.reassembled`: pages kept from earlier
/// deliveries, then the live packet and/or buffered pages, in stream order.
///
/// The object is owned and reused by the assembler; it is only valid during
/// the `reassembled` call. Reading it never allocates except `fetch(_:)`.
public final class ScatterGather {
    var chunks: [Chunk] = []
    var live = LiveSegment()
    var direction = FlowDirection.clientToServer
    var skip = 0
    var saved = 0
    var toKeep = -1
    var queuedBytes = 0
    var queuedPackets = 0
    var overlapBytes = 0
    var overlapPackets = 0

    init() {
        chunks.reserveCapacity(16)
    }

    func bytes(of chunk: Chunk) -> UnsafeRawBufferPointer {
        switch chunk {
        case .live: return live.bytes
        case .page(let page): return page.bytes
        }
    }

    func length(of chunk: Chunk) -> Int {
        switch chunk {
        case .live: return live.bytes.count
        case .page(let page): return page.count
        }
    }

    func seq(of chunk: Chunk) -> TCPSequence {
        switch chunk {
        case .live: return live.seq
        case .page(let page): return page.seq
        }
    }

    func isEnd(_ chunk: Chunk) -> Bool {
        switch chunk {
        case .live: return live.end
        case .page(let page): return page.end
        }
    }

    /// Bytes available in this delivery, and how many of them are at the
    /// front because an earlier `keepFrom` asked to see them again.
    public func lengths() -> (available: Int, saved: Int) {
        var total = 0
        var index = 0
        while index < chunks.count {
            total += length(of: chunks[index])
            index += 1
        }
        return (total, saved)
    }

    /// Copies out the first `length` bytes (clamped to what is available).
    public func fetch(_ length: Int) -> [UInt8] {
        var result: [UInt8] = []
        guard length > 0 else { return result }
        result.reserveCapacity(length)
        for chunk in chunks where result.count < length {
            let piece = bytes(of: chunk)
            result.append(contentsOf: piece.prefix(length - result.count))
        }
        return result
    }

    /// Visits the delivered pieces in stream order without copying. Pieces may
    /// be empty (e.g. a bare SYN or FIN).
    public func forEachChunk<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        // Index loop: iterating the array generically allocates in unoptimised builds.
        var index = 0
        while index < chunks.count {
            try body(bytes(of: chunks[index]))
            index += 1
        }
    }

    /// Asks the assembler to deliver the bytes from `offset` on again, in front
    /// of the next delivery of this half.
    public func keepFrom(_ offset: Int) {
        toKeep = offset
    }

    /// Capture info of the packet that carried the byte at `offset`; a zero
    /// value when `offset` is outside the delivered bytes. Unlike gopacket,
    /// every byte of a packet split over several pages answers its packet.
    public func captureInfo(at offset: Int) -> CaptureInfo {
        guard offset >= 0 else { return CaptureInfo() }
        var position = 0
        var index = 0
        while index < chunks.count {
            let chunk = chunks[index]
            let count = length(of: chunk)
            if position + count > offset {
                switch chunk {
                case .live: return live.captureInfo
                case .page(let page): return page.captureInfo
                }
            }
            position += count
            index += 1
        }
        return CaptureInfo()
    }

    /// Direction of the half, whether the delivery starts with a SYN packet,
    /// ends with a FIN/RST packet, and the number of bytes skipped before it
    /// (-1 when the start of the half is unknown).
    public var info: (direction: FlowDirection, start: Bool, end: Bool, skip: Int) {
        // Direct indexing: `first`/`last` allocate in unoptimised builds.
        let count = chunks.count
        var start = false
        if count > 0, case .live = chunks[0] {
            start = live.start
        }
        let end = count > 0 && isEnd(chunks[count - 1])
        return (direction, start, end, skip)
    }

    /// Statistics of this delivery and of its half since the previous one.
    public var stats: ReassemblyStats {
        var packets = 0
        var index = 0
        while index < chunks.count {
            switch chunks[index] {
            case .live: packets += 1
            case .page(let page): if page.isPacketHead { packets += 1 }
            }
            index += 1
        }
        return ReassemblyStats(chunks: chunks.count, packets: packets,
                               queuedBytes: queuedBytes, queuedPackets: queuedPackets,
                               overlapBytes: overlapBytes, overlapPackets: overlapPackets)
    }
}
