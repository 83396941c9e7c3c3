/// The archive's record of one capture, as `flowdb query` reads it.
public struct CaptureRecord: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var size: Int
    public var sha256: String?
    public var linkType: Int32
    public var snaplen: Int
    public var status: String
    /// A live capture's interface (nil for a file), and when `--keep` removed its file.
    public var interface: String?
    public var removedAt: Int64?
}

/// Every statement about `capture` rows: beginning, counting and ending them,
/// finding the ones an ingest must redo or skip, removing one with what was
/// recorded from it, and reading them back. Statements are prepared on first use
/// and kept; one catalog is used by one thread at a time.
public final class CaptureCatalog {
    let connection: SQLiteConnection
    private var statements: [String: Statement] = [:]

    public init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    private func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let s = statements[sql] {
            s.reset()
            return s
        }
        let s = try connection.prepare(sql)
        statements[sql] = s
        return s
    }

    // MARK: writing

    /// The id the next capture row takes, and the next ingest run's number.
    public func nextID() throws(SQLiteError) -> Int64 {
        try connection.scalar("SELECT coalesce(max(id), 0) + 1 FROM capture") ?? 1
    }

    public func nextIngestRun() throws(SQLiteError) -> Int64 {
        try connection.scalar("SELECT coalesce(max(ingest_run), 0) + 1 FROM capture") ?? 1
    }

    /// Adds the row of a capture being read (a row of `Tables.captureStart`;
    /// its status is 'running' whatever the row says).
    public func begin(_ start: RowValues) throws(SQLiteError) {
        var start = start
        start.set("status", "running")
        let s = try statement(Tables.captureStart.insert())
        try Tables.captureStart.bind(start, to: s)
        try s.step()
    }

    /// Rewrites the counters of capture `id` (a row of `Tables.captureCounters`;
    /// its status stays as it is).
    public func record(_ counts: RowValues, of id: Int64) throws(SQLiteError) {
        let s = try statement(Tables.captureCounters.update(where: "id"))
        try Tables.captureCounters.bind(counts, to: s)
        try s.bind(id, at: Int32(Tables.captureCounters.count + 1))
        try s.step()
    }

    /// Marks capture `id` complete (`failure` nil) or failed with the reason.
    public func finish(_ id: Int64, failure: String?, at finished: Int64) throws(SQLiteError) {
        let s = try statement("UPDATE capture SET status = ?, error = ?, finished_at = ? WHERE id = ?")
        try s.bind(failure == nil ? "complete" : "failed", at: 1)
        try s.bind(failure, at: 2)
        try s.bind(finished, at: 3)
        try s.bind(id, at: 4)
        try s.step()
    }

    /// Notes that a live capture's file at `path` was removed (`--keep`).
    public func markRemoved(path: String, at time: Int64) throws(SQLiteError) {
        let s = try statement("UPDATE capture SET removed_at = ? WHERE path = ? AND removed_at IS NULL")
        try s.bind(time, at: 1)
        try s.bind(path, at: 2)
        try s.step()
    }

    /// Removes capture `id` and everything recorded from it (its flows with their
    /// deliveries, payload, gaps and packet positions), in one transaction.
    public func delete(_ id: Int64) throws {
        try connection.transaction {
            for sql in [
                "DELETE FROM delivery_block WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM payload WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM gap WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM packet_block WHERE capture_id = ?1 OR flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM http WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM tls WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM ssh WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM flow WHERE capture_id = ?1",
                "DELETE FROM capture WHERE id = ?1",
            ] {
                let s = try statement(sql)
                try s.bind(id, at: 1)
                try s.step()
            }
        }
    }

    // MARK: what an ingest finds before reading

    /// Captures of the file at `path` with `size` bytes that never completed
    /// (an interrupted or failed ingest of it).
    public func unfinished(path: String, size: Int) throws(SQLiteError) -> [Int64] {
        let s = try statement("SELECT id FROM capture WHERE path = ? AND size = ? AND status <> 'complete'")
        try s.bind(path, at: 1)
        try s.bind(size, at: 2)
        var ids: [Int64] = []
        while try s.step() { ids.append(s.int64(0)) }
        return ids
    }

    /// Complete captures of `size` bytes with a known SHA-256: the candidates for
    /// holding the same bytes as a file about to be read.
    public func complete(size: Int) throws(SQLiteError) -> [(id: Int64, sha256: String)] {
        let s = try statement("SELECT id, sha256 FROM capture WHERE size = ? AND status = 'complete' AND sha256 IS NOT NULL")
        try s.bind(size, at: 1)
        var out: [(id: Int64, sha256: String)] = []
        while try s.step() { out.append((s.int64(0), s.text(1) ?? "")) }
        return out
    }

    /// Live captures still 'running': a capture that was killed left them so.
    public func runningLiveCaptures() throws(SQLiteError) -> [(id: Int64, path: String, sha256: String?)] {
        let s = try statement("SELECT id, path, sha256 FROM capture WHERE status = 'running' AND interface IS NOT NULL")
        var out: [(id: Int64, path: String, sha256: String?)] = []
        while try s.step() { out.append((s.int64(0), s.text(1) ?? "", s.text(2))) }
        return out
    }

    /// Marks an interrupted capture failed with `reason`, keeping its size and
    /// SHA-256 unless new ones are given (its file as it is now).
    public func closeInterrupted(_ id: Int64, reason: String, at time: Int64, size: Int64?, sha256: String?) throws(SQLiteError) {
        let s = try statement("""
            UPDATE capture SET status = 'failed', finished_at = ?, error = ?,
                size = coalesce(?, size), sha256 = coalesce(?, sha256) WHERE id = ?
            """)
        try s.bind(time, at: 1)
        try s.bind(reason, at: 2)
        try s.bind(size, at: 3)
        try s.bind(sha256, at: 4)
        try s.bind(id, at: 5)
        try s.step()
    }

    // MARK: reading

    /// How many of the flows of `captures` ended in each Zeek connection state, by
    /// transport ('tcp', 'udp', 'icmp'), most frequent first ('-': not yet known).
    /// One pass over the captures' flows.
    public func connectionStates(of captures: [Int64]) throws(SQLiteError) -> [String: [(state: String, flows: Int)]] {
        guard !captures.isEmpty else { return [:] }
        let s = try connection.prepare("""
            SELECT proto, coalesce(conn_state, '-'), count(*) FROM flow
            WHERE capture_id IN (\(Array(repeating: "?", count: captures.count).joined(separator: ", ")))
            GROUP BY 1, 2 ORDER BY 3 DESC, 2
            """)
        for (i, id) in captures.enumerated() { try s.bind(id, at: Int32(i + 1)) }
        var out: [String: [(state: String, flows: Int)]] = [:]
        while try s.step() { out[s.text(0) ?? "tcp", default: []].append((s.text(1) ?? "-", s.int(2))) }
        return out
    }

    /// The row of capture `id`; nil when the archive has none. `live`: whether the
    /// archive has the live-capture columns (schema version 8 on).
    public func record(_ id: Int64, live: Bool) throws(SQLiteError) -> CaptureRecord? {
        let s = try statement("""
            SELECT path, size, sha256, link_type, snaplen, status\(live ? ", interface, removed_at" : "") FROM capture WHERE id = ?
            """)
        try s.bind(id, at: 1)
        guard try s.step() else { return nil }
        return CaptureRecord(id: id, path: s.text(0) ?? "", size: s.int(1), sha256: s.text(2),
                             linkType: Int32(truncatingIfNeeded: s.int64(3)), snaplen: s.int(4), status: s.text(5) ?? "",
                             interface: live ? s.text(6) : nil, removedAt: live && !s.isNull(7) ? s.int64(7) : nil)
    }
}
