import Testing
@testable import Reassembly

/// Huge out-of-order windows, and whether buffered pages come back after flushes and closes.
extension HostileTCPTests {
    // MARK: - A 2^30-byte out-of-order window

    /// 20,000 segments of 1,000 bytes starting 2^30 bytes past the next expected
    /// sequence, every 50th missing: without a limit, everything would wait for the
    /// 1 GiB hole. With a page limit the engine delivers the oldest buffered page
    /// once the limit is reached, skipping the hole before it.
    @Test(arguments: [AssemblerOptions(maxBufferedPagesPerConnection: 64), AssemblerOptions(maxBufferedPagesTotal: 1000)])
    func hugeOutOfOrderWindowStaysWithinPageLimit(options: AssemblerOptions) {
        let window = 1 << 30, segments = 20_000, size = 1000
        let limit = max(options.maxBufferedPagesPerConnection, options.maxBufferedPagesTotal)
        let (assembler, stream) = Self.makeAssembler(options)
        stream.keepLog = true
        let key = Self.key(3)
        let isn: UInt32 = 1_000
        var maxUsed = 0
        var sent = 0
        assembler.assemble(TCPSegment(sequence: isn, flags: .syn), key: key, context: CaptureInfo())
        for k in 0..<segments where k % 50 != 49 {
            let offset = window + k * size
            let payload = Self.data(offset..<(offset + size))
            payload.withUnsafeBytes { bytes in
                assembler.assemble(TCPSegment(sequence: isn &+ 1 &+ UInt32(offset), flags: .ack, payload: bytes),
                                   key: key, context: CaptureInfo(timestamp: Int64(k)))
            }
            sent += size
            maxUsed = max(maxUsed, assembler.pageStatistics.used)
        }
        // The limit is checked once the packet is queued: the packet that reaches it
        // forces a delivery within the same call, so between calls at most limit - 1.
        #expect(maxUsed == limit - 1)
        assembler.flushAll()
        #expect(assembler.pageStatistics.used == 0)
        // Every delivered byte is the stream's byte at its offset; the first skip is the hole.
        let skips = stream.log.map(\.skip).filter { $0 != 0 }
        #expect(skips.first == window)
        #expect(skips.count == segments / 50)
        #expect(skips.dropFirst().allSatisfy { $0 == size })
        #expect(stream.byteCount == sent && stream.byteCount == 19_600_000)
        var offset = 0, position = 0, wrong = 0
        for entry in stream.log {
            offset += entry.skip
            for j in 0..<entry.count where stream.bytes[position + j] != Self.byte(offset + j) { wrong += 1 }
            offset += entry.count
            position += entry.count
        }
        #expect(wrong == 0)
    }

    /// A full 2^30 bytes of out-of-order data: the first 64 KiB segment never
    /// arrives and the 16,384 that follow it (1 GiB) all wait behind that hole.
    /// Within a page limit, the buffered pages stay under the limit the whole time;
    /// the engine skips the hole once and delivers every byte after it.
    @Test(arguments: [AssemblerOptions(maxBufferedPagesPerConnection: 64), AssemblerOptions(maxBufferedPagesTotal: 1000)])
    func gigabyteOfOutOfOrderDataStaysWithinPageLimit(options: AssemblerOptions) {
        let size = 1 << 16, segments = (1 << 30) / size
        let limit = max(options.maxBufferedPagesPerConnection, options.maxBufferedPagesTotal)
        let (assembler, stream) = Self.makeAssembler(options)
        stream.keepBytes = false
        stream.keepLog = true
        let key = Self.key(6)
        let isn: UInt32 = 4_000_000_000          // the sequence wraps on the way, too
        assembler.assemble(TCPSegment(sequence: isn, flags: .syn), key: key, context: CaptureInfo())
        let payload = [UInt8](repeating: 0x5a, count: size)
        var maxUsed = 0
        payload.withUnsafeBytes { bytes in
            for k in 1...segments {
                assembler.assemble(TCPSegment(sequence: isn &+ 1 &+ UInt32(truncatingIfNeeded: k * size), flags: .ack, payload: bytes),
                                   key: key, context: CaptureInfo(timestamp: Int64(k)))
                maxUsed = max(maxUsed, assembler.pageStatistics.used)
            }
        }
        #expect(maxUsed < limit && maxUsed > limit / 2)     // it did buffer, up to the limit
        assembler.flushAll()
        #expect(assembler.pageStatistics.used == 0)
        #expect(stream.byteCount == 1 << 30)
        #expect(stream.log.map(\.skip).filter { $0 != 0 } == [size])
        #expect(stream.log.reduce(0) { $0 + $1.count } == 1 << 30)
    }

    /// Without limits, 16 MiB behind a 2^30-byte hole all stays in pages (one per
    /// 1,000-byte segment) until a flush; the cache grows by doubling batches and
    /// keeps its free pages afterwards.
    @Test func hugeOutOfOrderWindowWithoutLimitBuffersEverything() {
        let window = 1 << 30, segments = 16_777, size = 1000
        let (assembler, stream) = Self.makeAssembler()
        stream.keepLog = true
        let key = Self.key(4)
        assembler.assemble(TCPSegment(sequence: 0, flags: .syn), key: key, context: CaptureInfo())
        for k in 0..<segments {
            let offset = window + k * size
            let payload = Self.data(offset..<(offset + size))
            payload.withUnsafeBytes { bytes in
                assembler.assemble(TCPSegment(sequence: 1 &+ UInt32(offset), flags: .ack, payload: bytes),
                                   key: key, context: CaptureInfo(timestamp: Int64(k)))
            }
        }
        #expect(stream.deliveries == 1)
        // 1024 + 2048 + 4096 + 8192 + 16384 pages.
        #expect(assembler.pageStatistics == (segments, 31_744 - segments, 31_744))
        let flushed = assembler.flush(olderThan: Int64(segments), closeOlderThan: nil)
        #expect(flushed == (1, 0))
        #expect(stream.log.map(\.skip) == [0, window])
        #expect(stream.log.last?.count == segments * size)
        #expect(stream.bytes == Self.data(window..<(window + segments * size)))
        #expect(assembler.pageStatistics == (0, 31_744, 31_744))
        #expect(assembler.connectionCount == 1)
    }

    // MARK: - Pages after flushes and closes

    /// Closing a half with several packets queued behind a hole (here by an RST at
    /// the next sequence) returns only the first queued page to the accounting, as
    /// gopacket's closeHalfConnection does; the other pages are freed but stay counted
    /// as used, for good. With `maxBufferedPagesTotal` those phantom pages count
    /// against the limit.
    @Test func closingWithQueuedPagesLeavesThemCountedAsGopacketDoes() {
        let (assembler, stream) = Self.makeAssembler()
        let key = Self.key(5)
        let payload = Self.data(0..<100)
        payload.withUnsafeBytes { bytes in
            assembler.assemble(TCPSegment(sequence: 0, flags: .syn), key: key, context: CaptureInfo())
            for k in 1...3 {
                assembler.assemble(TCPSegment(sequence: UInt32(1 + k * 1000), flags: .ack, payload: bytes),
                                   key: key, context: CaptureInfo())
            }
        }
        #expect(assembler.pageStatistics.used == 3)
        assembler.assemble(TCPSegment(sequence: 1, flags: .rst), key: key, context: CaptureInfo())
        #expect(stream.ends == 1 && stream.byteCount == 0)
        #expect(assembler.pageStatistics == (2, 1022, 1024))
        assembler.flushAll()
        #expect(assembler.connectionCount == 0)
        #expect(assembler.pageStatistics == (2, 1022, 1024))
    }
}
