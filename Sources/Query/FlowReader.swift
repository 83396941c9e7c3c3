import Digest
import FileIO
import Store

/// One delivery of a flow, with its stored bytes (or, from `deliveries(flowID:)`,
/// where they are, for `bytes(of:)`).
public struct ChunkRecord: Sendable, Equatable {
    public var id: Int64
    public var dir: Int
    public var isStart: Bool
    public var isEnd: Bool
    public var skip: Int
    public var length: Int
    public var stored: Int
    public var streamOffset: Int64
    public var tsFirst: Int64?
    public var tsLast: Int64?
    public var bytes: [UInt8]
    /// The payload run holding the stored bytes, and where they start in it.
    var payloadID: Int64? = nil
    var payloadOffset = 0
}

/// A skipped gap of a flow.
public struct GapRecord: Sendable, Equatable {
    public var dir: Int
    public var streamOffset: Int64
    public var length: Int?
}

/// Reads a flow's content back from the archive.
public final class FlowReader {
    let chunkRows, gapRows, payloadRow, runs: Statement
    let connection: SQLiteConnection
    /// Read the flows as a target would have (`--policy`): their conflicts resolved
    /// by its rule. nil reads the streams as stored.
    public var policy: TargetPolicy? {
        didSet { patchesFlow = nil }
    }
    /// The resolution of the flow being read, and its flow.
    private var patches: PolicyPatches?
    private var patchesFlow: Int64?
    /// Conflicting bytes of the flows read whose copies the archive did not keep
    /// (shown as stored whatever the policy).
    public private(set) var unresolvedConflicts = 0

    /// Loads the policy's resolution of `flowID`'s conflicts, once per flow.
    private func preparePatches(_ flowID: Int64) throws {
        guard let policy else { patches = nil; return }
        guard patchesFlow != flowID else { return }
        let resolved = PolicyPatches(try conflicts(flowID: flowID), policy: policy)
        unresolvedConflicts += resolved.unresolved
        patches = resolved.isEmpty ? nil : resolved
        patchesFlow = flowID
    }

    public init(archive: Archive) throws {
        let c = archive.connection
        connection = c
        chunkRows = try c.prepare("""
            SELECT id, dir, is_start, is_end, skip, length, stored, payload_id, payload_offset, stream_offset, ts_first, ts_last
            FROM delivery WHERE flow_id = ? ORDER BY id
            """)
        gapRows = try c.prepare("SELECT dir, stream_offset, length FROM gap WHERE flow_id = ? ORDER BY rowid")
        payloadRow = try c.prepare("SELECT data FROM payload WHERE id = ?")
        runs = try c.prepare("SELECT stream_offset, data FROM payload WHERE flow_id = ? AND dir = ? ORDER BY stream_offset")
    }

    /// Every delivery of the flow in call order, with its stored bytes.
    public func chunks(flowID: Int64) throws -> [ChunkRecord] {
        var out = try deliveries(flowID: flowID)
        for i in out.indices { out[i].bytes = try bytes(of: out[i]) }
        return out
    }

    /// Every delivery of the flow in call order, without its bytes: a flow's
    /// content is then read one delivery at a time (`bytes(of:)`), in constant memory.
    public func deliveries(flowID: Int64) throws -> [ChunkRecord] {
        try preparePatches(flowID)
        chunkRows.reset()
        try chunkRows.bind(flowID, at: 1)
        defer { chunkRows.reset() }
        var out: [ChunkRecord] = []
        while try chunkRows.step() { out.append(Self.chunk(chunkRows)) }
        return out
    }

    /// Up to `limit` deliveries of the flow after delivery id `after`, in call
    /// order, without their bytes: a page of a long flow, read from its blocks
    /// from the cursor on (not the whole flow's list).
    public func deliveries(flowID: Int64, after: Int64, limit: Int) throws -> [ChunkRecord] {
        try preparePatches(flowID)
        let s = try pageRows()
        s.reset()
        try s.bind(flowID, at: 1)
        try s.bind(after, at: 2)
        try s.bind(Int64(limit), at: 3)
        defer { s.reset() }
        var out: [ChunkRecord] = []
        while try s.step() { out.append(Self.chunk(s)) }
        return out
    }

    /// A delivery from a row of the `delivery` columns (id, dir, is_start, is_end,
    /// skip, length, stored, payload_id, payload_offset, stream_offset, ts_first, ts_last).
    static func chunk(_ s: Statement) -> ChunkRecord {
        var chunk = ChunkRecord(id: s.int64(0), dir: s.int(1), isStart: s.int(2) != 0, isEnd: s.int(3) != 0, skip: s.int(4),
                                length: s.int(5), stored: s.int(6), streamOffset: s.int64(9),
                                tsFirst: s.isNull(10) ? nil : s.int64(10), tsLast: s.isNull(11) ? nil : s.int64(11), bytes: [])
        if chunk.stored > 0 && !s.isNull(7) {
            chunk.payloadID = s.int64(7)
            chunk.payloadOffset = s.int(8)
        }
        return chunk
    }

    private var pageStatement: Statement?
    private func pageRows() throws -> Statement {
        if let pageStatement { return pageStatement }
        let s = try connection.prepare("""
            SELECT json_extract(r.value, '$[0]') AS id, json_extract(r.value, '$[1]'), json_extract(r.value, '$[2]'),
                   json_extract(r.value, '$[3]'), json_extract(r.value, '$[4]'), json_extract(r.value, '$[5]'),
                   json_extract(r.value, '$[6]'), json_extract(r.value, '$[7]'), json_extract(r.value, '$[8]'),
                   json_extract(r.value, '$[9]'), json_extract(r.value, '$[10]'), json_extract(r.value, '$[11]')
            FROM delivery_block AS b, json_each(b.records) AS r
            WHERE b.flow_id = ?1 AND b.last_delivery > ?2 AND json_extract(r.value, '$[0]') > ?2
            ORDER BY b.first_delivery, r.key LIMIT ?3
            """)
        pageStatement = s
        return s
    }

    /// The last payload run read for each direction: deliveries of a direction
    /// follow each other through its runs, so each run is read once.
    private var cachedRuns: [(id: Int64, data: [UInt8])] = [(-1, []), (-1, [])]

    /// The stored bytes of a delivery from `deliveries(flowID:)`; empty when none
    /// are stored or the archive's offsets do not fit its run.
    public func bytes(of chunk: ChunkRecord) throws -> [UInt8] {
        guard chunk.stored > 0, let payloadID = chunk.payloadID else { return [] }
        let slot = chunk.dir == 0 ? 0 : 1
        if cachedRuns[slot].id != payloadID {
            payloadRow.reset()
            try payloadRow.bind(payloadID, at: 1)
            cachedRuns[slot] = (payloadID, try payloadRow.step() ? Array(payloadRow.blob(0)) : [])
            payloadRow.reset()
        }
        // payload_offset and stored come from the archive: checked, never trusted
        let run = cachedRuns[slot].data, offset = chunk.payloadOffset
        guard offset >= 0, offset <= run.count, chunk.stored <= run.count - offset else { return [] }
        var bytes = Array(run[offset..<(offset + chunk.stored)])
        patches?.apply(dir: chunk.dir, offset: chunk.streamOffset, to: &bytes)
        return bytes
    }

    public func gaps(flowID: Int64) throws -> [GapRecord] {
        gapRows.reset()
        try gapRows.bind(flowID, at: 1)
        defer { gapRows.reset() }
        var out: [GapRecord] = []
        while try gapRows.step() {
            out.append(GapRecord(dir: gapRows.int(0), streamOffset: gapRows.int64(1), length: gapRows.isNull(2) ? nil : gapRows.int(2)))
        }
        return out
    }

    /// Streams the stored bytes of one direction, in stream order, to `sink`, one
    /// payload run at a time (constant memory). Holes between runs are skipped, or
    /// written as zero bytes with `fillGaps` so offsets line up. Returns the
    /// number of bytes written and their SHA-256 (empty with `hashing` false:
    /// `--show raw` needs none, and hashing cost a third of its time).
    @discardableResult
    public func writeStream(flowID: Int64, dir: Int, fillGaps: Bool, hashing: Bool = true,
                            to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> (bytes: Int, sha256: String) {
        try preparePatches(flowID)
        runs.reset()
        try runs.bind(flowID, at: 1)
        try runs.bind(dir, at: 2)
        defer { runs.reset() }
        var digest = SHA256()
        var written = 0
        var expected: Int64 = 0
        let zeros = [UInt8](repeating: 0, count: 65_536)
        while try runs.step() {
            let offset = runs.int64(0)
            let data = runs.blob(1)
            if fillGaps, offset > expected {
                var missing = Int(offset &- expected)
                while missing > 0 {
                    let n = min(missing, zeros.count)
                    try zeros.withUnsafeBytes { z in
                        let piece = UnsafeRawBufferPointer(rebasing: z[0..<n])
                        if hashing { digest.update(piece) }
                        try sink(piece)
                    }
                    written += n
                    missing -= n
                }
            }
            if let patches, !patches.isEmpty {
                var copy = Array(data)
                patches.apply(dir: dir, offset: offset, to: &copy)
                try copy.withUnsafeBytes { piece in
                    if hashing { digest.update(piece) }
                    try sink(piece)
                }
            } else {
                if hashing { digest.update(data) }
                try sink(data)
            }
            written += data.count
            expected = offset &+ Int64(data.count)      // values from the archive: never trap
        }
        return (written, hashing ? digest.hexDigest : "")
    }
}
