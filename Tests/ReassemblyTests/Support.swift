import Testing
@testable import Reassembly

let clientAddress = Address(ipv4: 0x0102_0304)
let serverAddress = Address(ipv4: 0x0506_0708)

/// One delivery as the gopacket tests compare them.
struct Delivery: Equatable, CustomStringConvertible {
    var bytes: [UInt8]
    var start = false
    var end = false
    var skip = 0

    var description: String { "{\(bytes) start:\(start) end:\(end) skip:\(skip)}" }
}

/// A test packet; `key(first:)` orients it like gopacket's tests (the first
/// packet's source port is the client side).
struct Packet {
    var srcPort: UInt16 = 1
    var dstPort: UInt16 = 2
    var seq: UInt32
    var ack: UInt32 = 0
    var flags: TCPFlags = []
    var window: UInt16 = 0
    var payload: [UInt8] = []
    var options: [UInt8] = []
    var timestamp: Int64 = 0
    var interfaceIndex = 0

    func key(clientPort: UInt16) -> FlowKey {
        let forward = srcPort == clientPort
        return FlowKey(source: forward ? clientAddress : serverAddress,
                       destination: forward ? serverAddress : clientAddress,
                       sourcePort: srcPort, destinationPort: dstPort)
    }

    var captureInfo: CaptureInfo {
        CaptureInfo(timestamp: timestamp, captureLength: payload.count, length: payload.count, interfaceIndex: interfaceIndex)
    }

    @discardableResult
    func withSegment<R>(_ body: (TCPSegment) -> R) -> R {
        payload.withUnsafeBytes { payloadBytes in
            options.withUnsafeBytes { optionBytes in
                body(TCPSegment(sequence: seq, acknowledgment: ack, flags: flags, window: window,
                                options: optionBytes, payload: payloadBytes))
            }
        }
    }
}

extension Assembler {
    func feed(_ packet: Packet, clientPort: UInt16? = nil) {
        packet.withSegment { segment in
            assemble(segment, key: packet.key(clientPort: clientPort ?? packet.srcPort), context: packet.captureInfo)
        }
    }
}

/// A stream recording every callback.
final class RecordingStream: Stream {
    var deliveries: [Delivery] = []
    var stats: [ReassemblyStats] = []
    var saved: [Int] = []
    var directions: [FlowDirection] = []
    var contexts: [CaptureInfo?] = []
    var accepted = 0
    var completions = 0
    /// When set, every delivery calls `keepFrom(keep)`.
    var keep: Int?
    var completeResult = true
    var acceptHandler: ((TCPSegment, FlowDirection, TCPSequence?, inout Bool) -> Bool)?
    var onDeliver: ((ScatterGather) -> Void)?
    let name: Int

    init(name: Int = 0) {
        self.name = name
    }

    func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                nextSequence: TCPSequence?, start: inout Bool) -> Bool {
        let ok = acceptHandler?(segment, direction, nextSequence, &start) ?? true
        if ok { accepted += 1 }
        return ok
    }

    func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
        let (available, savedBytes) = sg.lengths()
        let info = sg.info
        deliveries.append(Delivery(bytes: sg.fetch(available), start: info.start, end: info.end, skip: info.skip))
        stats.append(sg.stats)
        saved.append(savedBytes)
        directions.append(info.direction)
        contexts.append(context)
        onDeliver?(sg)
        if let keep {
            sg.keepFrom(keep)
        }
    }

    func reassemblyComplete(context: CaptureInfo?) -> Bool {
        completions += 1
        return completeResult
    }
}

/// Returns the same stream for every connection, like gopacket's test factories.
struct SharedStreamFactory: StreamFactory {
    let stream: RecordingStream
    func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> RecordingStream {
        stream
    }
}

/// Creates a new stream per connection and remembers them in order.
final class StreamLog {
    var streams: [RecordingStream] = []
    var keys: [FlowKey] = []
}

struct NewStreamFactory: StreamFactory {
    let log: StreamLog
    func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> RecordingStream {
        let stream = RecordingStream(name: log.streams.count)
        log.streams.append(stream)
        log.keys.append(key)
        return stream
    }
}

/// One step of a gopacket-style table: a packet and the deliveries it must cause.
struct Step {
    var packet: Packet
    var want: [Delivery]
    init(_ packet: Packet, _ want: [Delivery] = []) {
        self.packet = packet
        self.want = want
    }
}

/// gopacket's `test()` driver: one shared stream, at most 4 pages per connection.
func runSteps(_ steps: [Step], sourceLocation: SourceLocation = #_sourceLocation) {
    let stream = RecordingStream()
    let assembler = Assembler(factory: SharedStreamFactory(stream: stream),
                              options: AssemblerOptions(maxBufferedPagesPerConnection: 4))
    for (index, step) in steps.enumerated() {
        stream.deliveries = []
        assembler.feed(step.packet)
        #expect(stream.deliveries == step.want, "step \(index)", sourceLocation: sourceLocation)
    }
}

/// Deterministic SplitMix64 generator.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func patternBytes(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
}
