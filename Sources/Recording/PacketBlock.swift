/// Where a flow's packets lie in their capture files, gathered for `packet_block`
/// rows (schema/0006_packets.sql).
///
/// A block is the JSON text `[[index, offset], [Δindex, Δoffset], …]`: the first
/// pair holds the record's index and byte offset in its capture, each later pair
/// the difference from the pair before it. Packets of one flow sit close together
/// in a capture, so most pairs take a few characters (`[1,1514]`), and the
/// running sums the `packet` view computes give the absolute values back.
///
/// One block holds packets of one capture file; a flow that continues in the next
/// file of a rotation starts a new block there.
///
/// Every packet of every flow passes here, so the text is written with raw
/// stores into a buffer the builder owns (allocated at the first packet, doubled
/// when full, reused after each block): no allocation per packet. The owner calls
/// `deallocate()` once it is done with it.
struct PacketBlockBuilder {
    private var bytes: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    /// Bytes of text so far, without the closing bracket; 0 when no packet is pending.
    private(set) var count = 0
    private(set) var packets = 0
    private(set) var captureID: Int64 = 0
    private(set) var firstIndex = 0
    private(set) var lastIndex = 0
    private var previousIndex = 0
    private var previousOffset: Int64 = 0

    /// The longest pair: two 20-digit numbers with signs, brackets and commas.
    private static let maxPair = 2 * 21 + 4

    var isEmpty: Bool { packets == 0 }

    /// Whether a packet of `captureID` can join the pending block.
    @inline(__always)
    func accepts(captureID: Int64, limit: Int) -> Bool {
        packets == 0 || (self.captureID == captureID && packets < limit)
    }

    /// Appends one record (the caller checked `accepts` and took the full block first).
    @inline(__always)
    mutating func append(captureID: Int64, index: Int, offset: Int64) {
        if count + Self.maxPair + 1 > capacity { grow() }
        if packets == 0 {
            self.captureID = captureID
            firstIndex = index
            lastIndex = index
            put(UInt8(ascii: "["))
            pair(Int64(index), offset)
        } else {
            put(UInt8(ascii: ","))
            pair(Int64(index &- previousIndex), offset &- previousOffset)
            if index > lastIndex { lastIndex = index }
            if index < firstIndex { firstIndex = index }
        }
        previousIndex = index
        previousOffset = offset
        packets += 1
    }

    /// The pending block's text so far (closed), without emptying the builder.
    func text() -> [UInt8] {
        var out: [UInt8] = []
        appendText(to: &out)
        return out
    }

    /// Appends the pending block's text so far (closed) to `out`.
    func appendText(to out: inout [UInt8]) {
        guard let bytes, packets > 0 else { return }
        bytes[count] = UInt8(ascii: "]")      // count < capacity: append leaves room
        out.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count + 1))
    }

    /// The finished block's text, leaving the builder empty for the next block
    /// (its buffer is kept).
    mutating func take() -> [UInt8] {
        let finished = text()
        count = 0
        packets = 0
        return finished
    }

    /// The size of the first buffer: a short connection's positions fit in it.
    static let initialCapacity = 256

    /// Whether the builder has no buffer yet.
    var needsBuffer: Bool { bytes == nil }

    /// Takes a first buffer of `initialCapacity` bytes.
    mutating func adopt(_ buffer: UnsafeMutablePointer<UInt8>) {
        bytes = buffer
        capacity = Self.initialCapacity
        count = 0
    }

    /// Gives up its buffer when it is a first buffer (`initialCapacity` bytes).
    mutating func releaseBuffer() -> UnsafeMutablePointer<UInt8>? {
        guard capacity == Self.initialCapacity, let buffer = bytes else { return nil }
        bytes = nil
        capacity = 0
        count = 0
        packets = 0
        return buffer
    }

    /// Frees the buffer.
    mutating func deallocate() {
        bytes?.deallocate()
        bytes = nil
        capacity = 0
        count = 0
        packets = 0
    }

    private mutating func grow() {
        let grown = max(Self.initialCapacity, capacity * 2)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        if let bytes {
            new.update(from: bytes, count: count)
            bytes.deallocate()
        }
        bytes = new
        capacity = grown
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        bytes.unsafelyUnwrapped[count] = byte
        count &+= 1
    }

    @inline(__always)
    private mutating func pair(_ a: Int64, _ b: Int64) {
        put(UInt8(ascii: "["))
        decimal(a)
        put(UInt8(ascii: ","))
        decimal(b)
        put(UInt8(ascii: "]"))
    }

    @inline(__always)
    private mutating func decimal(_ value: Int64) {
        if value >= 0 && value < 10 {
            put(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        if value < 0 { put(UInt8(ascii: "-")) }
        var u = value.magnitude
        let digits = DeliveryBlockText.decimalDigits(u)
        let b = bytes.unsafelyUnwrapped
        var i = count &+ digits
        while u >= 10 {
            let q = u / 10
            i &-= 1
            b[i] = UInt8(truncatingIfNeeded: u &- q &* 10) &+ 48
            u = q
        }
        b[i &- 1] = UInt8(truncatingIfNeeded: u) &+ 48
        count &+= digits
    }
}

/// First buffers of packet blocks, handed from connections that ended to new
/// ones: 100,000 short connections would otherwise each allocate one and free it,
/// a cost malloc showed in profiles (its free lists). Used on the reassembly
/// thread only; holds at most `limit` buffers.
final class BufferPool {
    private var spare: [UnsafeMutablePointer<UInt8>] = []
    private let limit = 65536

    deinit {
        for b in spare { b.deallocate() }
    }

    @inline(__always)
    func take() -> UnsafeMutablePointer<UInt8> {
        spare.popLast() ?? .allocate(capacity: PacketBlockBuilder.initialCapacity)
    }

    func put(_ buffer: UnsafeMutablePointer<UInt8>) {
        if spare.count < limit { spare.append(buffer) } else { buffer.deallocate() }
    }
}
