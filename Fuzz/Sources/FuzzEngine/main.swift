import CFuzzSupport
import Reassembly
#if canImport(Glibc)
import Glibc
#endif

// The engine under random segment sequences. Input layout:
//   byte 0      page limit per connection (0 = none), byte 1: total page limit
//   bytes 2-3   stream length (up to 65,535), bytes 4-7: initial sequence number
//   then 5-byte records: offset (2 bytes), length (2 bytes), flags (bit 0: second
//   direction, bit 1: flush older-than now, bit 2: repeat the segment at once)
// A SYN opens each direction; segments carry bytes of a fixed pseudo-random stream,
// so retransmissions always agree. Checked after flushAll: every delivered byte is
// the stream's byte at its position (position advancing by each skip and each
// delivery), nothing past the stream's end is delivered, and no page stays in use;
// no overlap is reported as a conflict, and every overlap names its bytes' position.
// FIN and RST are left out: they end a direction, after which bytes are not
// delivered, which this invariant does not model. The ISN is any 32-bit value.

final class Checker: Stream {
    var position = [0, 0]
    var failures = 0
    let stream: [UInt8]
    init(stream: [UInt8]) { self.stream = stream }
    func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection, nextSequence: TCPSequence?, start: inout Bool) -> Bool { true }
    func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
        let d = sg.info.direction == .clientToServer ? 0 : 1
        if sg.info.skip > 0 { position[d] += sg.info.skip }
        sg.forEachChunk { piece in
            for byte in piece {
                if position[d] >= stream.count || stream[position[d]] != byte { failures += 1 }
                position[d] += 1
            }
        }
    }
    func reassemblyComplete(context: CaptureInfo?) -> Bool { true }
    // Overlaps: copies always agree here, so no queued one may be reported, and a
    // delivered one's bytes are the stream's at the position it names.
    var reportsOverlaps: Bool { true }
    func overlapped(_ overlap: Overlap) {
        let d = overlap.direction == .clientToServer ? 0 : 1
        if overlap.earlier == .queued || !overlap.earlierBytes.isEmpty { failures += 1; return }
        let at = position[d] + overlap.nextExpected.difference(to: overlap.start)
        for (i, byte) in overlap.laterBytes.enumerated() where at + i < 0 || at + i >= stream.count || stream[at + i] != byte {
            failures += 1
        }
    }
}

struct Factory: StreamFactory {
    let checker: Checker
    mutating func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> Checker { checker }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 8 else { return 0 }
    let length = Int(data[2]) << 8 | Int(data[3])
    // any ISN, the 2^32 wrap included (flowdb measures across it modulo 2^32; gopacket's
    // one-short difference there is a documented deviation)
    let isn = UInt32(data[4]) << 24 | UInt32(data[5]) << 16 | UInt32(data[6]) << 8 | UInt32(data[7])
    var state = UInt64(isn) &+ 0x9e37_79b9_7f4a_7c15
    var stream = [UInt8](repeating: 0, count: length)
    for i in 0..<length {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        stream[i] = UInt8(truncatingIfNeeded: state >> 33)
    }
    let checker = Checker(stream: stream)
    let options = AssemblerOptions(maxBufferedPagesTotal: Int(data[1]), maxBufferedPagesPerConnection: Int(data[0]))
    let assembler = Assembler(factory: Factory(checker: checker), options: options)
    let client = Address(ipv4: 0x0a00_0001), server = Address(ipv4: 0x0a00_0002)
    let keys = [FlowKey(source: client, destination: server, sourcePort: 1000, destinationPort: 80),
                FlowKey(source: server, destination: client, sourcePort: 80, destinationPort: 1000)]
    var time: Int64 = 1
    for d in 0..<2 {
        assembler.assemble(TCPSegment(sequence: isn &- 1, flags: .syn), key: keys[d], context: CaptureInfo(timestamp: time))
    }
    var i = 8
    stream.withUnsafeBytes { bytes in
        while i + 5 <= size {
            let offset = Int(data[i]) << 8 | Int(data[i + 1])
            let count = Int(data[i + 2]) << 8 | Int(data[i + 3])
            let flags = data[i + 4]
            i += 5
            guard offset < max(length, 1) else { continue }
            let end = min(length, offset + count)
            let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
            let segment = TCPSegment(sequence: isn &+ UInt32(offset), flags: .ack, payload: payload)
            time += 1
            let key = keys[Int(flags & 1)]
            assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: time, captureLength: payload.count, length: payload.count))
            if flags & 4 != 0 { assembler.assemble(segment, key: key, context: CaptureInfo(timestamp: time)) }
            if flags & 2 != 0 { _ = assembler.flush(olderThan: time, closeOlderThan: nil) }
        }
    }
    assembler.flushAll()
    precondition(checker.failures == 0, "delivered bytes differ from the stream at their positions")
    precondition(checker.position.allSatisfy { $0 <= length }, "delivered past the end of the stream")
    precondition(assembler.pageStatistics.used == 0, "pages still in use after flushAll")
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
