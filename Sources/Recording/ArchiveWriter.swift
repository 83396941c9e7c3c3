import Applications
import Decoding
import Digest
import Dispatch
import Reassembly
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Writes an ingest into the archive in large transactions. Rows are gathered in
/// memory and written together when enough payload has accumulated (or a capture
/// ends), so readers can use the archive between batches and an interruption
/// loses at most one batch: the capture rows say which files are incomplete.
///
/// Two threads share the work: the caller's (reassembly) fills a batch, and a
/// writer thread runs the SQL of the previous batches, at most two batches behind.
/// The connection and its statements are used only on the writer thread; every
/// write goes through its serial queue, so they happen in submission order.
///
/// Ids of captures, flows, deliveries and payload runs are given here, in creation order.
public final class ArchiveWriter: @unchecked Sendable {
    let connection: SQLiteConnection
    /// The SQL, run on the writer thread only.
    let sql: BatchWriter
    public let payloadPolicy: PayloadPolicy
    /// A batch is written once this much payload is pending.
    public var batchBytes = 32 << 20
    /// A payload run is closed once it holds this many bytes.
    public var runBytes = 256 << 10
    /// A flow's `delivery_block` row holds at most this many deliveries.
    public var deliveriesPerBlock: Int {
        get { sql.deliveriesPerBlock }
        set { sql.deliveriesPerBlock = newValue }
    }
    /// First buffers of flows' packet blocks (reassembly thread only).
    let buffers = BufferPool()
    /// A flow's `packet_block` row holds at most this many packet records.
    public var packetsPerBlock = 4096

    /// Recognises and parses HTTP, TLS and SSH (nil: `--no-apps`). Reassembly thread only.
    var applications: ApplicationRecorder? = ApplicationRecorder()
    /// Whether flows' bytes are read for HTTP, TLS and SSH (`ingest --no-apps` turns it off).
    public var parsesApplications: Bool {
        get { applications != nil }
        set { applications = newValue ? (applications ?? ApplicationRecorder()) : nil }
    }
    private(set) public var ingestRun: Int64 = 0
    private(set) public var currentCaptureID: Int64 = 0
    private var nextFlowID: Int64
    private var nextPayloadID: Int64
    private var nextDeliveryID: Int64

    private var batch = Batch()
    /// Counts the batches handed to the writer thread.
    private var generation = 0
    private var pendingBytes = 0
    private let thread: WriterThread
    private var nextCaptureID: Int64

    /// Totals of this writer's work, for the ingest summary.
    public private(set) var flowsCreated = 0
    public private(set) var bytesDelivered = 0
    public private(set) var bytesStored = 0
    public private(set) var gapsRecorded = 0

    /// `depth`: batches the writer thread may hold before `commit` waits for it. A
    /// live capture gives it more, so that a slow disk (an fsync, a checkpoint)
    /// stalls its reading of the interface less.
    public init(archive: Archive, payloadPolicy: PayloadPolicy = .init(), depth: Int = 2) throws {
        thread = WriterThread(depth: depth)
        connection = archive.connection
        self.payloadPolicy = payloadPolicy
        // Integrity holds by construction here; checking every row's parents would
        // cost a lookup per insert. Tests run PRAGMA foreign_key_check on the result.
        try connection.execute("PRAGMA foreign_keys = OFF")
        try connection.execute("PRAGMA cache_size = -65536")
        sql = try BatchWriter(connection: connection)
        nextFlowID = (try connection.scalar("SELECT coalesce(max(id), 0) + 1 FROM flow")) ?? 1
        nextPayloadID = (try connection.scalar("SELECT coalesce(max(id), 0) + 1 FROM payload")) ?? 1
        // last_delivery is the rowid: its max is one B-tree descent.
        nextDeliveryID = (try connection.scalar("SELECT coalesce(max(last_delivery), 0) + 1 FROM delivery_block")) ?? 1
        ingestRun = try sql.catalog.nextIngestRun()
        nextCaptureID = try sql.catalog.nextID()
    }

    // MARK: captures

    /// Records that reading a file began (status 'running'); written before any of its flows.
    @discardableResult
    public func beginCapture(path: String, size: Int, dlt: Int32, linkTypeName: String, snaplen: Int,
                             stdinKept: Bool = false, interface: String? = nil, filter: String? = nil) throws -> Int64 {
        try commit()
        let id = nextCaptureID
        nextCaptureID += 1
        currentCaptureID = id
        var row = Tables.captureStart.row()
        row.set("id", id)
        row.set("ingest_run", ingestRun)
        row.set("path", path)
        row.set("size", size)
        row.set("link_type", dlt)
        row.set("link_type_name", linkTypeName)
        row.set("snaplen", snaplen)
        row.set("ingested_at", Clock.nowNanoseconds())
        row.set("stdin_kept", stdinKept)
        row.set("interface", interface)
        row.set("filter", filter?.isEmpty == false ? filter : nil)
        try thread.submit { [sql] in
            try sql.connection.transaction { try sql.catalog.begin(row) }
        }
        return id
    }

    /// Writes everything pending and the capture's counters (its status stays 'running').
    /// `live`: the kernel's counters while a live capture wrote this row's packets.
    public func recordCounters(_ id: Int64, totals t: CaptureTotals, sha256: String?, size: Int,
                               live: LiveCounters? = nil) throws {
        try commit()
        let counts = Self.counts(t, sha256: sha256, size: size, live: live)
        try thread.submit { [sql] in
            try sql.connection.transaction { try sql.catalog.record(counts, of: id) }
        }
    }

    /// A capture's `Tables.captureCounters` row.
    static func counts(_ t: CaptureTotals, sha256: String?, size: Int, live: LiveCounters?) -> RowValues {
        let c = t.counters
        var row = Tables.captureCounters.row()
        row.set("sha256", sha256); row.set("size", size)
        row.set("packets", c.packets); row.set("bytes", c.bytes); row.set("tcp_packets", c.tcpPackets)
        row.set("truncated_payloads", c.truncatedPayloads); row.set("tcp_headers_cut", c.tcpHeadersCut)
        row.set("tcp_bad_options", c.tcpBadOptions)
        row.set("udp_packets", c.udpPackets); row.set("icmp_packets", c.icmpPackets)
        row.set("datagram_flows_evicted", c.datagramFlowsEvicted)
        // what the decoder skipped, by reason
        row.set("skipped_non_ip", c.nonIP); row.set("skipped_non_tcp", c.nonTCP); row.set("skipped_fragments", c.fragments)
        row.set("skipped_malformed", c.malformed); row.set("skipped_truncated", c.truncated)
        row.set("skipped_link_type", c.unsupportedLink)
        row.set("first_ts", t.firstTimestamp); row.set("last_ts", t.lastTimestamp)
        row.set("encapsulations", c.encapsulated.json)
        row.set("datagrams_reassembled", c.datagramsReassembled); row.set("fragments_expired", c.fragmentsExpired)
        row.set("fragment_overlaps", c.fragmentOverlaps); row.set("oversized_datagrams", c.oversizedDatagrams)
        // a live capture's kernel counters while this row's packets were captured
        row.set("packets_received", live?.received); row.set("kernel_drops", live?.kernelDrops)
        row.set("interface_drops", live?.interfaceDrops)
        return row
    }

    /// Syncs a closed-to-the-caller file's bytes to disk and closes it, on the
    /// writer thread, before what is submitted after (a live capture's rotated file:
    /// its reading thread does not wait for the disk).
    public func syncAndClose(_ fd: Int32, name: String) throws {
        try thread.submit {
            defer { close(fd) }
            if fdatasync(fd) != 0 {
                throw SyncError(description: "\(name): cannot flush the capture file to disk: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Notes that a live capture's file was removed (`--keep`).
    public func markRemoved(path: String, at time: Int64) throws {
        try thread.submit { [sql] in
            try sql.catalog.markRemoved(path: path, at: time)
        }
    }

    /// Marks a capture complete, or failed with the reason.
    public func setStatus(_ id: Int64, failure: String?) throws {
        let finished = Clock.nowNanoseconds()
        try thread.submit { [sql] in
            try sql.catalog.finish(id, failure: failure, at: finished)
        }
    }

    /// After a failed write (disk full, I/O error): drops what is pending, waits
    /// for the writer thread and marks `ids` failed, so that no capture stays
    /// 'running'. Best effort: if even that cannot be written, they stay 'running'
    /// and the next ingest of the same file removes them.
    public func abandon(_ ids: [Int64], failure: String) {
        batch = Batch()
        generation += 1      // the streams' open runs went with the batch
        pendingBytes = 0
        let finished = Clock.nowNanoseconds()
        thread.runAfterAll { [sql] in
            try? sql.connection.transaction {
                for id in ids { try sql.catalog.finish(id, failure: failure, at: finished) }
            }
        }
    }

    // MARK: flows and deliveries (called by RecordingStream)

    func addFlow(isIPv6: Bool, client: Address, clientPort: UInt16, server: Address, serverPort: UInt16,
                 firstTimestamp: Int64, firstPacket: Int, encapsulation: String? = nil, proto: Transport = .tcp) -> FlowHandle {
        let id = nextFlowID
        nextFlowID += 1
        flowsCreated += 1
        pendingBytes += MemoryLayout<FlowRow>.stride + 256     // the row, and its flow's first run and blocks
        batch.flows.append(FlowRow(id: id, captureID: currentCaptureID, isIPv6: isIPv6, client: client, clientPort: clientPort,
                                   server: server, serverPort: serverPort, firstTimestamp: firstTimestamp, firstPacket: firstPacket,
                                   encapsulation: encapsulation, proto: proto))
        return FlowHandle(id: id, generation: generation, row: batch.flows.count - 1)
    }

    /// Records one delivery; `store` bytes of it (from its start) are copied out of
    /// `sg`, into `run` (the direction's open run) or a new run that replaces it.
    func addDelivery(flowID: Int64, dir: Int, run open: inout Run?, sg: ScatterGather, isStart: Bool, isEnd: Bool, skip: Int,
                     length: Int, store: Int, streamOffset: Int64, tsFirst: Int64?, tsLast: Int64?, stats: ReassemblyStats) {
        var payloadID: Int64 = 0, payloadOffset = 0
        if store > 0 {
            let run = self.run(&open, flowID: flowID, dir: dir, streamOffset: streamOffset)
            payloadID = run.id
            payloadOffset = run.bytes.count
            var remaining = store
            sg.forEachChunk { piece in
                guard remaining > 0 else { return }
                let n = min(remaining, piece.count)
                run.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[0..<n]))
                remaining -= n
            }
            pendingBytes += store
        }
        appendDelivery(DeliveryRow(id: nextDeliveryID, flowID: flowID, dir: dir, isStart: isStart, isEnd: isEnd, skip: skip,
                                   length: length, stored: store, payloadID: payloadID, payloadOffset: payloadOffset,
                                   streamOffset: streamOffset, tsFirst: tsFirst, tsLast: tsLast, stats: stats,
                                   firstPacket: length > 0 ? sg.captureInfo(at: 0).packetIndex : -1))
    }

    /// Records one datagram's payload (a UDP payload, an ICMP message's body) as a
    /// delivery of its own; `store` bytes of it are kept, in the direction's run.
    func addDatagram(flowID: Int64, dir: Int, run open: inout Run?, bytes: UnsafeRawBufferPointer, store: Int,
                     streamOffset: Int64, isStart: Bool, timestamp: Int64) {
        var payloadID: Int64 = 0, payloadOffset = 0
        if store > 0 {
            let run = self.run(&open, flowID: flowID, dir: dir, streamOffset: streamOffset)
            payloadID = run.id
            payloadOffset = run.bytes.count
            run.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<store]))
            pendingBytes += store
        }
        appendDelivery(DeliveryRow(id: nextDeliveryID, flowID: flowID, dir: dir, isStart: isStart, isEnd: false, skip: 0,
                                   length: bytes.count, stored: store, payloadID: payloadID, payloadOffset: payloadOffset,
                                   streamOffset: streamOffset, tsFirst: timestamp, tsLast: timestamp,
                                   stats: ReassemblyStats(chunks: 1, packets: 1), firstPacket: -1))
    }

    /// The run that takes a direction's bytes at `streamOffset`: its open one while
    /// it belongs to this batch, has room and ends there; else a new one, which
    /// replaces it.
    @inline(__always)
    private func run(_ open: inout Run?, flowID: Int64, dir: Int, streamOffset: Int64) -> Run {
        if let open, open.generation == generation, open.bytes.count < runBytes, open.end == streamOffset { return open }
        let run = Run(id: nextPayloadID, flowID: flowID, dir: dir, streamOffset: streamOffset, generation: generation)
        // a retransmission reaching back past the new run's start is compared with this one
        if let open, open.generation == generation, open.end == streamOffset { run.previous = open }
        // A direction that filled half its last run will likely fill this one:
        // its buffer is then allocated once instead of regrown (and copied)
        // eight times. The slack holds the delivery that takes a run past
        // runBytes; reserving runBytes alone, that one regrew the buffer to
        // twice the size (bulk capture, peak RSS: 256-258 MB with the slack,
        // 321-325 MB without it, 262-268 MB when runs only grew).
        if let open, open.bytes.count >= runBytes / 2 { run.bytes.reserveCapacity(runBytes + 65536) }
        nextPayloadID += 1
        batch.runs.append(run)
        open = run
        return run
    }

    /// Adds a delivery row and counts it.
    @inline(__always)
    private func appendDelivery(_ row: DeliveryRow) {
        // the row itself counts too: with many small flows (100,000 of a few KB),
        // rows, not payload, are most of a batch's memory
        pendingBytes += MemoryLayout<DeliveryRow>.stride
        bytesDelivered += row.length
        bytesStored += row.stored
        batch.deliveries.append(row)
        nextDeliveryID += 1
    }

    func addGap(flowID: Int64, dir: Int, streamOffset: Int64, length: Int?, timestamp: Int64?) {
        gapsRecorded += 1
        batch.gaps.append(GapRow(flowID: flowID, dir: dir, streamOffset: streamOffset, length: length, timestamp: timestamp))
    }

    /// Notes where one packet record of `flow` lies (`packet_block`).
    @inline(__always)
    func recordPacket(_ flow: FlowState, index: Int, offset: Int64) {
        if flow.packetBlock.needsBuffer { flow.packetBlock.adopt(buffers.take()) }
        if !flow.packetBlock.accepts(captureID: currentCaptureID, limit: packetsPerBlock) { takePacketBlock(flow) }
        flow.packetBlock.append(captureID: currentCaptureID, index: index, offset: offset)
    }

    /// Moves the flow's pending packet records into the batch as one block.
    func takePacketBlock(_ flow: FlowState) {
        guard !flow.packetBlock.isEmpty else { return }
        let b = flow.packetBlock
        batch.packetBlocks.append(PacketBlockRow(flowID: flow.handle.id, block: flow.packetBlocks, captureID: b.captureID,
                                                 packets: b.packets, first: b.firstIndex, last: b.lastIndex,
                                                 records: flow.packetBlock.take()))
        flow.packetBlocks += 1
    }

    // MARK: applications (called by ApplicationRecorder)

    /// Names the flow's application and host (written with its totals).
    func setApplication(_ flow: FlowState, app: String, host: String?) {
        flow.appName = app
        flow.appHost = host
        flow.changes &+= 1
    }

    /// Rows of `Tables.tls`, `.ssh` and `.http`, written with the batch.
    func addTLS(_ row: RowValues) { batch.tls.append(row) }
    func addSSH(_ row: RowValues) { batch.ssh.append(row) }
    func addDNS(_ row: RowValues) {
        pendingBytes += 256
        batch.dns.append(row)
    }
    func addHTTP(_ row: RowValues) { batch.http.append(row) }

    /// An anomaly of `flow` (Zeek's weird name where Zeek has one), in the packet `packetIndex`.
    func addAnomaly(_ flow: FlowState, name: AnomalyName, dir: Int, timestamp: Int64, packetIndex: Int, detail: String?) {
        // Past the bound, the first row of each name is still written: a flood of one
        // kind (empty URG segments) must not hide the others (a conflict's row).
        let bit = name.bit
        guard flow.anomalies < Self.anomaliesPerFlow || flow.anomalyNames & bit == 0 else {
            anomaliesNotRecorded += 1
            return
        }
        flow.anomalies += 1
        flow.anomalyNames |= bit
        var row = RowValues(Tables.anomaly)
        row.set("flow_id", flow.totals.flowID)
        row.set("ts", timestamp)
        row.set("dir", dir)
        row.set("packet_index", packetIndex)
        row.set("name", name.rawValue)
        if let detail { row.set("detail", detail) }
        pendingBytes += 128
        anomaliesRecorded += 1
        batch.anomalies.append(row)
    }

    /// One `fragment_inconsistency` (Zeek's weird) per place where the fragments of a
    /// datagram of `flow` disagreed, with both copies in hex (up to 64 bytes each).
    func noteFragmentConflicts(_ conflicts: [FragmentConflict], of flow: FlowState, dir: Int, timestamp: Int64) {
        for c in conflicts {
            addAnomaly(flow, name: .fragmentInconsistency, dir: dir, timestamp: timestamp, packetIndex: c.laterSource.index,
                       detail: "\(c.length) bytes at IP payload offset \(c.offset): earlier \(Hex.encode(c.earlier)), later \(Hex.encode(c.later)); the earlier is kept")
        }
    }

    /// Anomalies recorded (the ingest summary's count), and those past a flow's
    /// `anomaliesPerFlow` (an attacker can make every packet one), counted only.
    public private(set) var anomaliesRecorded = 0
    public private(set) var anomaliesNotRecorded = 0
    static let anomaliesPerFlow = 1000

    /// Overlap conflicts recorded, and overlapping bytes over delivered data that
    /// could not be compared because the archive no longer held them in memory
    /// (the ingest summary's counts).
    public private(set) var conflictsRecorded = 0
    public private(set) var conflictsNotRecorded = 0
    public private(set) var overlapBytesUnchecked = 0

    /// Bytes of both copies one conflict row keeps, and one flow's rows in all.
    static let conflictBytesLimit = 4096
    static let conflictBytesPerFlow = 262_144
    static let conflictRowsPerFlow = 1000

    /// Records a conflict: `earlier` and `later` are the two copies of the bytes at
    /// `streamOffset`; `earlierSegment` is nil when the earlier copy was delivered.
    func addConflict(_ flow: FlowState, dir: Int, streamOffset: Int64, earlier: UnsafeRawBufferPointer,
                     later: UnsafeRawBufferPointer, earlierState: String, earlierPacket: (ts: Int64, index: Int)?,
                     earlierSegment: (offset: Int64, length: Int)?, laterPacket: (ts: Int64, index: Int),
                     laterSegment: (offset: Int64, length: Int), laterKept: Bool) {
        flow.totals.overlapConflicts += 1
        flow.changes &+= 1
        // every conflict counts; a flow's rows are bounded (a flood of them would be
        // rows without end), the rest counted in the ingest summary
        guard flow.conflictRows < Self.conflictRowsPerFlow else {
            conflictsNotRecorded += 1
            return
        }
        flow.conflictRows += 1
        var differing = 0
        for i in 0..<min(earlier.count, later.count) where earlier[i] != later[i] { differing += 1 }
        var row = RowValues(Tables.overlapConflict)
        row.set("flow_id", flow.totals.flowID)
        row.set("dir", dir)
        row.set("stream_offset", streamOffset)
        row.set("length", later.count)
        row.set("differing", differing)
        row.set("earlier_state", earlierState)
        row.set("earlier_ts", earlierPacket?.ts)
        row.set("earlier_packet_index", earlierPacket.map { $0.index >= 0 ? $0.index : nil } ?? nil)
        row.set("earlier_segment_offset", earlierSegment?.offset)
        row.set("earlier_segment_length", earlierSegment?.length)
        row.set("later_ts", laterPacket.ts)
        row.set("later_packet_index", laterPacket.index)
        row.set("later_segment_offset", laterSegment.offset)
        row.set("later_segment_length", laterSegment.length)
        let keep = min(later.count, Self.conflictBytesLimit, max(0, (Self.conflictBytesPerFlow - flow.conflictBytes) / 2))
        if keep > 0 {
            row.set("earlier_bytes", SQLiteValue.blob(Array(earlier.prefix(keep))))
            row.set("later_bytes", SQLiteValue.blob(Array(later.prefix(keep))))
        }
        flow.conflictBytes += 2 * keep
        row.set("bytes_cut", later.count - keep)
        row.set("kept", laterKept ? "later" : "earlier")
        pendingBytes += 256 + 2 * keep
        conflictsRecorded += 1
        batch.conflicts.append(row)
        let held = earlierState == "delivered" ? "delivered" : "queued"
        addAnomaly(flow, name: .rexmitInconsistency, dir: dir, timestamp: laterPacket.ts, packetIndex: laterPacket.index,
                   detail: "\(differing) of \(later.count) bytes at stream offset \(streamOffset) differ from the \(held) copy; "
                       + "the stream keeps the \(laterKept ? "later" : "earlier") one")
    }

    /// Compares bytes that arrived again for a delivered range at `streamOffset`
    /// with the copy the direction's open payload run holds, and records a conflict
    /// where they differ. Bytes the run does not hold are counted as unchecked.
    func compareDelivered(_ flow: FlowState, dir: Int, streamOffset: Int64, later: UnsafeRawBufferPointer,
                          laterPacket: (ts: Int64, index: Int), laterSegment: (offset: Int64, length: Int)) {
        var compared = 0
        // the open run, then the one before it while its batch is still being filled
        var candidate = flow.openRuns[dir]
        var step = 0
        while let run = candidate, step < 2 {
            let from = max(streamOffset, run.streamOffset), to = min(streamOffset + Int64(later.count), run.end)
            if from < to {
                compared += Int(to - from)
                let laterPart = UnsafeRawBufferPointer(rebasing: later[Int(from - streamOffset)..<Int(to - streamOffset)])
                run.bytes.withUnsafeBytes { held in
                    let earlier = UnsafeRawBufferPointer(rebasing: held[Int(from - run.streamOffset)..<Int(to - run.streamOffset)])
                    guard !earlier.sameBytes(as: laterPart) else { return }
                    addConflict(flow, dir: dir, streamOffset: from, earlier: earlier, later: laterPart, earlierState: "delivered",
                                earlierPacket: deliveredBy(flow, run, dir: dir, at: from), earlierSegment: nil,
                                laterPacket: laterPacket, laterSegment: laterSegment, laterKept: false)
                }
            }
            candidate = run.previous
            step += 1
        }
        overlapBytesUnchecked += later.count - compared
    }

    /// The first packet of the delivery that carried byte `offset` of `flow`'s
    /// direction, while the batch still holds that delivery's row (searched from the
    /// newest: conflicts are rare, retransmissions recent).
    private func deliveredBy(_ flow: FlowState, _ run: Run, dir: Int, at offset: Int64) -> (ts: Int64, index: Int)? {
        // a run of a batch already written: its deliveries went with it
        guard run.generation == generation else { return nil }
        let id = flow.totals.flowID
        // bounded: a flood of conflicts must not scan a whole batch each
        var i = batch.deliveries.count - 1
        let stop = max(0, batch.deliveries.count - 4096)
        while i >= stop {
            let d = batch.deliveries[i]
            if d.flowID == id && d.dir == dir && d.streamOffset <= offset && offset < d.streamOffset + Int64(d.length) {
                guard let ts = d.tsFirst else { return nil }
                return (ts, d.firstPacket)
            }
            i -= 1
        }
        return nil
    }

    /// Swaps the originator's and the responder's ends in a new flow's row, while
    /// the row is still pending (false once a commit wrote it).
    func swapEnds(_ flow: FlowState) -> Bool {
        guard flow.handle.generation == generation else { return false }
        let row = flow.handle.row
        swap(&batch.flows[row].client, &batch.flows[row].server)
        swap(&batch.flows[row].clientPort, &batch.flows[row].serverPort)
        return true
    }

    /// Gives the pending row of a new flow its record, whose totals the commit takes.
    func attach(_ flow: FlowState) {
        if flow.handle.generation == generation { batch.flows[flow.handle.row].flow = flow }
    }

    /// Whether commits also write the totals so far of connections still open
    /// (a live capture: its flows' rows then show what they carried up to the
    /// last commit, not only that they began).
    public var recordsOpenFlows = false
    /// Flows with a stream feeding them now, by id (only with `recordsOpenFlows`).
    private var openFlows: [Int64: FlowState] = [:]

    /// A stream of `flow` began (a new connection, or one continuing after its close).
    @inline(__always)
    func opened(_ flow: FlowState) {
        if recordsOpenFlows { openFlows[flow.handle.id] = flow }
        if !continuations.isEmpty, flow.handle.generation == generation,
           let from = continuations.removeValue(forKey: ContinuationKey(flow)) {
            batch.flows[flow.handle.row].continuesFrom = from
            continued.append((from: from, to: flow.handle.id))
        }
    }

    /// Flows open when the archive before this one ended, by key: the first flow of
    /// this archive with one of these keys goes on from it (`ARCHIVE:ID`).
    public var continuations: [ContinuationKey: String] = [:]
    /// The links made: the flow before (`ARCHIVE:ID`) and the id of its continuation here.
    public private(set) var continued: [(from: String, to: Int64)] = []

    /// The flows open now, with their keys (a live capture's, at an archive's end).
    public func openFlowKeys() -> [(key: ContinuationKey, id: Int64)] {
        openFlows.values.map { (ContinuationKey($0), $0.handle.id) }.sorted { $0.id < $1.id }
    }

    /// A stream of `flow` completed. A row still pending takes the flow's totals
    /// at the commit (so the packets after a close, seen soon after, cost no
    /// UPDATE); a written row is updated, unless nothing changed since it was written.
    func finishFlow(_ flow: FlowState) {
        if recordsOpenFlows { openFlows.removeValue(forKey: flow.handle.id) }
        if flow.handle.generation != generation, flow.changes != flow.written {
            batch.flowUpdates.append(flow.snapshot(text: &batch.text))
            flow.written = flow.changes
        }
    }

    /// Writes the batch when it is large enough.
    public func commitIfNeeded() throws {
        if pendingBytes >= batchBytes || batch.deliveries.count >= 500_000 { try commit() }
    }

    /// Hands everything pending to the writer thread, to be written in one
    /// transaction. Runs still open are closed with it: a run never spans two transactions.
    /// `synchronizing`: a file whose bytes the batch refers to (a live capture's
    /// pcap file), flushed to disk by the writer thread before the transaction, so
    /// that the archive never names packets a power loss took away.
    public func commit(synchronizing fd: Int32 = -1) throws {
        if recordsOpenFlows { takeOpenFlowTotals() }
        guard !batch.isEmpty else { return }
        for i in batch.flows.indices {
            guard let flow = batch.flows[i].flow else { continue }
            if flow.finished {
                batch.flows[i].totals = flow.snapshot(text: &batch.text)
                flow.written = flow.changes
            } else if recordsOpenFlows {
                batch.flows[i].totals = flow.snapshot(text: &batch.text)
                flow.progressWritten = flow.changes
            }
            batch.flows[i].flow = nil      // the writer thread gets values only
        }
        let full = batch
        batch = Batch()
        generation += 1
        pendingBytes = 0
        let synced = fd >= 0 ? dup(fd) : -1
        try thread.submit { [self] in
            if synced >= 0 {
                defer { close(synced) }
                if fdatasync(synced) != 0 {
                    throw SyncError(description: "cannot flush the capture file to disk: \(String(cString: strerror(errno)))")
                }
            }
            try sql.connection.transaction { try sql.write(full) }
        }
    }

    /// The totals so far of open flows whose rows were written by an earlier
    /// commit and that changed since (their pending rows take them in `commit`).
    private func takeOpenFlowTotals() {
        for flow in openFlows.values where flow.handle.generation != generation && flow.changes != flow.progressWritten {
            batch.flowUpdates.append(flow.snapshot(text: &batch.text))
            flow.progressWritten = flow.changes
        }
    }

    /// Waits until everything submitted is written; rethrows the first failure.
    public func drain() throws {
        try thread.drain()
    }
}

extension IPAddress {
    /// The decoder's address type for the engine's.
    public init(_ a: Address) {
        self.init(high: a.high, low: a.low, isIPv6: a.isIPv6)
    }
}

/// A capture file the archive names could not be flushed to disk.
public struct SyncError: Error, CustomStringConvertible {
    public var description: String
}
