// gopacket 1.1.19's reassembly benchmarks (reassembly/tcpassembly_test.go),
// ported one for one onto flowdb's Reassembly engine. See docs/benchmarks.md.
//
// Every benchmark feeds `benchmark.scaledIterations` packets (1,000,000) to a
// fresh assembler, so with `--scale` the time and malloc figures are per
// packet, like gopacket's ns/op and allocs/op. Like gopacket's, the benchmarks
// never flush; building the assembler and freeing it after the run are outside
// the measurement.

import Benchmark
import Reassembly

/// Accepts every packet and touches the delivered bytes without copying them
/// (gopacket's `testFactoryBench` does not even look at them).
final class TouchingStream: Stream {
    var bytes = 0
    var checksum = 0

    func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                nextSequence: TCPSequence?, start: inout Bool) -> Bool {
        true
    }

    func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
        sg.forEachChunk { chunk in
            bytes &+= chunk.count
            if let first = chunk.first {
                checksum &+= Int(first)
            }
        }
    }

    func reassemblyComplete(context: CaptureInfo?) -> Bool {
        true
    }
}

/// Hands the same stream to every connection, like gopacket's `testFactoryBench`.
struct TouchingFactory: StreamFactory {
    let stream: TouchingStream
    func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> TouchingStream {
        stream
    }
}

/// gopacket's `netFlow`: 1.2.3.4 → 5.6.7.8.
let clientAddress = Address(ipv4: 0x0102_0304)
let serverAddress = Address(ipv4: 0x0506_0708)

func flowKey(sourcePort: UInt16) -> FlowKey {
    FlowKey(source: clientAddress, destination: serverAddress, sourcePort: sourcePort, destinationPort: 2)
}

/// One gopacket benchmark: `body` feeds `count` packets carrying gopacket's
/// 10-byte payload (1 2 3 4 5 6 7 8 9 0) to the assembler.
func engineBenchmark(
    _ name: String,
    maxIterations: Int,
    _ body: @escaping @Sendable (Assembler<TouchingFactory>, Int, UnsafeRawBufferPointer) -> Void
) {
    Benchmark(
        name,
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .throughput],
            timeUnits: .nanoseconds,
            warmupIterations: 1,
            scalingFactor: .mega,
            maxDuration: .seconds(20),
            maxIterations: maxIterations
        )
    ) { benchmark in
        let stream = TouchingStream()
        let payload: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
        let count = benchmark.scaledIterations.count
        let assembler = Assembler(factory: TouchingFactory(stream: stream))
        payload.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            body(assembler, count, bytes)
            benchmark.stopMeasurement()
        }
        // Freeing the assembler (and whatever it still buffers) is not measured.
        blackHole(stream.bytes &+ stream.checksum)
        withExtendedLifetime(assembler) {}
    }
}

let benchmarks: @Sendable () -> Void = {
    // BenchmarkSingleStreamNo: one connection, SYN then in-order 10-byte segments.
    engineBenchmark("SingleStreamNo", maxIterations: 20) { assembler, count, payload in
        let key = flowKey(sourcePort: 1)
        var segment = TCPSegment(sequence: 1000, flags: .syn, payload: payload)
        for i in 0..<count {
            assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: Int64(i)))
            if segment.flags.contains(.syn) {
                segment.flags.remove(.syn)
                segment.sequence &+= 1
            }
            segment.sequence &+= 10
        }
    }

    // BenchmarkSingleStreamSkips: every 10th segment arrives one segment early,
    // the segment it skipped over comes right after it.
    engineBenchmark("SingleStreamSkips", maxIterations: 10) { assembler, count, payload in
        let key = flowKey(sourcePort: 1)
        var segment = TCPSegment(sequence: 1000, flags: .syn, payload: payload)
        var skipped = false
        for i in 0..<count {
            if i % 10 == 9 {
                segment.sequence &+= 10
                skipped = true
            } else if skipped {
                segment.sequence &-= 20
            }
            assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: Int64(i)))
            if segment.flags.contains(.syn) {
                segment.flags.remove(.syn)
                segment.sequence &+= 1
            }
            segment.sequence &+= 10
            if skipped {
                segment.sequence &+= 10
                skipped = false
            }
        }
    }

    // BenchmarkSingleStreamLoss: a 1-byte hole after every segment, so nothing
    // after the SYN is ever delivered and every segment is buffered.
    engineBenchmark("SingleStreamLoss", maxIterations: 10) { assembler, count, payload in
        let key = flowKey(sourcePort: 1)
        var segment = TCPSegment(sequence: 1000, flags: .syn, payload: payload)
        for i in 0..<count {
            assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: Int64(i)))
            segment.flags.remove(.syn)
            segment.sequence &+= 11
        }
    }

    // BenchmarkMultiStreamGrow: source port i (mod 65536), no SYN, sequence
    // +10 per packet: 65,536 connections whose buffers only grow.
    engineBenchmark("MultiStreamGrow", maxIterations: 10) { assembler, count, payload in
        var segment = TCPSegment(sequence: 0, payload: payload)
        for i in 0..<count {
            let key = flowKey(sourcePort: UInt16(truncatingIfNeeded: i))
            assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: Int64(i)))
            segment.sequence &+= 10
        }
    }

    // BenchmarkMultiStreamConn: source port i (mod 65536) with SYN, sequence 0;
    // after every 65,536 packets the SYN is dropped and the sequence moves on.
    engineBenchmark("MultiStreamConn", maxIterations: 20) { assembler, count, payload in
        var segment = TCPSegment(sequence: 0, flags: .syn, payload: payload)
        for i in 0..<count {
            let key = flowKey(sourcePort: UInt16(truncatingIfNeeded: i))
            assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: Int64(i)))
            if i % 65536 == 65535 {
                if segment.flags.contains(.syn) {
                    segment.flags.remove(.syn)
                    segment.sequence &+= 1
                }
                segment.sequence &+= 10
            }
        }
    }
}
