#if canImport(Glibc)
import Glibc
#endif

/// The JSON text of a `delivery_block` row's records (schema/0003_delivery_blocks.sql):
/// `[[id, dir, …], …]`, one inner array per delivery, in call order.
///
/// An ingest writes hundreds of thousands of deliveries per second, so the text is
/// built with raw writes into one growing buffer: no String, no allocation per record.
final class DeliveryBlockText {
    private var bytes: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    /// Deliveries appended so far.
    private(set) var records = 0

    /// The longest record: 18 values of at most 20 characters and a sign, their
    /// commas, its brackets and the comma before it.
    private static let maxRecord = 18 * 22 + 3

    init(capacity: Int = 512) {
        self.capacity = max(capacity, Self.maxRecord + 1)
        bytes = .allocate(capacity: self.capacity)
        bytes[0] = UInt8(ascii: "[")
        count = 1
    }

    deinit { bytes.deallocate() }

    /// Empties the text for the next block, keeping the buffer.
    func reset() {
        count = 1
        records = 0
    }

    /// Appends one delivery's values, in the column order of the `delivery` view
    /// after flow_id; nil is written as JSON null.
    func append(id: Int64, dir: Int, isStart: Bool, isEnd: Bool, skip: Int, length: Int, stored: Int,
                payloadID: Int64?, payloadOffset: Int?, streamOffset: Int64, tsFirst: Int64?, tsLast: Int64?,
                packets: Int, chunks: Int, queuedBytes: Int, queuedPackets: Int, overlapBytes: Int, overlapPackets: Int) {
        reserve(Self.maxRecord)
        if records > 0 { put(UInt8(ascii: ",")) }
        put(UInt8(ascii: "["))
        number(id); comma()
        number(Int64(dir)); comma()
        put(isStart ? UInt8(ascii: "1") : UInt8(ascii: "0")); comma()
        put(isEnd ? UInt8(ascii: "1") : UInt8(ascii: "0")); comma()
        number(Int64(skip)); comma()
        number(Int64(length)); comma()
        number(Int64(stored)); comma()
        optional(payloadID); comma()
        optional(payloadOffset.map(Int64.init)); comma()
        number(streamOffset); comma()
        optional(tsFirst); comma()
        optional(tsLast); comma()
        number(Int64(packets)); comma()
        number(Int64(chunks)); comma()
        number(Int64(queuedBytes)); comma()
        number(Int64(queuedPackets)); comma()
        number(Int64(overlapBytes)); comma()
        number(Int64(overlapPackets))
        put(UInt8(ascii: "]"))
        records += 1
    }

    /// The finished text, valid until the next append; the closing bracket is added here.
    func withText<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        reserve(1)
        bytes[count] = UInt8(ascii: "]")
        return try body(UnsafeRawBufferPointer(start: bytes, count: count + 1))
    }

    private func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        let grown = max(capacity * 2, count + n)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        new.update(from: bytes, count: count)
        bytes.deallocate()
        bytes = new
        capacity = grown
    }

    @inline(__always) private func put(_ byte: UInt8) {
        bytes[count] = byte
        count += 1
    }

    @inline(__always) private func comma() { put(UInt8(ascii: ",")) }

    @inline(__always) private func optional(_ value: Int64?) {
        if let value {
            number(value)
        } else {
            (bytes + count).update(from: Self.null, count: 4)
            count += 4
        }
    }

    private static let null: [UInt8] = Array("null".utf8)

    /// Decimal digits of `value`, written back to front into their final place.
    @inline(__always) private func number(_ value: Int64) {
        if value >= 0 && value < 10 {
            put(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        if value < 0 { put(UInt8(ascii: "-")) }
        var u = value.magnitude
        let digits = Self.decimalDigits(u)
        var i = count + digits
        while u >= 10 {
            let q = u / 10
            i -= 1
            bytes[i] = UInt8(truncatingIfNeeded: u &- q &* 10) &+ 48
            u = q
        }
        bytes[i - 1] = UInt8(truncatingIfNeeded: u) &+ 48
        count += digits
    }

    /// How many decimal digits `u` (> 0) has.
    @inline(__always) static func decimalDigits(_ u: UInt64) -> Int {
        // floor(log10(2^bits)) is bits * 1233 >> 12; one comparison settles the rest.
        let bits = 64 - u.leadingZeroBitCount
        let guess = (bits &* 1233) >> 12
        return guess < 20 && u >= powersOfTen[guess] ? guess + 1 : guess
    }

    private static let powersOfTen: [UInt64] = (0..<20).map { (0..<$0).reduce(UInt64(1)) { p, _ in p * 10 } }
}
