import Applications
import Decoding
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
    private let insertHTTP, insertTLS, insertSSH: Statement
    /// The text of the `delivery_block` row being written.
    private let blockText = DeliveryBlockText()

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
    }

    /// Writes every row of `b` (the caller holds the transaction).
    func write(_ b: Batch) throws {
        for f in b.flows {
            try step(insertFlow) { s in
                try Tables.flowIdentity.bind(Self.identity(f), to: s)
                // A flow still open when its batch is written: its totals so far (an UPDATE follows).
                try Tables.flowTotals.bind(Self.totals(f.totals ?? f.initialTotals, b), to: s,
                                           from: Int32(Tables.flowIdentity.count + 1))
            }
        }
        for r in b.runs { try write(r) }
        try writeBlocks(b.deliveries)
        for g in b.gaps {
            let row = Tables.gap.row(["flow_id": g.flowID, "dir": g.dir, "stream_offset": g.streamOffset,
                                      "length": g.length, "ts": g.timestamp])
            try step(insertGap) { s in try Tables.gap.bind(row, to: s) }
        }
        for p in b.packetBlocks { try write(p) }
        for (statement, rows) in [(insertHTTP, b.http), (insertTLS, b.tls), (insertSSH, b.ssh)] {
            for row in rows { try step(statement) { s in try row.columns.bind(row, to: s) } }
        }
        // In id order: the rows' pages are then visited once each, in order
        // (connections complete in hash order at the end of an ingest).
        for u in b.flowUpdates.sorted(by: { $0.flowID < $1.flowID }) {
            try step(updateFlow) { s in
                try Tables.flowTotals.bind(Self.totals(u, b), to: s)
                try s.bind(u.flowID, at: Int32(Tables.flowTotals.count + 1))
            }
        }
    }

    /// What a flow's row knows from its first packet.
    static func identity(_ f: FlowRow) -> RowValues {
        var row = Tables.flowIdentity.row()
        let client = IPAddress(f.client), server = IPAddress(f.server)
        row.set("id", f.id)
        row.set("capture_id", f.captureID)
        row.set("ip_version", f.isIPv6 ? 6 : 4)
        row.set("client_ip", client.description)
        row.set("client_port", f.clientPort)
        row.set("server_ip", server.description)
        row.set("server_port", f.serverPort)
        row.set("client_ip_key", SQLiteValue.blob(client.withBytes16 { Array($0) }))
        row.set("server_ip_key", SQLiteValue.blob(server.withBytes16 { Array($0) }))
        row.set("first_ts", f.firstTimestamp)
        row.set("first_packet", f.firstPacket)
        row.set("encapsulation", f.encapsulation)
        return row
    }

    /// A flow's totals; its last packet block's text is in `batch`.
    static func totals(_ t: RecordingStream.Totals, _ batch: Batch) -> RowValues {
        var row = Tables.flowTotals.row()
        row.set("last_ts", t.lastTimestamp)
        for (dir, prefix) in ["c2s_", "s2c_"].enumerated() {
            row.set(prefix + "bytes", t.bytes[dir])
            row.set(prefix + "stored", t.stored[dir])
            row.set(prefix + "data_packets", t.dataPackets[dir])
            row.set(prefix + "closed", t.closed[dir])
            row.set(prefix + "packets", t.packets[dir])
            row.set(prefix + "ip_bytes", t.ipBytes[dir])
            row.set(prefix + "missed", t.missed[dir])
        }
        row.set("gaps", t.gaps)
        row.set("complete", t.complete)
        row.set("overlap_bytes", t.overlapBytes)
        row.set("overlap_packets", t.overlapPackets)
        row.set("queued_bytes", t.queuedBytes)
        row.set("queued_packets", t.queuedPackets)
        // NULL until the flow's first stream completes
        row.set("conn_state", t.connState)
        row.set("history", t.history)
        row.set("packet_blocks", t.packetBlocks)
        if let tail = t.packetTail {
            row.set("packet_capture_id", tail.captureID)
            row.set("packet_records", String(decoding: batch.text[tail.records], as: UTF8.self))
        }
        row.set("app", t.app)
        row.set("app_host", t.appHost)
        return row
    }

    @inline(__always)
    private func step(_ s: Statement, _ bind: (Statement) throws -> Void) throws {
        s.reset()
        try bind(s)
        try s.step()
    }

    private func write(_ r: Run) throws {
        let row = Tables.payload.row(["id": r.id, "flow_id": r.flowID, "dir": r.dir, "stream_offset": r.streamOffset])
        try r.bytes.withUnsafeBytes { try insert(insertPayload, row, borrowing: $0, into: "data", asText: false) }
    }

    /// Runs `s`, the insert of `row`'s table, with `bytes` bound in place (no
    /// copy) to column `column`, as a blob or as text.
    private func insert(_ s: Statement, _ row: RowValues, borrowing bytes: UnsafeRawBufferPointer, into column: String,
                        asText: Bool) throws {
        s.reset()
        try row.columns.bind(row, to: s)
        let parameter = row.columns.parameter(column)
        if asText { try s.bind(borrowingText: bytes, at: parameter) } else { try s.bind(borrowing: bytes, at: parameter) }
        defer { s.reset() }      // SQLite must not keep the pointer past this scope
        try s.step()
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
            let row = Tables.deliveryBlock.row(["last_delivery": deliveries[order[end - 1].index].id, "flow_id": flowID,
                                                "first_delivery": deliveries[order[start].index].id,
                                                "deliveries": end - start])
            try text.withText { try insert(insertBlock, row, borrowing: $0, into: "records", asText: true) }
            start = end
        }
    }

    private func write(_ p: PacketBlockRow) throws {
        let row = Tables.packetBlock.row(["flow_id": p.flowID, "block": p.block, "capture_id": p.captureID,
                                          "packets": p.packets, "first_packet": p.first, "last_packet": p.last])
        try p.records.withUnsafeBytes { try insert(insertPacketBlock, row, borrowing: $0, into: "records", asText: true) }
    }
}
