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
/// definitions come from the embedded schema, so `schema/*.sql` stays their
/// single source.
///
/// An ingest killed before the end leaves the archive without these indexes:
/// queries still answer (by scanning), and the next ingest rebuilds them first.
public enum BulkLoad {
    /// The tables whose indexes wait for the end of a bulk load.
    static let tables: Set<String> = ["flow"]

    /// Name and `CREATE INDEX IF NOT EXISTS` statement of every index the
    /// migrations leave on `tables`, in schema order.
    public static let deferredIndexes: [(name: String, sql: String)] = {
        var found: [(name: String, sql: String)] = []
        for migration in Migration.all {
            // Without comments, a statement per semicolon.
            let lines: [Substring] = migration.sql.split(separator: "\n", omittingEmptySubsequences: false)
            let code: String = lines.map { (line: Substring) -> Substring in
                guard let comment = line.firstRange(of: "--") else { return line }
                return line[..<comment.lowerBound]
            }.joined(separator: "\n")
            for statement in code.split(separator: ";") {
                let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" })
                if words.count >= 3, words[0] == "DROP", words[1] == "INDEX" {
                    found.removeAll { $0.name == words[2] }
                    continue
                }
                guard words.count >= 5, words[0] == "CREATE", words[1] == "INDEX", words[3] == "ON",
                      tables.contains(String(words[4])),
                      let start = statement.firstRange(of: "CREATE INDEX ") else { continue }
                let name = String(words[2])
                found.removeAll { $0.name == name }
                found.append((name, "CREATE INDEX IF NOT EXISTS " + statement[start.upperBound...]))
            }
        }
        return found
    }()

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
