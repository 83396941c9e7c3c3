import CSQLite
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Applications
import Decoding
import Reassembly

/// What the archive keeps about a capture's packets (capture table).
public struct CaptureTotals: Sendable, Equatable {
    public var counters = DecodeCounters()
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    public init(counters: DecodeCounters = DecodeCounters(), firstTimestamp: Int64? = nil, lastTimestamp: Int64? = nil) {
        self.counters = counters
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
    }
}

/// How much of each direction's bytes is stored.
public struct PayloadPolicy: Sendable, Equatable {
    /// Bytes stored per direction of a flow; nil: all of them. 0 keeps metadata only.
    public var maxBytesPerDirection: Int?
    public init(maxBytesPerDirection: Int? = nil) { self.maxBytesPerDirection = maxBytesPerDirection }
}

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
    public let payloadPolicy: PayloadPolicy
    /// A batch is written once this much payload is pending.
    public var batchBytes = 32 << 20
    /// A payload run is closed once it holds this many bytes.
    public var runBytes = 256 << 10
    /// A flow's `delivery_block` row holds at most this many deliveries.
    public var deliveriesPerBlock = 4096
    /// First buffers of flows' packet blocks (reassembly thread only).
    let buffers = BufferPool()
    /// A flow's `packet_block` row holds at most this many packet records.
    public var packetsPerBlock = 4096

    private let insertCapture, finishCapture, insertFlow, updateFlow, insertPayload, insertBlock, insertGap: Statement
    private let insertPacketBlock, insertHTTP, insertTLS, insertSSH: Statement
    /// Recognises and parses HTTP, TLS and SSH (nil: `--no-apps`). Reassembly thread only.
    var applications: ApplicationRecorder? = ApplicationRecorder()
    /// Whether flows' bytes are read for HTTP, TLS and SSH (`ingest --no-apps` turns it off).
    public var parsesApplications: Bool {
        get { applications != nil }
        set { applications = newValue ? (applications ?? ApplicationRecorder()) : nil }
    }
    /// The text of the `delivery_block` row being written (used on the writer thread only).
    private let blockText = DeliveryBlockText()

    private(set) public var ingestRun: Int64 = 0
    private(set) public var currentCaptureID: Int64 = 0
    private var nextFlowID: Int64
    private var nextPayloadID: Int64
    private var nextDeliveryID: Int64

    struct FlowRow {
        var id: Int64, captureID: Int64, isIPv6: Bool
        var client: Address, clientPort: UInt16, server: Address, serverPort: UInt16
        var firstTimestamp: Int64, firstPacket: Int
        /// The tunnels around the packet that opened it (`flow.encapsulation`).
        var encapsulation: String?
        /// The flow's totals when it finished before its row was written: one
        /// INSERT then replaces an INSERT and an UPDATE. Taken at the commit.
        var totals: RecordingStream.Totals?
        /// The flow's record, until the commit takes its totals (main thread only).
        var flow: FlowState?
        /// What the row holds before the flow's first totals arrive.
        var initialTotals: RecordingStream.Totals {
            RecordingStream.Totals(flowID: id, lastTimestamp: firstTimestamp)
        }
    }
    /// Where a flow's row waits: in batch `generation`, at `row` of its flows.
    struct FlowHandle { var id: Int64, generation: Int, row: Int }
    struct DeliveryRow {
        var id: Int64, flowID: Int64, dir: Int, isStart: Bool, isEnd: Bool, skip: Int, length: Int, stored: Int
        var payloadID: Int64, payloadOffset: Int, streamOffset: Int64
        var tsFirst: Int64?, tsLast: Int64?
        var stats: ReassemblyStats
    }
    struct GapRow { var flowID: Int64, dir: Int, streamOffset: Int64, length: Int?, timestamp: Int64? }
    struct TLSRow {
        var flowID: Int64
        var ts: Int64?
        var version, cipher, curve, serverName, alpnOffered, nextProtocol, ja3, ja3s, ja4, clientVersion, certChain: String?
        var resumed = false, established = false
        var subject, issuer, serial: String?
        var notBefore, notAfter: Int64?
        init(flowID: Int64) { self.flowID = flowID }
    }
    struct SSHRow {
        var flowID: Int64
        var client, server, version, clientSoftware, serverSoftware, hassh, hasshServer, hasshString, hasshServerString: String?
        var kex, hostKey, cipher, mac, compression: String?
        init(flowID: Int64) { self.flowID = flowID }
    }
    /// An `http` row's values, in the table's column order.
    struct HTTPRow { var values: [SQLiteValue] }
    struct PacketBlockRow {
        var flowID: Int64, block: Int, captureID: Int64, packets: Int, first: Int, last: Int, records: [UInt8]
    }
    /// A run of one direction's stored bytes, becoming one payload row. It joins
    /// its batch when created, and takes bytes until it is full, the stream skips,
    /// or its batch is committed (`generation` then differs from the writer's).
    final class Run {
        let id: Int64, flowID: Int64, dir: Int, streamOffset: Int64, generation: Int
        var bytes: [UInt8] = []
        /// Stream offset just past the run's last byte: a run holds contiguous bytes only.
        var end: Int64 { streamOffset + Int64(bytes.count) }
        init(id: Int64, flowID: Int64, dir: Int, streamOffset: Int64, generation: Int) {
            self.id = id; self.flowID = flowID; self.dir = dir; self.streamOffset = streamOffset
            self.generation = generation
        }
    }

    /// Rows waiting to be written in one transaction; handed whole to the writer thread.
    final class Batch {
        var flows: [FlowRow] = []
        var deliveries: [DeliveryRow] = []
        var gaps: [GapRow] = []
        var flowUpdates: [RecordingStream.Totals] = []
        var runs: [Run] = []
        var packetBlocks: [PacketBlockRow] = []
        var http: [HTTPRow] = []
        var tls: [TLSRow] = []
        var ssh: [SSHRow] = []
        /// The text of the flows' last packet blocks, which their totals point into.
        var text: [UInt8] = []
        var isEmpty: Bool {
            flows.isEmpty && deliveries.isEmpty && gaps.isEmpty && flowUpdates.isEmpty && packetBlocks.isEmpty
                && http.isEmpty && tls.isEmpty && ssh.isEmpty
        }
    }

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
        insertCapture = try connection.prepare("""
            INSERT INTO capture(id, ingest_run, path, size, link_type, link_type_name, snaplen, ingested_at, status, stdin_kept,
                                interface, filter)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)
            """)
        finishCapture = try connection.prepare("""
            UPDATE capture SET sha256 = ?, size = ?, packets = ?, bytes = ?, tcp_packets = ?, truncated_payloads = ?,
                skipped_non_ip = ?, skipped_non_tcp = ?, skipped_fragments = ?, skipped_malformed = ?,
                skipped_truncated = ?, skipped_link_type = ?, first_ts = ?, last_ts = ?, encapsulations = ?,
                datagrams_reassembled = ?, fragments_expired = ?, fragment_overlaps = ?, oversized_datagrams = ?,
                tcp_headers_cut = ?, packets_received = ?, kernel_drops = ?, interface_drops = ?
            WHERE id = ?
            """)
        insertFlow = try connection.prepare("""
            INSERT INTO flow(id, capture_id, ip_version, client_ip, client_port, server_ip, server_port,
                             client_ip_key, server_ip_key, first_ts, first_packet, encapsulation, \(Self.totalsColumns))
            VALUES (\(Array(repeating: "?", count: 12 + Self.totalsCount).joined(separator: ", ")))
            """)
        updateFlow = try connection.prepare("""
            UPDATE flow SET \(Self.totalsColumns.split(separator: ",").map { $0.trimmingSpaces + " = ?" }.joined(separator: ", "))
            WHERE id = ?
            """)
        insertPayload = try connection.prepare("INSERT INTO payload(id, flow_id, dir, stream_offset, data) VALUES (?, ?, ?, ?, ?)")
        insertBlock = try connection.prepare("""
            INSERT INTO delivery_block(last_delivery, flow_id, first_delivery, deliveries, records) VALUES (?, ?, ?, ?, ?)
            """)
        insertGap = try connection.prepare("INSERT INTO gap(flow_id, dir, stream_offset, length, ts) VALUES (?, ?, ?, ?, ?)")
        insertHTTP = try connection.prepare("""
            INSERT INTO http(flow_id, trans_depth, ts, method, host, uri, version, user_agent, referrer, origin, status_code,
                status_msg, informational, request_body_len, response_body_len, request_content_type, response_content_type,
                request_headers, response_headers, request_body_offset, request_body_wire_len, response_body_offset,
                response_body_wire_len, request_chunked, response_chunked, incomplete)
            VALUES (\(Array(repeating: "?", count: 26).joined(separator: ", ")))
            """)
        insertTLS = try connection.prepare("""
            INSERT OR REPLACE INTO tls(flow_id, ts, version, cipher, curve, server_name, alpn_offered, next_protocol, resumed,
                established, ja3, ja3s, ja4, client_version, cert_chain_sha256, subject, issuer, serial, not_before, not_after)
            VALUES (\(Array(repeating: "?", count: 20).joined(separator: ", ")))
            """)
        insertSSH = try connection.prepare("""
            INSERT OR REPLACE INTO ssh(flow_id, client, server, version, client_software, server_software, hassh, hassh_server,
                hassh_string, hassh_server_string, kex_alg, host_key_alg, cipher_alg, mac_alg, compression_alg)
            VALUES (\(Array(repeating: "?", count: 15).joined(separator: ", ")))
            """)
        insertPacketBlock = try connection.prepare("""
            INSERT INTO packet_block(flow_id, block, capture_id, packets, first_packet, last_packet, records)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        nextFlowID = (try connection.scalar("SELECT coalesce(max(id), 0) + 1 FROM flow")) ?? 1
        nextPayloadID = (try connection.scalar("SELECT coalesce(max(id), 0) + 1 FROM payload")) ?? 1
        // last_delivery is the rowid: its max is one B-tree descent.
        nextDeliveryID = (try connection.scalar("SELECT coalesce(max(last_delivery), 0) + 1 FROM delivery_block")) ?? 1
        ingestRun = (try connection.scalar("SELECT coalesce(max(ingest_run), 0) + 1 FROM capture")) ?? 1
        nextCaptureID = (try connection.scalar("SELECT coalesce(max(id), 0) + 1 FROM capture")) ?? 1
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
        let run = ingestRun, started = Clock.nowNanoseconds()
        try thread.submit { [self] in
            try connection.transaction {
                let s = insertCapture
                s.reset()
                try s.bind(id, at: 1)
                try s.bind(run, at: 2)
                try s.bind(path, at: 3)
                try s.bind(size, at: 4)
                try s.bind(Int64(dlt), at: 5)
                try s.bind(linkTypeName, at: 6)
                try s.bind(snaplen, at: 7)
                try s.bind(started, at: 8)
                try s.bind(stdinKept ? 1 : 0, at: 9)
                if let interface { try s.bind(interface, at: 10) } else { try s.bindNull(at: 10) }
                if let filter, !filter.isEmpty { try s.bind(filter, at: 11) } else { try s.bindNull(at: 11) }
                try s.step()
            }
        }
        return id
    }

    /// Writes everything pending and the capture's counters (its status stays 'running').
    /// `live`: the kernel's counters while a live capture wrote this row's packets.
    public func recordCounters(_ id: Int64, totals t: CaptureTotals, sha256: String?, size: Int,
                               live: LiveCounters? = nil) throws {
        try commit()
        try thread.submit { [self] in
            try connection.transaction {
                let s = finishCapture
                s.reset()
                if let sha256 { try s.bind(sha256, at: 1) } else { try s.bindNull(at: 1) }
                let c = t.counters
                let values = [size, c.packets, c.bytes, c.tcpPackets, c.truncatedPayloads, c.nonIP, c.nonTCP, c.fragments,
                              c.malformed, c.truncated, c.unsupportedLink]
                for (i, v) in values.enumerated() { try s.bind(v, at: Int32(i + 2)) }
                try bindOptional(s, t.firstTimestamp, at: 13)
                try bindOptional(s, t.lastTimestamp, at: 14)
                if let json = c.encapsulated.json { try s.bind(json, at: 15) } else { try s.bindNull(at: 15) }
                try s.bind(c.datagramsReassembled, at: 16)
                try s.bind(c.fragmentsExpired, at: 17)
                try s.bind(c.fragmentOverlaps, at: 18)
                try s.bind(c.oversizedDatagrams, at: 19)
                try s.bind(c.tcpHeadersCut, at: 20)
                try bindOptional(s, live.map { Int64($0.received) }, at: 21)
                try bindOptional(s, live.map { Int64($0.kernelDrops) }, at: 22)
                try bindOptional(s, live.map { Int64($0.interfaceDrops) }, at: 23)
                try s.bind(id, at: 24)
                try s.step()
            }
        }
    }

    /// Syncs a closed-to-the-caller file's bytes to disk and closes it, on the
    /// writer thread, before what is submitted after (a live capture's rotated file:
    /// its reading thread does not wait for the disk).
    public func syncAndClose(_ fd: Int32, name: String) throws {
        try thread.submit {
            defer { close(fd) }
            if fdatasync(fd) != 0 {
                throw SQLiteError(code: SQLITE_IOERR, message: "\(name): cannot flush the capture file to disk: \(String(cString: strerror(errno)))", sql: nil)
            }
        }
    }

    /// Notes that a live capture's file was removed (`--keep`).
    public func markRemoved(path: String, at time: Int64) throws {
        try thread.submit { [self] in
            let s = try connection.prepare("UPDATE capture SET removed_at = ? WHERE path = ? AND removed_at IS NULL")
            try s.bind(time, at: 1)
            try s.bind(path, at: 2)
            try s.step()
        }
    }

    /// Marks a capture complete, or failed with the reason.
    public func setStatus(_ id: Int64, failure: String?) throws {
        let finished = Clock.nowNanoseconds()
        try thread.submit { [self] in
            try writeStatus(id, failure: failure, finished: finished)
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
        thread.runAfterAll { [self] in
            try? connection.transaction {
                for id in ids { try writeStatus(id, failure: failure, finished: finished) }
            }
        }
    }

    private func writeStatus(_ id: Int64, failure: String?, finished: Int64) throws {
        let s = try connection.prepare("UPDATE capture SET status = ?, error = ?, finished_at = ? WHERE id = ?")
        try s.bind(failure == nil ? "complete" : "failed", at: 1)
        if let failure { try s.bind(failure, at: 2) } else { try s.bindNull(at: 2) }
        try s.bind(finished, at: 3)
        try s.bind(id, at: 4)
        try s.step()
    }

    private func bindOptional(_ s: Statement, _ v: Int64?, at i: Int32) throws {
        if let v { try s.bind(v, at: i) } else { try s.bindNull(at: i) }
    }

    // MARK: flows and deliveries (called by RecordingStream)

    func addFlow(isIPv6: Bool, client: Address, clientPort: UInt16, server: Address, serverPort: UInt16,
                 firstTimestamp: Int64, firstPacket: Int, encapsulation: String? = nil) -> FlowHandle {
        let id = nextFlowID
        nextFlowID += 1
        flowsCreated += 1
        pendingBytes += MemoryLayout<FlowRow>.stride + 256     // the row, and its flow's first run and blocks
        batch.flows.append(FlowRow(id: id, captureID: currentCaptureID, isIPv6: isIPv6, client: client, clientPort: clientPort,
                                   server: server, serverPort: serverPort, firstTimestamp: firstTimestamp, firstPacket: firstPacket,
                                   encapsulation: encapsulation))
        return FlowHandle(id: id, generation: generation, row: batch.flows.count - 1)
    }

    /// Records one delivery; `store` bytes of it (from its start) are copied out of
    /// `sg`, into `run` (the direction's open run) or a new run that replaces it.
    func addDelivery(flowID: Int64, dir: Int, run open: inout Run?, sg: ScatterGather, isStart: Bool, isEnd: Bool, skip: Int,
                     length: Int, store: Int, streamOffset: Int64, tsFirst: Int64?, tsLast: Int64?, stats: ReassemblyStats) {
        var payloadID: Int64 = 0, payloadOffset = 0
        if store > 0 {
            let run: Run
            if let open, open.generation == generation, open.bytes.count < runBytes, open.end == streamOffset {
                run = open
            } else {
                run = Run(id: nextPayloadID, flowID: flowID, dir: dir, streamOffset: streamOffset, generation: generation)
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
            }
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
        // the row itself counts too: with many small flows (100,000 of a few KB),
        // rows, not payload, are most of a batch's memory
        pendingBytes += MemoryLayout<DeliveryRow>.stride
        bytesDelivered += length
        bytesStored += store
        batch.deliveries.append(DeliveryRow(id: nextDeliveryID, flowID: flowID, dir: dir, isStart: isStart, isEnd: isEnd, skip: skip,
                                      length: length, stored: store, payloadID: payloadID, payloadOffset: payloadOffset,
                                      streamOffset: streamOffset, tsFirst: tsFirst, tsLast: tsLast, stats: stats))
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

    func addTLS(_ row: TLSRow) { batch.tls.append(row) }
    func addSSH(_ row: SSHRow) { batch.ssh.append(row) }

    func addHTTP(flowID: Int64, _ t: HTTPTransaction, ts: Int64?) {
        func text(_ s: String?) -> SQLiteValue { s.map { .text($0) } ?? .null }
        func headers(_ m: HTTPMessage?) -> SQLiteValue {
            guard let m else { return .null }
            return .text("[" + m.headers.map { "[" + JSONText.string($0.name) + "," + JSONText.string($0.value) + "]" }
                .joined(separator: ",") + "]")
        }
        let q = t.request, r = t.response
        let values: [SQLiteValue] = [
            .integer(flowID), .integer(Int64(t.depth)), ts.map { .integer($0) } ?? .null,
            text(q?.method), text(q?.header("host")), text(q?.uri), text(q?.version ?? r?.version),
            text(q?.header("user-agent")), text(q?.header("referer")), text(q?.header("origin")),
            r.map { .integer(Int64($0.statusCode)) } ?? .null, text(r?.reason),
            t.informational.isEmpty ? .null : .text("[" + t.informational.map(String.init).joined(separator: ",") + "]"),
            .integer(q?.bodyLength ?? 0), .integer(r?.bodyLength ?? 0),
            text(q?.header("content-type")), text(r?.header("content-type")),
            headers(q), headers(r),
            q.map { .integer($0.bodyStart) } ?? .null, q.map { .integer($0.bodyWireLength) } ?? .null,
            r.map { .integer($0.bodyStart) } ?? .null, r.map { .integer($0.bodyWireLength) } ?? .null,
            .integer(q?.chunked == true ? 1 : 0), .integer(r?.chunked == true ? 1 : 0),
            .integer(q?.incomplete == true || r?.incomplete == true || r == nil ? 1 : 0),
        ]
        batch.http.append(HTTPRow(values: values))
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
                    throw SQLiteError(code: SQLITE_IOERR, message: "cannot flush the capture file to disk: \(String(cString: strerror(errno)))", sql: nil)
                }
            }
            try connection.transaction { try write(full) }
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

    private func write(_ b: Batch) throws {
        for f in b.flows { try write(f, b) }
        for r in b.runs { try write(r) }
        try writeBlocks(b.deliveries)
        for g in b.gaps { try write(g) }
        for p in b.packetBlocks { try write(p) }
        for h in b.http {
            let st = insertHTTP
            st.reset()
            try st.bind(h.values)
            try st.step()
        }
        for t in b.tls {
            let st = insertTLS
            st.reset()
            let values: [SQLiteValue] = [.integer(t.flowID), t.ts.map { .integer($0) } ?? .null] +
                [t.version, t.cipher, t.curve, t.serverName, t.alpnOffered, t.nextProtocol].map { $0.map { .text($0) } ?? .null } +
                [.integer(t.resumed ? 1 : 0), .integer(t.established ? 1 : 0)] +
                [t.ja3, t.ja3s, t.ja4, t.clientVersion, t.certChain, t.subject, t.issuer, t.serial].map { $0.map { .text($0) } ?? .null } +
                [t.notBefore, t.notAfter].map { $0.map { .integer($0) } ?? .null }
            try st.bind(values)
            try st.step()
        }
        for r in b.ssh {
            let st = insertSSH
            st.reset()
            let values: [SQLiteValue] = [.integer(r.flowID)] +
                [r.client, r.server, r.version, r.clientSoftware, r.serverSoftware, r.hassh, r.hasshServer, r.hasshString,
                 r.hasshServerString, r.kex, r.hostKey, r.cipher, r.mac, r.compression].map { $0.map { .text($0) } ?? .null }
            try st.bind(values)
            try st.step()
        }
        // In id order: the rows' pages are then visited once each, in order
        // (connections complete in hash order at the end of an ingest).
        for u in b.flowUpdates.sorted(by: { $0.flowID < $1.flowID }) { try write(u, b) }
    }

    /// The columns of `flow` that a flow's totals fill, in the order `bindTotals` binds them.
    static let totalsColumns = """
        last_ts, c2s_bytes, s2c_bytes, c2s_stored, s2c_stored, c2s_data_packets, s2c_data_packets, gaps, \
        c2s_closed, s2c_closed, complete, c2s_packets, s2c_packets, c2s_ip_bytes, s2c_ip_bytes, c2s_missed, s2c_missed, \
        overlap_bytes, overlap_packets, queued_bytes, queued_packets, conn_state, history, \
        packet_blocks, packet_capture_id, packet_records, app, app_host
        """
    static let totalsCount = 28

    /// Binds a flow's totals from parameter `first` on (`totalsCount` of them).
    private func bindTotals(_ t: RecordingStream.Totals, _ s: Statement, from first: Int32, _ b: Batch) throws {
        let numbers = [t.bytes[0], t.bytes[1], t.stored[0], t.stored[1], t.dataPackets[0], t.dataPackets[1], t.gaps,
                       t.closed[0] ? 1 : 0, t.closed[1] ? 1 : 0, t.complete ? 1 : 0, t.packets[0], t.packets[1],
                       t.ipBytes[0], t.ipBytes[1], t.missed[0], t.missed[1],
                       t.overlapBytes, t.overlapPackets, t.queuedBytes, t.queuedPackets]
        try s.bind(t.lastTimestamp, at: first)
        for (i, v) in numbers.enumerated() { try s.bind(v, at: first + 1 + Int32(i)) }
        // NULL until the flow's first stream completes.
        if let state = t.connState { try s.bind(state, at: first + 21) } else { try s.bindNull(at: first + 21) }
        if let history = t.history { try s.bind(history, at: first + 22) } else { try s.bindNull(at: first + 22) }
        try s.bind(t.packetBlocks, at: first + 23)
        if let tail = t.packetTail {
            try s.bind(tail.captureID, at: first + 24)
            try b.text.withUnsafeBytes { try s.bind(text: UnsafeRawBufferPointer(rebasing: $0[tail.records]), at: first + 25) }
        } else {
            try s.bindNull(at: first + 24)
            try s.bindNull(at: first + 25)
        }
        if let app = t.app { try s.bind(app, at: first + 26) } else { try s.bindNull(at: first + 26) }
        if let host = t.appHost { try s.bind(host, at: first + 27) } else { try s.bindNull(at: first + 27) }
    }

    private func write(_ f: FlowRow, _ b: Batch) throws {
        let s = insertFlow
        s.reset()
        try s.bind(f.id, at: 1)
        try s.bind(f.captureID, at: 2)
        try s.bind(f.isIPv6 ? 6 : 4, at: 3)
        try s.bind(IPAddress(f.client).description, at: 4)
        try s.bind(Int(f.clientPort), at: 5)
        try s.bind(IPAddress(f.server).description, at: 6)
        try s.bind(Int(f.serverPort), at: 7)
        try IPAddress(f.client).withBytes16 { b throws in try s.bind(bytes: b, at: 8) }
        try IPAddress(f.server).withBytes16 { b throws in try s.bind(bytes: b, at: 9) }
        try s.bind(f.firstTimestamp, at: 10)
        try s.bind(f.firstPacket, at: 11)
        if let e = f.encapsulation { try s.bind(e, at: 12) } else { try s.bindNull(at: 12) }
        // A flow still open when its batch is written: its totals so far (an UPDATE follows).
        try bindTotals(f.totals ?? f.initialTotals, s, from: 13, b)
        try s.step()
    }

    private func write(_ r: Run) throws {
        let s = insertPayload
        s.reset()
        try s.bind(r.id, at: 1)
        try s.bind(r.flowID, at: 2)
        try s.bind(r.dir, at: 3)
        try s.bind(r.streamOffset, at: 4)
        try r.bytes.withUnsafeBytes { b throws in
            try s.bind(borrowing: b, at: 5)
            defer { s.reset() }      // SQLite must not keep the pointer past this scope
            try s.step()
        }
    }

    /// Writes deliveries as `delivery_block` rows: one per flow (more past
    /// `deliveriesPerBlock`), each with its deliveries in call order.
    /// (schema/0003_delivery_blocks.sql says why deliveries are not rows of their own.)
    /// The blocks are built one at a time in one buffer, flow by flow: building all
    /// of a batch's blocks at once took a buffer per flow, 100 MB and more with
    /// 100,000 flows in a batch.
    private func writeBlocks(_ deliveries: [DeliveryRow]) throws {
        // Each flow's deliveries together, in call order (ids rise with the index).
        var order = deliveries.indices.map { (flowID: deliveries[$0].flowID, index: $0) }
        order.sort(by: <)
        let text = blockText, s = insertBlock
        var start = 0
        while start < order.count {
            let flowID = order[start].flowID
            text.reset()
            var end = start
            while end < order.count, end - start < deliveriesPerBlock, order[end].flowID == flowID {
                let d = deliveries[order[end].index], st = d.stats
                text.append(id: d.id, dir: d.dir, isStart: d.isStart, isEnd: d.isEnd, skip: d.skip, length: d.length,
                            stored: d.stored, payloadID: d.stored > 0 ? d.payloadID : nil,
                            payloadOffset: d.stored > 0 ? d.payloadOffset : nil, streamOffset: d.streamOffset,
                            tsFirst: d.tsFirst, tsLast: d.tsLast, packets: st.packets, chunks: st.chunks,
                            queuedBytes: st.queuedBytes, queuedPackets: st.queuedPackets,
                            overlapBytes: st.overlapBytes, overlapPackets: st.overlapPackets)
                end += 1
            }
            s.reset()
            try s.bind(deliveries[order[end - 1].index].id, at: 1)
            try s.bind(flowID, at: 2)
            try s.bind(deliveries[order[start].index].id, at: 3)
            try s.bind(end - start, at: 4)
            try text.withText { text throws in
                try s.bind(borrowingText: text, at: 5)
                defer { s.reset() }      // SQLite must not keep the pointer past this scope
                try s.step()
            }
            start = end
        }
    }

    private func write(_ g: GapRow) throws {
        let s = insertGap
        s.reset()
        try s.bind(g.flowID, at: 1)
        try s.bind(g.dir, at: 2)
        try s.bind(g.streamOffset, at: 3)
        if let length = g.length { try s.bind(length, at: 4) } else { try s.bindNull(at: 4) }
        try bindOptional(s, g.timestamp, at: 5)
        try s.step()
    }

    private func write(_ p: PacketBlockRow) throws {
        let s = insertPacketBlock
        s.reset()
        try s.bind(p.flowID, at: 1)
        try s.bind(p.block, at: 2)
        try s.bind(p.captureID, at: 3)
        try s.bind(p.packets, at: 4)
        try s.bind(p.first, at: 5)
        try s.bind(p.last, at: 6)
        try p.records.withUnsafeBytes { text throws in
            try s.bind(borrowingText: text, at: 7)
            defer { s.reset() }      // SQLite must not keep the pointer past this scope
            try s.step()
        }
    }

    private func write(_ u: RecordingStream.Totals, _ b: Batch) throws {
        let s = updateFlow
        s.reset()
        try bindTotals(u, s, from: 1, b)
        try s.bind(u.flowID, at: Int32(Self.totalsCount + 1))
        try s.step()
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\n" { s.removeFirst() }
        while s.last == " " || s.last == "\n" { s.removeLast() }
        return s
    }
}

extension IPAddress {
    /// The decoder's address type for the engine's.
    public init(_ a: Address) {
        self.init(high: a.high, low: a.low, isIPv6: a.isIPv6)
    }
}

/// A serial queue that runs writes on their own thread, at most two behind the
/// caller, and keeps the first failure for `drain` (or the next `submit`) to throw.
final class WriterThread: @unchecked Sendable {
    private let queue = DispatchQueue(label: "flowdb.archive-writer")
    private let slots: DispatchSemaphore

    init(depth: Int = 2) {
        slots = DispatchSemaphore(value: depth)
        pthread_mutex_init(&mutex, nil)
    }
    private var mutex = pthread_mutex_t()
    private var failure: Error?      // guarded by mutex

    deinit { pthread_mutex_destroy(&mutex) }

    private func firstFailure() -> Error? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return failure
    }

    func submit(_ work: @escaping () throws -> Void) throws {
        if let failure = firstFailure() { throw failure }
        slots.wait()
        let box = UncheckedBox(work)
        queue.async { [self] in
            defer { slots.signal() }
            guard firstFailure() == nil else { return }
            do {
                try box.value()
            } catch {
                pthread_mutex_lock(&mutex)
                if failure == nil { failure = error }
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    func drain() throws {
        queue.sync {}
        if let failure = firstFailure() { throw failure }
    }

    /// Runs `work` on the writer thread after everything submitted, even after a failure.
    func runAfterAll(_ work: () -> Void) {
        queue.sync(execute: work)
    }
}

/// Hands a value to the writer thread; the caller no longer touches it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A live capture's counters from the kernel (libpcap's `pcap_stats`), for its
/// `capture` row: packets handed to the capture, dropped by the kernel, dropped
/// by the interface.
public struct LiveCounters: Sendable, Equatable {
    public var received: Int
    public var kernelDrops: Int
    public var interfaceDrops: Int
    public init(received: Int, kernelDrops: Int, interfaceDrops: Int) {
        self.received = received
        self.kernelDrops = kernelDrops
        self.interfaceDrops = interfaceDrops
    }
}
