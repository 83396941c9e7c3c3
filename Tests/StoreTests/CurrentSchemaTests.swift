import Foundation
import Testing
import TestSupport
@testable import Store

/// schema/current.sql is the schema a fresh archive has, as `SchemaDump` renders
/// it: a migration changed without regenerating the file fails here.
/// `make schema` (this suite with FLOWDB_WRITE_SCHEMA=1) writes the file instead.
@Suite struct CurrentSchemaTests {
    static let path = Paths.repository + "/schema/current.sql"

    static var writes: Bool { ProcessInfo.processInfo.environment["FLOWDB_WRITE_SCHEMA"] == "1" }

    static func freshSchema() throws -> String {
        let archive = try Archive(path: Paths.temporaryDirectory() + "/fresh.sqlite", create: true)
        return try SchemaDump.render(archive.connection)
    }

    @Test func currentSQLIsTheFreshArchivesSchema() throws {
        let rendered = try Self.freshSchema()
        if Self.writes {
            try rendered.write(toFile: Self.path, atomically: true, encoding: .utf8)
        }
        let file = try String(contentsOfFile: Self.path, encoding: .utf8)
        #expect(rendered.contains("CREATE TABLE flow ("))
        if let difference = Self.firstDifference(file, rendered) {
            Issue.record("""
                schema/current.sql is not the schema the migrations make: run `make schema` and commit it.
                First difference, line \(difference.line):
                  current.sql: \(difference.file ?? "(end of file)")
                  migrations:  \(difference.rendered ?? "(end of file)")
                """)
        }
    }

    /// The first line (1-based) where two texts differ, with each one's line there.
    static func firstDifference(_ file: String, _ rendered: String) -> (line: Int, file: String?, rendered: String?)? {
        let a = file.split(separator: "\n", omittingEmptySubsequences: false)
        let b = rendered.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : nil, y = i < b.count ? String(b[i]) : nil
            if x != y { return (i + 1, x, y) }
        }
        return nil
    }

    @Test func firstDifferenceNamesTheLine() {
        #expect(Self.firstDifference("a\nb\n", "a\nb\n") == nil)
        let changed = Self.firstDifference("a\nb\nc\n", "a\nB\nc\n")
        #expect(changed?.line == 2 && changed?.file == "b" && changed?.rendered == "B")
        let longer = Self.firstDifference("a\n", "a\nb\n")
        #expect(longer?.line == 2 && longer?.file == "" && longer?.rendered == "b")
        let shorter = Self.firstDifference("a\nb\nc", "a\nb")
        #expect(shorter?.line == 3 && shorter?.file == "c" && shorter?.rendered == nil)
    }

    /// The rendering's shape: the header, then tables, indexes, views and triggers,
    /// each group by name, every statement closed by `;` and a blank line; SQLite's
    /// own objects and the indexes without SQL text left out.
    @Test func renderingListsEachObjectOnceInGroups() throws {
        let c = try SQLiteConnection(path: ":memory:")
        try c.execute("""
            CREATE TABLE b (x INTEGER PRIMARY KEY AUTOINCREMENT, y TEXT UNIQUE);
            CREATE TABLE a (z);
            CREATE VIEW v AS SELECT z FROM a;
            CREATE INDEX i2 ON b(y);
            CREATE INDEX i1 ON a(z);
            CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END;
            ALTER TABLE a ADD COLUMN w;
            """)
        let text = try SchemaDump.render(c)
        let headerEnd = try #require(text.range(of: "\n\n"))
        #expect(text[..<headerEnd.lowerBound] == SchemaDump.header)
        #expect(SchemaDump.header.contains("`make schema`"))
        #expect(text[headerEnd.upperBound...] == """
            CREATE TABLE a (z, w);

            CREATE TABLE b (x INTEGER PRIMARY KEY AUTOINCREMENT, y TEXT UNIQUE);

            CREATE INDEX i1 ON a(z);

            CREATE INDEX i2 ON b(y);

            CREATE VIEW v AS SELECT z FROM a;

            CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END;

            """)
    }

    /// What the fresh archive's schema holds, by group: counts that change only
    /// with a migration that adds or removes objects.
    @Test func freshArchiveHasTheMigrationsObjects() throws {
        let rendered = try Self.freshSchema()
        let statements = rendered.components(separatedBy: ";\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        func named(_ kind: String) -> [String] {
            statements.compactMap { s in
                guard let r = s.range(of: "CREATE \(kind) ") else { return nil }
                return String(s[r.upperBound...].prefix { $0 != " " && $0 != "(" && $0 != "\n" })
            }
        }
        #expect(named("TABLE") == ["anomaly", "archive", "archive_removed", "capture", "delivery_block", "dns", "flow", "gap", "http", "overlap_conflict",
                                   "packet_block", "payload", "schema_migration", "ssh", "tls"])
        #expect(named("VIEW") == ["archive_info", "captures", "chunk", "delivery", "dns_log", "flows", "http_log", "packet", "ssh_log", "tls_log"])
        #expect(named("INDEX") == ["anomaly_by_flow", "anomaly_by_name", "capture_by_run", "capture_by_sha256", "delivery_block_by_flow", "dns_by_flow", "dns_by_query", "flow_by_app",
                                   "flow_by_app_host", "flow_by_capture", "flow_by_client_ip", "flow_by_client_port", "flow_by_community_id",
                                   "flow_by_conn_state", "flow_by_duration", "flow_by_first_ts", "flow_by_overlap", "flow_by_overlap_conflicts",
                                   "flow_by_proto", "flow_by_server_ip", "flow_by_server_port", "gap_by_flow",
                                   "http_by_host", "overlap_conflict_by_flow", "payload_by_flow", "tls_by_ja3", "tls_by_ja4", "tls_by_server_name"])
        #expect(named("TRIGGER").isEmpty)
    }
}
