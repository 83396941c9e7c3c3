import Applications
import Decoding
import Digest
import Reassembly
import Store

/// The SQL side of recording: writes a batch's rows in one transaction, on the
/// writer thread only. Every statement's columns and binds come from the
/// declarations of `Tables`; capture rows go through the `CaptureCatalog`.
final class BatchWriter {
    let connection: SQLiteConnection
    let catalog: CaptureCatalog
    /// A flow's `delivery_block` row holds at most this many deliveries.
    var deliveriesPerBlock = 4096
    private let insertFlow, updateFlow, insertPayload, insertBlock, insertGap, insertPacketBlock: Statement
    private let insertHTTP, insertTLS, insertSSH, insertDNS, insertAnomaly, insertConflict: Statement
    /// The text of the `delivery_block` row being written.
    private let blockText = DeliveryBlockText()
    /// Each new flow's Community ID (writer thread only).
    private let communityIDs = CommunityID.Hasher()

    init(connection: SQLiteConnection) throws {
        self.connection = connection
        catalog = CaptureCatalog(connection)
        insertFlow = try connection.prepare(Tables.flowIdentity.insert(followedBy: Tables.flowTotals))
        updateFlow = try connection.prepare(Tables.flowTotals.update(where: "id"))
        insertPayload = try connection.prepare(Tables.payload.insert())
        insertBlock = try connection.prepare(Tables.deliveryBlock.insert())
        insertGap = try connection.prepare(Tables.gap.insert())
        insertPacketBlock = try connection.prepare(Tables.packetBlock.insert())
        insertHTTP = try connection.prepare(Tables.http.insert())
        insertTLS = try connection.prepare(Tables.tls.insert(orReplace: true))
        insertSSH = try connection.prepare(Tables.ssh.insert(orReplace: true))
        insertDNS = try connection.prepare(Tables.dns.insert())
        insertAnomaly = try connection.prepare(Tables.anomaly.insert())
        insertConflict = try connection.prepare(Tables.overlapConflict.insert())
    }

    /// Writes every row of `b` (the caller holds the transaction).
    func write(_ b: Batch) throws {
        for f in b.flows {
            try step(insertFlow) { s in
                try Self.bindIdentity(f, communityID: FlowCommunityID.of(f, with: communityIDs), to: s)
                // A flow still open when its batch is written: its totals so far (an UPDATE follows).
                try Self.bindTotals(f.totals ?? f.initialTotals, b, to: s, from: Int32(Tables.flowIdentity.count + 1))
            }
        }
        for r in b.runs { try write(r) }
        try writeBlocks(b.deliveries)
        for g in b.gaps {
            try insert(insertGap, Tables.gap) { row in
                try row.bind("flow_id", g.flowID); try row.bind("dir", g.dir); try row.bind("stream_offset", g.streamOffset)
                try row.bind("length", g.length.map(Int64.init)); try row.bind("ts", g.timestamp)
                try row.step()
            }
        }
        for p in b.packetBlocks { try write(p) }
        for (statement, rows) in [(insertHTTP, b.http), (insertTLS, b.tls), (insertSSH, b.ssh), (insertDNS, b.dns), (insertAnomaly, b.anomalies), (insertConflict, b.conflicts)] {
            for row in rows { try step(statement) { s in try row.columns.bind(row, to: s) } }
        }
        // In id order: the rows' pages are then visited once each, in order
        // (connections complete in hash order at the end of an ingest).
        for u in b.flowUpdates.sorted(by: { $0.flowID < $1.flowID }) {
            try step(updateFlow) { s in
                try Self.bindTotals(u, b, to: s)
                try s.bind(u.flowID, at: Int32(Tables.flowTotals.count + 1))
            }
        }
    }

    /// Binds what a flow's row knows from its first packet (`Tables.flowIdentity`).
    static func bindIdentity(_ f: FlowRow, communityID: String, to s: Statement, from first: Int32 = 1) throws {
        var row = ColumnBinder(Tables.flowIdentity, s, from: first)
        let client = IPAddress(f.client), server = IPAddress(f.server)
        try row.bind("id", f.id)
        try row.bind("capture_id", f.captureID)
        try row.bind("ip_version", f.isIPv6 ? 6 : 4)
        try row.bind("client_ip", client.description)
        try row.bind("client_port", Int(f.clientPort))
        try row.bind("server_ip", server.description)
        try row.bind("server_port", Int(f.serverPort))
        try client.withBytes16 { try row.bind("client_ip_key", bytes: $0) }
        try server.withBytes16 { try row.bind("server_ip_key", bytes: $0) }
        try row.bind("first_ts", f.firstTimestamp)
        try row.bind("first_packet", f.firstPacket)
        try row.bind("encapsulation", f.encapsulation)
        try row.bind("proto", f.proto.name)
        try row.bind("community_id", communityID)
        try row.bind("continues_from", f.continuesFrom)
        row.finish()
    }

    /// Binds a flow's totals (`Tables.flowTotals`); its last packet block's text is in `batch`.
    static func bindTotals(_ t: RecordingStream.Totals, _ batch: Batch, to s: Statement, from first: Int32 = 1) throws {
        var row = ColumnBinder(Tables.flowTotals, s, from: first)
        try row.bind("last_ts", t.lastTimestamp)
        try row.bind("c2s_bytes", t.bytes[0]); try row.bind("s2c_bytes", t.bytes[1])
        try row.bind("c2s_stored", t.stored[0]); try row.bind("s2c_stored", t.stored[1])
        try row.bind("c2s_data_packets", t.dataPackets[0]); try row.bind("s2c_data_packets", t.dataPackets[1])
        try row.bind("gaps", t.gaps)
        try row.bind("c2s_closed", t.closed[0]); try row.bind("s2c_closed", t.closed[1])
        try row.bind("complete", t.complete)
        try row.bind("c2s_packets", t.packets[0]); try row.bind("s2c_packets", t.packets[1])
        try row.bind("c2s_ip_bytes", t.ipBytes[0]); try row.bind("s2c_ip_bytes", t.ipBytes[1])
        try row.bind("c2s_missed", t.missed[0]); try row.bind("s2c_missed", t.missed[1])
        try row.bind("overlap_bytes", t.overlapBytes); try row.bind("overlap_packets", t.overlapPackets)
        try row.bind("queued_bytes", t.queuedBytes); try row.bind("queued_packets", t.queuedPackets)
        // NULL until the flow's first stream completes
        try row.bind("conn_state", t.connState)
        try row.bind("history", t.history)
        try row.bind("packet_blocks", t.packetBlocks)
        try row.bind("packet_capture_id", t.packetTail?.captureID)
        if let tail = t.packetTail {
            try batch.text.withUnsafeBytes { try row.bind("packet_records", text: UnsafeRawBufferPointer(rebasing: $0[tail.records])) }
        } else {
            try row.bind("packet_records", text: nil)
        }
        try row.bind("app", t.app)
        try row.bind("app_host", t.appHost)
        try row.bind("overlap_conflicts", t.overlapConflicts)
        row.finish()
    }

    @inline(__always)
    private func step(_ s: Statement, _ bind: (Statement) throws -> Void) throws {
        s.reset()
        try bind(s)
        try s.step()
    }

    private func write(_ r: Run) throws {
        try insert(insertPayload, Tables.payload) { row in
            try row.bind("id", r.id); try row.bind("flow_id", r.flowID); try row.bind("dir", r.dir)
            try row.bind("stream_offset", r.streamOffset)
            try r.bytes.withUnsafeBytes { try row.bind("data", borrowing: $0); try row.step() }
        }
    }

    /// Runs `s`, the insert of a row of `columns`: `bind` binds every column and
    /// steps, inside the scope of any bytes it binds in place (`borrowing`).
    private func insert(_ s: Statement, _ columns: TableColumns, _ bind: (inout ColumnBinder) throws -> Void) throws {
        s.reset()
        defer { s.reset() }      // SQLite must not keep a borrowed pointer past this scope
        var row = ColumnBinder(columns, s)
        try bind(&row)
        precondition(row.stepped, "\(columns.table): a row was bound but not written")
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
        let text = blockText
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
            let last = deliveries[order[end - 1].index].id, first = deliveries[order[start].index].id, count = end - start
            try insert(insertBlock, Tables.deliveryBlock) { row in
                try row.bind("last_delivery", last); try row.bind("flow_id", flowID)
                try row.bind("first_delivery", first); try row.bind("deliveries", count)
                try text.withText { try row.bind("records", borrowingText: $0); try row.step() }
            }
            start = end
        }
    }

    private func write(_ p: PacketBlockRow) throws {
        try insert(insertPacketBlock, Tables.packetBlock) { row in
            try row.bind("flow_id", p.flowID); try row.bind("block", p.block); try row.bind("capture_id", p.captureID)
            try row.bind("packets", p.packets); try row.bind("first_packet", p.first); try row.bind("last_packet", p.last)
            try p.records.withUnsafeBytes { try row.bind("records", borrowingText: $0); try row.step() }
        }
    }
}
