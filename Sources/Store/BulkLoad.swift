/// Indexes an ingest into an empty archive builds once, at the end, instead of
/// row by row.
///
/// Maintaining `delivery_by_flow` and `payload_by_flow` while the rows arrive costs
/// a B-tree insertion per row at hundreds of places in the index, and, because those
/// pages already exist when each batch begins, a rollback-journal copy of every
/// page touched (on the 1.1 GB bulk capture, as many bytes as the payload itself).
/// Sorting the finished table once is cheaper. The definitions come from the
/// embedded schema, so `schema/*.sql` stays their single source.
///
/// An ingest killed before the end leaves the archive without these two indexes:
/// queries still answer (by scanning), and the next ingest rebuilds them first.
public enum BulkLoad {
    public static let deferredIndexes = ["delivery_by_flow", "payload_by_flow"]

    /// `CREATE INDEX IF NOT EXISTS ...` for `name`, from the newest migration defining it.
    static func definition(of name: String) -> String? {
        let head = "CREATE INDEX \(name) "
        for migration in Migration.all.reversed() {
            guard let start = migration.sql.firstRange(of: head) else { continue }
            guard let end = migration.sql[start.upperBound...].firstIndex(of: ";") else { return nil }
            let rest = migration.sql[start.upperBound..<end]
            return "CREATE INDEX IF NOT EXISTS \(name) " + rest
        }
        return nil
    }

    /// Drops the deferred indexes when the archive holds no delivery and no payload
    /// yet; returns whether it did (and so whether `restoreIndexes` has work to do).
    public static func deferIndexesIfEmpty(_ connection: SQLiteConnection) throws -> Bool {
        let rows = try connection.scalar("SELECT (SELECT count(*) FROM (SELECT 1 FROM delivery LIMIT 1)) + (SELECT count(*) FROM (SELECT 1 FROM payload LIMIT 1))") ?? 1
        guard rows == 0 else { return false }
        try connection.transaction {
            for name in deferredIndexes { try connection.execute("DROP INDEX IF EXISTS \(name)") }
        }
        return true
    }

    /// Creates whichever deferred index is missing (after a bulk load, or after an
    /// ingest that was killed during one).
    public static func restoreIndexes(_ connection: SQLiteConnection) throws {
        for name in deferredIndexes {
            let present = try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?", .text(name)) ?? 0
            guard present == 0, let sql = definition(of: name) else { continue }
            try connection.execute(sql)
        }
    }
}
