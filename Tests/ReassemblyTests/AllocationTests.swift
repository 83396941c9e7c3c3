#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Reassembly

/// Counts heap allocations on the in-order path when a malloc-counting shim
/// exporting `flowdb_malloc_count_start` / `flowdb_malloc_count_stop` is
/// preloaded (LD_PRELOAD); without it the test only checks the page cache.
@Suite struct AllocationTests {
    private final class LengthStream: Stream {
        var bytes = 0
        func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                    nextSequence: TCPSequence?, start: inout Bool) -> Bool { true }
        func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
            let available = sg.lengths().available
            var visited = 0
            sg.forEachChunk { visited += $0.count }
            if visited == available && sg.info.skip == 0 && sg.stats.packets == 1
                && sg.captureInfo(at: 0).timestamp == 1 {
                bytes += visited
            }
        }
        func reassemblyComplete(context: CaptureInfo?) -> Bool { true }
    }

    private struct Factory: StreamFactory {
        let stream: LengthStream
        func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> LengthStream { stream }
    }

    @Test func inOrderSegmentsOnEstablishedConnectionDoNotAllocate() {
        let stream = LengthStream()
        let assembler = Assembler(factory: Factory(stream: stream))
        let forward = FlowKey(source: clientAddress, destination: serverAddress, sourcePort: 1, destinationPort: 2)
        let payload: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
        var c2s: UInt32 = 0
        var s2c: UInt32 = 5000
        payload.withUnsafeBytes { bytes in
            let context = CaptureInfo(timestamp: 1)
            assembler.assemble(TCPSegment(sequence: c2s, flags: .syn, payload: bytes), key: forward, context: context)
            assembler.assemble(TCPSegment(sequence: s2c, flags: [.syn, .ack], payload: bytes), key: forward.reversed,
                               context: context)
            c2s += 11
            s2c += 11
            func round() {
                assembler.assemble(TCPSegment(sequence: c2s, flags: .ack, payload: bytes), key: forward, context: context)
                assembler.assemble(TCPSegment(sequence: s2c, flags: .ack, payload: bytes), key: forward.reversed,
                                   context: context)
                c2s += 10
                s2c += 10
            }
            for _ in 0..<10 { round() }

            #if canImport(Glibc)
            typealias Start = @convention(c) () -> Void
            typealias Stop = @convention(c) () -> Int
            if let start = dlsym(nil, "flowdb_malloc_count_start"), let stop = dlsym(nil, "flowdb_malloc_count_stop") {
                unsafeBitCast(start, to: Start.self)()
                for _ in 0..<1000 { round() }
                let allocations = unsafeBitCast(stop, to: Stop.self)()
                #expect(allocations == 0, "\(allocations) heap allocations for 2000 in-order segments")
            }
            #endif
        }
        #expect(assembler.pageStatistics == (0, 1024, 1024))
        #expect(stream.bytes >= 10 * 2 * 11)
    }
}
