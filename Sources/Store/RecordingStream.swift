import Reassembly

/// The stream flowdb's assembler feeds: it records every delivery (bytes, capture
/// times, statistics), every skipped gap, and the flow's totals into the archive
/// through an `ArchiveWriter`. It accepts every packet, as gopacket-oracle does.
public final class RecordingStream: Stream {
    /// A flow's running totals, written to its row when the assembler completes it.
    struct Totals {
        var flowID: Int64
        var lastTimestamp: Int64
        var bytes = PerDirection(0)
        var stored = PerDirection(0)
        var packets = PerDirection(0)
        var gaps = 0
        var closed = PerDirection(false)
        var complete = false
    }

    let writer: ArchiveWriter
    var totals: Totals
    /// Where the next delivered byte sits in each direction's stream.
    var offsets = PerDirection<Int64>(0)
    /// Each direction's payload run still taking bytes (the writer decides when it is closed).
    var openRuns = PerDirection<ArchiveWriter.Run?>(nil)

    let handle: ArchiveWriter.FlowHandle

    init(writer: ArchiveWriter, handle: ArchiveWriter.FlowHandle, firstTimestamp: Int64) {
        self.writer = writer
        self.handle = handle
        totals = Totals(flowID: handle.id, lastTimestamp: firstTimestamp)
    }

    public func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                       nextSequence: TCPSequence?, start: inout Bool) -> Bool {
        if captureInfo.timestamp > totals.lastTimestamp { totals.lastTimestamp = captureInfo.timestamp }
        return true
    }

    public func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
        let (direction, start, end, skip) = sg.info
        let dir = direction == .clientToServer ? 0 : 1
        let length = sg.lengths().available
        let stats = sg.stats
        let tsFirst = length > 0 ? sg.captureInfo(at: 0).timestamp : nil
        let tsLast = length > 0 ? sg.captureInfo(at: length - 1).timestamp : nil
        if skip != 0 {
            // skip < 0: the start of this direction was never seen; how much is missing is unknown
            writer.addGap(flowID: totals.flowID, dir: dir, streamOffset: offsets[dir], length: skip > 0 ? skip : nil,
                          timestamp: tsFirst ?? context?.timestamp)
            totals.gaps += 1
            if skip > 0 { offsets[dir] += Int64(skip) }
        }
        var store = length
        if let limit = writer.payloadPolicy.maxBytesPerDirection {
            store = max(0, min(length, limit - totals.stored[dir]))
        }
        writer.addDelivery(flowID: totals.flowID, dir: dir, run: &openRuns[dir], sg: sg, isStart: start, isEnd: end, skip: skip,
                           length: length, store: store, streamOffset: offsets[dir], tsFirst: tsFirst, tsLast: tsLast,
                           stats: stats)
        offsets[dir] += Int64(length)
        totals.bytes[dir] += length
        totals.stored[dir] += store
        totals.packets[dir] += stats.packets
        if end { totals.closed[dir] = true }
    }

    public func reassemblyComplete(context: CaptureInfo?) -> Bool {
        totals.complete = true
        writer.finishFlow(totals, handle: handle)
        return true
    }

    /// Creates a recording stream, and its flow row, for every new connection.
    public struct Factory: StreamFactory {
        let writer: ArchiveWriter
        /// Index in its file of the packet being assembled.
        let packetIndex: () -> Int

        public init(writer: ArchiveWriter, packetIndex: @escaping () -> Int) {
            self.writer = writer
            self.packetIndex = packetIndex
        }

        public mutating func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> RecordingStream {
            let handle = writer.addFlow(isIPv6: key.source.isIPv6, client: key.source, clientPort: key.sourcePort,
                                    server: key.destination, serverPort: key.destinationPort,
                                    firstTimestamp: context.timestamp, firstPacket: packetIndex())
            return RecordingStream(writer: writer, handle: handle, firstTimestamp: context.timestamp)
        }
    }
}

/// A value for each direction of a flow, indexed by `dir` (0: client to server),
/// stored inline rather than in an array.
struct PerDirection<Value> {
    var clientToServer: Value
    var serverToClient: Value

    init(_ value: Value) {
        clientToServer = value
        serverToClient = value
    }

    subscript(dir: Int) -> Value {
        get { dir == 0 ? clientToServer : serverToClient }
        set { if dir == 0 { clientToServer = newValue } else { serverToClient = newValue } }
    }
}
