/// Indexes an ingest into an empty archive builds once, at the end, instead of
/// row by row.
///
/// Maintaining the indexes of `flow` while rows arrive costs a B-tree insertion per
/// row and index at many places at once, and, because those pages already exist
/// when each batch begins, a rollback-journal copy of every page touched. Sorting
/// the finished table once is cheaper. (The index of the former `delivery` table
/// was deferred too: on the 1.1 GB bulk capture its journal copies had been as many
/// bytes as the payload. `delivery_block` has one row per flow and batch, few
/// enough to index as they come.) `payload` and `gap` keep theirs:
/// building `payload_by_flow` afterwards reads every payload page again, which
/// costs more than maintaining it (measured on 100,000 small flows). The
/// definitions are those the embedded migrations leave in a database, so the
/// migrations of `schema/` stay their single source.
///
/// An ingest killed before the end leaves the archive without these indexes:
/// queries still answer (by scanning), and the next ingest rebuilds them first.
public enum BulkLoad {
    /// The tables whose indexes wait for the end of a bulk load.
    static let tables: Set<String> = ["flow"]

    /// Name and `CREATE INDEX IF NOT EXISTS` statement of every index the
    /// migrations leave on `tables`, in the order they created them.
    public static let deferredIndexes: [(name: String, sql: String)] = {
        do {
            return try indexes(on: tables)
        } catch {
            fatalError("the embedded migrations fail on an empty database: \(error)")
        }
    }()

    /// The indexes on `tables` of the schema the migrations build, as SQLite
    /// keeps them: the migrations are applied to an empty database in memory,
    /// the way an archive is created, and each index's statement is read back
    /// from `sqlite_schema` (so an index a later migration drops or redefines is
    /// seen as it ends up).
    static func indexes(on tables: Set<String>) throws -> [(name: String, sql: String)] {
        let schema = try SQLiteConnection(path: ":memory:")
        try Archive.migrate(schema, from: 0)
        let names = tables.sorted()
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let statement = try schema.prepare("""
            SELECT name, sql FROM sqlite_schema
            WHERE type = 'index' AND tbl_name IN (\(placeholders)) AND sql IS NOT NULL
            ORDER BY rowid
            """)
        for (i, name) in names.enumerated() { try statement.bind(name, at: Int32(i + 1)) }
        var found: [(name: String, sql: String)] = []
        while try statement.step() {
            guard let name = statement.text(0), let sql = statement.text(1),
                  let keyword = sql.firstRange(of: "INDEX ") else { continue }
            // SQLite keeps the statement as written from `CREATE [UNIQUE] INDEX` on.
            found.append((name, String(sql[..<keyword.upperBound]) + "IF NOT EXISTS " + sql[keyword.upperBound...]))
        }
        return found
    }

    /// Drops the deferred indexes when the archive holds no flow yet; returns
    /// whether it did.
    public static func deferIndexesIfEmpty(_ connection: SQLiteConnection) throws -> Bool {
        let flows = try connection.scalar("SELECT count(*) FROM (SELECT 1 FROM flow LIMIT 1)") ?? 1
        guard flows == 0 else { return false }
        try connection.transaction {
            for index in deferredIndexes { try connection.execute("DROP INDEX IF EXISTS \(index.name)") }
        }
        return true
    }

    /// Creates whichever deferred index is missing (after a bulk load, or after an
    /// ingest that was killed during one).
    public static func restoreIndexes(_ connection: SQLiteConnection) throws {
        let present = try connection.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?")
        for index in deferredIndexes {
            present.reset()
            try present.bind(index.name, at: 1)
            guard try present.step(), present.int(0) == 0 else { continue }
            try connection.execute(index.sql)
        }
    }
}
