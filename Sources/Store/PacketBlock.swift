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
struct PacketBlockBuilder {
    /// The JSON text so far, without the closing bracket; empty when no packet is pending.
    private(set) var text: [UInt8] = []
    private(set) var packets = 0
    private(set) var captureID: Int64 = 0
    private(set) var firstIndex = 0
    private(set) var lastIndex = 0
    private var previousIndex = 0
    private var previousOffset: Int64 = 0

    var isEmpty: Bool { packets == 0 }

    /// Whether a packet of `captureID` can join the pending block.
    @inline(__always)
    func accepts(captureID: Int64, limit: Int) -> Bool {
        packets == 0 || (self.captureID == captureID && packets < limit)
    }

    /// Appends one record (the caller checked `accepts` and took the full block first).
    @inline(__always)
    mutating func append(captureID: Int64, index: Int, offset: Int64) {
        if packets == 0 {
            self.captureID = captureID
            firstIndex = index
            lastIndex = index
            text.append(UInt8(ascii: "["))
            pair(Int64(index), offset)
        } else {
            text.append(UInt8(ascii: ","))
            pair(Int64(index &- previousIndex), offset &- previousOffset)
            if index > lastIndex { lastIndex = index }
            if index < firstIndex { firstIndex = index }
        }
        previousIndex = index
        previousOffset = offset
        packets += 1
    }

    /// The finished block's text, leaving the builder empty for the next block.
    mutating func take() -> [UInt8] {
        text.append(UInt8(ascii: "]"))
        var taken: [UInt8] = []
        swap(&taken, &text)
        packets = 0
        return taken
    }

    @inline(__always)
    private mutating func pair(_ a: Int64, _ b: Int64) {
        text.append(UInt8(ascii: "["))
        decimal(a)
        text.append(UInt8(ascii: ","))
        decimal(b)
        text.append(UInt8(ascii: "]"))
    }

    @inline(__always)
    private mutating func decimal(_ value: Int64) {
        if value >= 0 && value < 10 {
            text.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        if value < 0 { text.append(UInt8(ascii: "-")) }
        var u = value.magnitude
        let digits = DeliveryBlockText.decimalDigits(u)
        let end = text.count + digits
        text.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var i = end
        text.withUnsafeMutableBufferPointer { b in
            while u >= 10 {
                let q = u / 10
                i -= 1
                b[i] = UInt8(truncatingIfNeeded: u &- q &* 10) &+ 48
                u = q
            }
            b[i - 1] = UInt8(truncatingIfNeeded: u) &+ 48
        }
    }
}
