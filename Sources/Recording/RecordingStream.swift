import Applications
import Connections
import Decoding
import Reassembly
import Store

/// Where the pipeline stands, shared with the stream factory and the streams:
/// which file and packet is being assembled, and that packet's IP length.
public final class PacketCursor {
    /// 0-based index of the file being read among the run's files.
    public var fileIndex = -1
    /// 0-based index of the packet being assembled in its file; -1 during flushes.
    public var packetIndex = -1
    /// Byte offset of its record in the file (`CapturedPacket.offset`).
    public var recordOffset: Int64 = -1
    /// For a datagram rebuilt from IP fragments: the records of all its fragments
    /// (then `packetIndex` is the last one's); empty otherwise.
    public var fragmentRecords: [RecordLocation] = [] {
        didSet { isRebuiltDatagram = !fragmentRecords.isEmpty }
    }
    /// Where the fragments of that datagram disagreed (the first copy is kept).
    public var fragmentConflicts: [FragmentConflict] = []
    /// Whether `fragmentRecords` holds any (read per packet without touching the array).
    public private(set) var isRebuiltDatagram = false
    /// The IP length of the packet being assembled (`DecodedPacket.ipLength`), and
    /// its TCP payload length as announced (more than captured when the snaplen cut it).
    public var ipLength = 0
    public var payloadLength = 0
    /// Its IP TTL or hop limit, TCP urgent pointer, and whether its TCP options were malformed.
    public var hopLimit: UInt8 = 0
    public var urgentPointer: UInt16 = 0
    public var badOptions = false
    /// The tunnels around the packet being assembled (kept only while packets have some).
    public var encapsulation = Encapsulation()
    public init() {}
}

/// One TCP connection as the archive records it: its flow row's running totals,
/// its Zeek connection state, and where each direction's next byte sits.
///
/// gopacket forgets a connection once both halves are closed, so the last ACK
/// or a retransmitted FIN makes the assembler start a new stream. Such a stream
/// continues this record instead of opening a flow of its own (see
/// `RecordingStream.Factory`): one connection, one record, one flow row.
/// Directions here are the flow's: 0 is originator (client) to responder.
final class FlowState {
    let handle: FlowHandle
    /// The connection's addresses and ports, in `FlowKey.canonical` orientation.
    let key: FlowKey
    /// The originator's end, as the flow row names it (swapped when Zeek's roles flip
    /// at a SYN that follows its SYN-ACK).
    var client: Address, clientPort: UInt16
    var totals: RecordingStream.Totals
    var connection: TCPConnection
    /// A UDP or ICMP flow's state (nil for a TCP connection, whose state is `connection`).
    var datagram: DatagramConnection?
    /// DNS queries waiting for their responses (a DNS flow).
    var dns: DNSTransactions?
    /// The CRYPTO frames of a QUIC client's Initial packets, until its ClientHello is read.
    var quic: QUICHandshake?
    /// Where the next delivered byte sits in each direction's stream.
    var offsets = PerDirection<Int64>(0)
    /// Each direction's payload run still taking bytes (the writer decides when it is closed).
    var openRuns = PerDirection<Run?>(nil)
    /// Engine streams feeding this record now (at most one at a time).
    var liveStreams = 0
    /// Whether a stream of it completed: its row then carries its totals.
    var finished = false
    /// A RST of this connection was seen (later data is `data_after_reset`).
    var resetSeen = false
    /// What each side said of the handshake, its window and its TTL, for the anomalies.
    var watch = PerDirection(SideWatch())
    /// The first data seen after a SYN and before any SYN-ACK (an anomaly if one follows).
    var earlyData: (dir: Int, ts: Int64, packetIndex: Int, bytes: Int)?
    /// Bytes of conflicting copies its `overlap_conflict` rows keep so far, and its rows.
    var conflictBytes = 0
    var conflictRows = 0
    /// The anomaly names it has a row of (`AnomalyName.bit`).
    var anomalyNames: UInt32 = 0
    /// Anomaly rows recorded for it (bounded by `ArchiveWriter.anomaliesPerFlow`).
    var anomalies = 0
    /// Counts the packets and deliveries recorded; `written` is the count the
    /// archive's row (or the pending row) last took, so an unchanged flow is not
    /// written again when a later stream of it completes.
    var changes = 0
    var written = -1
    /// The count a live capture's commit last wrote while the flow was open.
    var progressWritten = -1
    /// Where its latest packets lie in the capture: the block still filling, which
    /// the flow's row carries (`flow.packet_records`) each time its totals are
    /// written. A full block (or one of an earlier capture file) becomes a
    /// `packet_block` row.
    var packetBlock = PacketBlockBuilder()
    /// `packet_block` rows taken so far (the next one's `block`).
    var packetBlocks = 0
    /// What its bytes are (HTTP, TLS, SSH), while being recognised or parsed;
    /// `applicationSeen` once it was created (it is dropped when no longer needed).
    var app: ApplicationState?
    var applicationSeen = false
    /// `flow.app` and `flow.app_host`.
    var appName: String?
    var appHost: String?

    /// Where its packet block's first buffer comes from and goes back to.
    let buffers: BufferPool

    init(handle: FlowHandle, key: FlowKey, client: Address, clientPort: UInt16, firstTimestamp: Int64,
         flipped: Bool, buffers: BufferPool) {
        self.handle = handle
        self.buffers = buffers
        self.key = key.canonical
        self.client = client
        self.clientPort = clientPort
        totals = RecordingStream.Totals(flowID: handle.id, lastTimestamp: firstTimestamp)
        connection = TCPConnection(flipped: flipped)
    }

    deinit {
        if let buffer = packetBlock.releaseBuffer() { buffers.put(buffer) } else { packetBlock.deallocate() }
    }

    /// The totals as the flow's row holds them, with the connection's state now.
    /// `text` receives the text of its last packet block, which the totals then
    /// point into (one buffer per batch: no allocation per flow).
    func snapshot(text: inout [UInt8]) -> RecordingStream.Totals {
        var t = totals
        t.complete = finished
        if let datagram {
            t.connState = datagram.state.rawValue
            t.history = datagram.history
        } else {
            t.connState = connection.state.rawValue
            t.history = connection.history
        }
        t.packetBlocks = packetBlocks
        t.app = appName
        t.appHost = appHost
        if !packetBlock.isEmpty {
            let start = text.count
            packetBlock.appendText(to: &text)
            t.packetTail = (packetBlock.captureID, start..<text.count)
        }
        return t
    }

    /// Whether a packet with this key comes from the originator.
    func isFromClient(_ key: FlowKey) -> Bool {
        key.source == client && key.sourcePort == clientPort
    }

    /// Whether the roles can still be swapped: nothing was delivered, no gap
    /// recorded, and the row is not yet written.
    var mayFlipRoles: Bool {
        totals.bytes[0] == 0 && totals.bytes[1] == 0 && totals.gaps == 0 && !applicationSeen
    }

    /// The responder is the originator from now on: the ends and every
    /// per-direction count change places (the flow row's ends are swapped by the writer).
    func flipRoles() {
        if key.source == client && key.sourcePort == clientPort {
            (client, clientPort) = (key.destination, key.destinationPort)
        } else {
            (client, clientPort) = (key.source, key.sourcePort)
        }
        func swapped<T>(_ d: PerDirection<T>) -> PerDirection<T> {
            var r = d
            r.clientToServer = d.serverToClient
            r.serverToClient = d.clientToServer
            return r
        }
        totals.bytes = swapped(totals.bytes)
        totals.stored = swapped(totals.stored)
        totals.dataPackets = swapped(totals.dataPackets)
        totals.packets = swapped(totals.packets)
        totals.ipBytes = swapped(totals.ipBytes)
        totals.missed = swapped(totals.missed)
        totals.closed = swapped(totals.closed)
        offsets = swapped(offsets)
        openRuns = swapped(openRuns)
        watch = swapped(watch)
    }
}

/// The stream flowdb's assembler feeds: it records every delivery (bytes, capture
/// times, statistics), every skipped gap, every packet's flags and size, and the
/// flow's totals into the archive through an `ArchiveWriter`. It accepts every
/// packet, as gopacket-oracle does.
public final class RecordingStream: Stream {
    /// A flow's totals, written to its row whenever a stream of it completes.
    struct Totals {
        var flowID: Int64
        var lastTimestamp: Int64
        var bytes = PerDirection(0)
        var stored = PerDirection(0)
        /// Packets whose bytes were delivered (the deliveries' packet counts).
        var dataPackets = PerDirection(0)
        /// Every packet, and its IP length.
        var packets = PerDirection(0)
        var ipBytes = PerDirection(0)
        /// Bytes in skipped gaps of known length.
        var missed = PerDirection(0)
        var overlapBytes = 0, overlapPackets = 0, queuedBytes = 0, queuedPackets = 0
        var gaps = 0
        var closed = PerDirection(false)
        var complete = false
        var connState: String?
        var history: String?
        /// `packet_block` rows written before the tail, and the tail: the block
        /// still filling (its capture and JSON text).
        var packetBlocks = 0
        var packetTail: (captureID: Int64, records: Range<Int>)?
        var app: String?
        var appHost: String?
        var overlapConflicts = 0
    }

    let writer: ArchiveWriter
    let flow: FlowState
    let cursor: PacketCursor
    /// The engine's client-to-server direction is the flow's responder-to-originator:
    /// Zeek flipped the roles, or the responder sent the packet that started this stream.
    var reversed: Bool
    let table: RecentConnections

    init(writer: ArchiveWriter, flow: FlowState, reversed: Bool, cursor: PacketCursor, table: RecentConnections) {
        self.writer = writer
        self.flow = flow
        self.reversed = reversed
        self.cursor = cursor
        self.table = table
        flow.liveStreams += 1
        writer.opened(flow)
    }

    @inline(__always)
    func flowDirection(_ direction: FlowDirection) -> Int {
        (direction == .clientToServer) != reversed ? 0 : 1
    }

    public func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                       nextSequence: TCPSequence?, start: inout Bool) -> Bool {
        let dir = flowDirection(direction)
        let flow = self.flow
        flow.changes &+= 1
        if captureInfo.timestamp > flow.totals.lastTimestamp { flow.totals.lastTimestamp = captureInfo.timestamp }
        flow.totals.packets[dir] += 1
        flow.totals.ipBytes[dir] += cursor.ipLength
        if !cursor.isRebuiltDatagram {
            writer.recordPacket(flow, index: cursor.packetIndex, offset: cursor.recordOffset)
        } else {
            for r in cursor.fragmentRecords { writer.recordPacket(flow, index: r.index, offset: r.offset) }
            writer.noteFragmentConflicts(cursor.fragmentConflicts, of: flow, dir: dir, timestamp: captureInfo.timestamp)
        }
        let packet = TCPPacket(flags: segment.flags.rawValue, sequence: segment.sequence, acknowledgment: segment.acknowledgment,
                               window: segment.window, payloadLength: cursor.payloadLength)
        if packet.payloadLength > 0 && (packet.flags & 0x06 != 0 || flow.resetSeen) {
            noteAnomalies(packet, dir: dir, timestamp: captureInfo.timestamp)
        }
        watch(segment, packet, dir: dir, timestamp: captureInfo.timestamp)
        if packet.flags & 0x20 != 0 {
            note(.urgentPointer, dir: dir, timestamp: captureInfo.timestamp,
                 detail: "pointer \(cursor.urgentPointer), \(packet.payloadLength) bytes")
        }
        if cursor.badOptions { note(.badTCPOptions, dir: dir, timestamp: captureInfo.timestamp, detail: nil) }
        if packet.flags & 0x04 != 0 { flow.resetSeen = true }
        if dir == 1, flow.connection.reversesRoles(packet), flow.mayFlipRoles, writer.swapEnds(flow) {
            // Zeek swaps the roles at this SYN: its sender is the originator now
            flow.connection.observe(packet, fromOriginator: false)
            flow.flipRoles()
            reversed.toggle()
        } else {
            flow.connection.observe(packet, fromOriginator: dir == 0, mayFlipRoles: false)
        }
        return true
    }

    /// What the packet's side says of its TTL, the handshake and its window:
    /// a TTL moving far from the side's first (`ttl_changed`), data before the
    /// responder answered the SYN (`data_before_established`, Zeek's weird), and data
    /// reaching more than a whole window past the furthest edge the receiver
    /// advertised (`seq_outside_window`: a target drops it, a sensor that takes it was fooled).
    @inline(__always)
    private func watch(_ segment: TCPSegment, _ packet: TCPPacket, dir: Int, timestamp: Int64) {
        let flags = packet.flags
        var side = flow.watch[dir]
        if let moved = side.take(hopLimit: cursor.hopLimit) {
            note(.ttlChanged, dir: dir, timestamp: timestamp, detail: "\(moved.previous) -> \(cursor.hopLimit) (first \(moved.first))")
        }
        if flags & 0x02 != 0 {
            side.syn = true
            side.synAck = flags & 0x10 != 0
            side.scale = cursor.badOptions ? nil : SideWatch.windowScale(in: segment.options)
            if side.synAck, let early = flow.earlyData {
                // the SYN-ACK came after data: that data was sent before the handshake
                flow.earlyData = nil
                writer.addAnomaly(flow, name: .dataBeforeEstablished, dir: early.dir, timestamp: early.ts,
                                  packetIndex: early.packetIndex, detail: "\(early.bytes) bytes")
            }
        }
        let other = 1 - dir
        let receiver = flow.watch[other]
        if flags & 0x10 != 0 {
            // a SYN's window is never scaled; later ones are when both SYNs offered it
            let shift = flags & 0x02 == 0 ? side.windowShift(peer: receiver) : 0
            let window = UInt32(packet.window) << shift
            let edge = packet.acknowledgment &+ window
            if !side.edgeKnown || Int32(bitPattern: edge &- side.rightEdge) > 0 { side.rightEdge = edge }
            side.edgeKnown = true
            if window > side.largestWindow { side.largestWindow = window }
        }
        flow.watch[dir] = side
        guard packet.payloadLength > 0, flags & 0x02 == 0 else { return }
        // A SYN seen, its SYN-ACK not (data may ride on the handshake's last ACK: that is
        // after it). Recorded when a SYN-ACK follows: a capture of one direction only
        // never shows the SYN-ACK, and its data is not early.
        if (side.syn || receiver.syn) && !side.synAck && !receiver.synAck && flow.earlyData == nil {
            flow.earlyData = (dir, timestamp, cursor.packetIndex, packet.payloadLength)
        }
        guard receiver.edgeKnown, side.syn, receiver.syn else { return }
        let end = packet.sequence &+ UInt32(truncatingIfNeeded: packet.payloadLength)
        let past = Int64(Int32(bitPattern: end &- receiver.rightEdge))
        if past > Int64(max(receiver.largestWindow, 65_535)) {
            note(.seqOutsideWindow, dir: dir, timestamp: timestamp,
                 detail: "ends \(past) bytes past the receiver's window (\(receiver.largestWindow) bytes at most)")
        }
    }

    private func note(_ name: AnomalyName, dir: Int, timestamp: Int64, detail: String?) {
        writer.addAnomaly(flow, name: name, dir: dir, timestamp: timestamp, packetIndex: cursor.packetIndex, detail: detail)
    }

    public var reportsOverlaps: Bool { true }

    /// Records a conflict when the bytes of an overlap differ (the assembler compared
    /// queued copies; delivered ones are compared with the archive's copy here).
    public func overlapped(_ overlap: Overlap) {
        let dir = flowDirection(overlap.direction)
        let base = flow.offsets[dir], expected = overlap.nextExpected
        func offset(_ seq: TCPSequence) -> Int64 { base + Int64(expected.difference(to: seq)) }
        let later = (ts: overlap.laterInfo.timestamp, index: cursor.packetIndex)
        let laterSegment = (offset(overlap.laterSegment.start), overlap.laterSegment.count)
        switch overlap.earlier {
        case .queued:
            let info = overlap.earlierInfo
            writer.addConflict(flow, dir: dir, streamOffset: offset(overlap.start), earlier: overlap.earlierBytes,
                               later: overlap.laterBytes, earlierState: "queued", earlierPacket: (info.timestamp, info.packetIndex),
                               earlierSegment: (offset(overlap.earlierSegment.start), overlap.earlierSegment.count),
                               laterPacket: later, laterSegment: laterSegment, laterKept: overlap.laterKept)
        case .delivered:
            // a keep-alive probe: one byte just below the next expected one, its value
            // any (tshark's "TCP keep-alive segment"); receivers discard it
            if overlap.laterSegment.count == 1 && expected.difference(to: overlap.laterSegment.start) == -1 { return }
            writer.compareDelivered(flow, dir: dir, streamOffset: offset(overlap.start), later: overlap.laterBytes,
                                    laterPacket: later, laterSegment: laterSegment)
        }
    }

    /// Zeek's weirds a data packet can be: data on a SYN (`SYN_with_data`, also
    /// TCP Fast Open's), on a RST (`RST_with_data`), after a RST of the connection
    /// (`data_after_reset`). One row per packet and name.
    private func noteAnomalies(_ packet: TCPPacket, dir: Int, timestamp: Int64) {
        let bytes = "\(packet.payloadLength) bytes"
        if packet.flags & 0x02 != 0 {
            writer.addAnomaly(flow, name: .synWithData, dir: dir, timestamp: timestamp, packetIndex: cursor.packetIndex, detail: bytes)
        }
        if packet.flags & 0x04 != 0 {
            writer.addAnomaly(flow, name: .rstWithData, dir: dir, timestamp: timestamp, packetIndex: cursor.packetIndex, detail: bytes)
        } else if flow.resetSeen {
            writer.addAnomaly(flow, name: .dataAfterReset, dir: dir, timestamp: timestamp, packetIndex: cursor.packetIndex, detail: bytes)
        }
    }

    public func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
        let (direction, start, end, skip) = sg.info
        let dir = flowDirection(direction)
        let flow = self.flow
        flow.changes &+= 1
        let length = sg.lengths().available
        let stats = sg.stats
        let tsFirst = length > 0 ? sg.captureInfo(at: 0).timestamp : nil
        let tsLast = length > 0 ? sg.captureInfo(at: length - 1).timestamp : nil
        if skip != 0 {
            // skip < 0: the start of this direction was never seen; how much is missing is unknown
            writer.addGap(flowID: flow.totals.flowID, dir: dir, streamOffset: flow.offsets[dir], length: skip > 0 ? skip : nil,
                          timestamp: tsFirst ?? context?.timestamp)
            flow.totals.gaps += 1
            if skip > 0 {
                flow.offsets[dir] += Int64(skip)
                flow.totals.missed[dir] += skip
                flow.connection.contentGap(fromOriginator: dir == 0)
            }
        }
        var store = length
        if let limit = writer.payloadPolicy.maxBytesPerDirection {
            store = max(0, min(length, limit - flow.totals.stored[dir]))
        }
        writer.addDelivery(flowID: flow.totals.flowID, dir: dir, run: &flow.openRuns[dir], sg: sg, isStart: start, isEnd: end,
                           skip: skip, length: length, store: store, streamOffset: flow.offsets[dir], tsFirst: tsFirst,
                           tsLast: tsLast, stats: stats)
        flow.offsets[dir] += Int64(length)
        flow.totals.bytes[dir] += length
        flow.totals.stored[dir] += store
        flow.totals.dataPackets[dir] += stats.packets
        flow.totals.overlapBytes += stats.overlapBytes
        flow.totals.overlapPackets += stats.overlapPackets
        flow.totals.queuedBytes += stats.queuedBytes
        flow.totals.queuedPackets += stats.queuedPackets
        if end { flow.totals.closed[dir] = true }
        if let applications = writer.applications {
            applications.delivered(flow, dir: dir, sg: sg, length: length, skip: skip, writer: writer)
        }
    }

    /// Asked about every packet of the connection (one test while it is open):
    /// once either side closed or reset it, a SYN without ACK starts a new
    /// connection (Zeek's rule for reused ports), and once it is over (closed both
    /// ways, or reset) a packet after the close delay does too. Both hold also
    /// where gopacket would still feed the packet to this stream.
    ///
    /// A packet after the connection was idle longer than the inactivity timeout
    /// starts a new connection too, whatever its state (Zeek's
    /// `tcp_inactivity_timeout`: Zeek expires the connection, and the packet opens
    /// another).
    public func isNewConnection(_ segment: TCPSegment, direction: FlowDirection, context: CaptureInfo) -> Bool {
        let flow = self.flow
        if table.inactivityTimeout > 0, context.timestamp &- flow.totals.lastTimestamp > table.inactivityTimeout { return true }
        guard flow.connection.closeSeen, table.closeDelay > 0 else { return false }
        let flags = segment.flags
        if flags.contains(.syn) && !flags.contains(.ack) { return true }
        return flow.connection.isOver && context.timestamp &- flow.totals.lastTimestamp > table.closeDelay
    }

    public var decidesConnectionEnds: Bool { table.closeDelay > 0 || table.inactivityTimeout > 0 }

    public func reassemblyComplete(context: CaptureInfo?) -> Bool {
        let flow = self.flow
        flow.liveStreams -= 1
        flow.finished = true
        // A later stream of this connection starts runs of its own; a closed
        // connection holds no buffer while it waits out the close delay.
        flow.openRuns = PerDirection(nil)
        writer.applications?.completed(flow, writer: writer)
        writer.finishFlow(flow)
        table.remember(flow)
        return true
    }

    /// Creates a recording stream for every stream the assembler starts: a new
    /// flow row for a new connection, or the continuation of a connection closed
    /// less than the close delay ago.
    public struct Factory: StreamFactory {
        let writer: ArchiveWriter
        let cursor: PacketCursor
        let table: RecentConnections

        /// `closeDelay`: nanoseconds of capture time during which packets after a
        /// connection's close still belong to it (Zeek's `tcp_close_delay`).
        /// `inactivityTimeout`: nanoseconds of capture time a connection may be idle
        /// and go on (Zeek's `tcp_inactivity_timeout`); 0: forever.
        public init(writer: ArchiveWriter, cursor: PacketCursor, closeDelay: Int64, inactivityTimeout: Int64 = 0) {
            self.writer = writer
            self.cursor = cursor
            table = RecentConnections(closeDelay: closeDelay, inactivityTimeout: inactivityTimeout)
        }

        public mutating func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> RecordingStream {
            let flags = segment.flags
            let attempt = flags.contains(.syn) && !flags.contains(.ack)
            // A SYN without ACK is a new connection attempt (port reuse): a closed
            // connection it replaces stays in the table until this one completes
            // and takes its place, or the delay expires; nothing else can reach it.
            if !attempt, let earlier = table.continuation(for: key, at: context.timestamp) {
                return RecordingStream(writer: writer, flow: earlier, reversed: !earlier.isFromClient(key), cursor: cursor,
                                       table: table)
            }
            let flipped = TCPConnection.responderSentFirst(flags: flags.rawValue, sourcePort: key.sourcePort,
                                                           destinationPort: key.destinationPort)
            let (client, clientPort, server, serverPort) = flipped
                ? (key.destination, key.destinationPort, key.source, key.sourcePort)
                : (key.source, key.sourcePort, key.destination, key.destinationPort)
            let handle = writer.addFlow(isIPv6: key.source.isIPv6, client: client, clientPort: clientPort,
                                        server: server, serverPort: serverPort,
                                        firstTimestamp: context.timestamp, firstPacket: cursor.packetIndex,
                                        encapsulation: cursor.encapsulation.isEmpty ? nil : cursor.encapsulation.text)
            let flow = FlowState(handle: handle, key: key, client: client, clientPort: clientPort,
                                 firstTimestamp: context.timestamp, flipped: flipped, buffers: writer.buffers)
            writer.attach(flow)
            return RecordingStream(writer: writer, flow: flow, reversed: flipped, cursor: cursor, table: table)
        }
    }
}

/// Connections whose streams all completed recently, by their addresses and ports
/// in either orientation: a packet of theirs that makes the assembler start a new
/// stream continues them. "Recently" is the close delay for a connection that is
/// over (closed both ways, or reset), and the inactivity timeout for one the
/// assembler closed while it was still open (idle, at a flush): Zeek would still
/// hold that one. Entries past their time are dropped as new ones arrive
/// (amortised: a sweep whenever the table has doubled).
final class RecentConnections {
    let closeDelay: Int64
    let inactivityTimeout: Int64
    private var flows: [FlowKey: FlowState] = [:]
    private var sweepAt = 1024

    init(closeDelay: Int64, inactivityTimeout: Int64 = 0) {
        self.closeDelay = closeDelay
        self.inactivityTimeout = inactivityTimeout
    }

    /// How long after its last packet `flow` can still be continued.
    @inline(__always)
    func window(_ flow: FlowState) -> Int64 {
        flow.connection.isOver || inactivityTimeout <= 0 ? closeDelay : max(closeDelay, inactivityTimeout)
    }

    func remember(_ flow: FlowState) {
        guard closeDelay > 0 || inactivityTimeout > 0 else { return }
        let now = flow.totals.lastTimestamp
        if flows.count >= sweepAt {
            flows = flows.filter { now &- $0.value.totals.lastTimestamp <= window($0.value) }
            sweepAt = max(1024, flows.count * 2)
        }
        flows[flow.key] = flow
    }

    /// The closed connection a packet with `key` at time `t` continues, if any.
    func continuation(for key: FlowKey, at t: Int64) -> FlowState? {
        guard let flow = flows[key.canonical] else { return nil }
        guard flow.liveStreams == 0, t &- flow.totals.lastTimestamp <= window(flow) else {
            flows.removeValue(forKey: key.canonical)
            return nil
        }
        return flow
    }
}

/// A value for each direction of a flow, indexed by `dir` (0: client to server),
/// stored inline rather than in an array.
/// The anomalies the recorder names (`anomaly.name`): Zeek's weird names where Zeek
/// has one (docs/evasion.md lists which).
enum AnomalyName: String, CaseIterable {
    case synWithData = "SYN_with_data", rstWithData = "RST_with_data", dataAfterReset = "data_after_reset"
    case rexmitInconsistency = "rexmit_inconsistency", dataBeforeEstablished = "data_before_established"
    case fragmentInconsistency = "fragment_inconsistency"
    case ttlChanged = "ttl_changed", urgentPointer = "urgent_pointer", badTCPOptions = "bad_TCP_options"
    case seqOutsideWindow = "seq_outside_window"

    /// Its bit, for "a flow's first row of each name" (`FlowState.anomalyNames`).
    var bit: UInt32 { 1 << UInt32(Self.allCases.firstIndex(of: self)!) }
}

/// What one side of a TCP connection said of its TTL, the handshake and its window.
struct SideWatch {
    /// Its first and last IP TTL or hop limit (0: no packet yet).
    var firstHopLimit: UInt8 = 0, hopLimit: UInt8 = 0
    var syn = false, synAck = false
    /// The window scale its SYN offered (RFC 7323), if any.
    var scale: UInt8?
    /// The furthest edge of the window it advertised (ack + scaled window), and its largest window.
    var rightEdge: UInt32 = 0
    var edgeKnown = false
    var largestWindow: UInt32 = 0

    /// The shift of this side's windows: its SYN's scale when both SYNs offered one, else 0.
    @inline(__always)
    func windowShift(peer: SideWatch) -> UInt32 {
        guard let mine = scale, peer.scale != nil else { return 0 }
        return UInt32(mine)
    }

    /// Takes a packet's TTL. Routes flap by a hop or two (ECMP, anycast); a TTL more
    /// than 5 from the side's first is the insertion signal (Snort's `ttl_limit`, 5 by
    /// default). Returns the previous and first TTL where it moves there (or jumps
    /// more than 5 while there): one row per move, not one per packet while it stays.
    mutating func take(hopLimit new: UInt8) -> (previous: UInt8, first: UInt8)? {
        let previous = hopLimit
        guard new != previous else { return nil }
        hopLimit = new
        guard firstHopLimit != 0 else {
            firstHopLimit = new
            return nil
        }
        func far(_ a: UInt8, _ b: UInt8) -> Bool { abs(Int(a) - Int(b)) > 5 }
        guard far(new, firstHopLimit), !far(previous, firstHopLimit) || far(new, previous) else { return nil }
        return (previous, firstHopLimit)
    }

    /// The window scale option's shift (capped at 14, as RFC 7323 says) among a SYN's options.
    static func windowScale(in options: UnsafeRawBufferPointer) -> UInt8? {
        var i = 0
        while i < options.count {
            let kind = options[i]
            if kind == 0 { return nil }
            if kind == 1 { i += 1; continue }
            guard i + 1 < options.count else { return nil }
            let length = Int(options[i + 1])
            guard length >= 2, i + length <= options.count else { return nil }
            if kind == 3 && length == 3 { return min(options[i + 2], 14) }
            i += length
        }
        return nil
    }
}


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
