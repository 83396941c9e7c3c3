import Foundation
import Testing
import TestSupport
@testable import Store

@Suite struct SchemaTests {
    /// The migrations of schema/ (`NNNN_name.sql`), in order: not `current.sql`,
    /// the schema they produce (CurrentSchemaTests).
    static var schemaFiles: [String] {
        let dir = Paths.repository + "/schema"
        return try! FileManager.default.contentsOfDirectory(atPath: dir).filter(isMigration).sorted().map { dir + "/" + $0 }
    }

    static func isMigration(_ name: String) -> Bool {
        let digits = name.prefix { $0.isASCII && $0.isNumber }
        return !digits.isEmpty && name.dropFirst(digits.count).first == "_" && name.hasSuffix(".sql")
    }

    /// The binary embeds exactly the text of the migrations of schema/, in
    /// file-name order, and no other SQL file there.
    @Test func embeddedTextIsSchemaFolder() throws {
        let files = Self.schemaFiles
        #expect(files.count == Archive.schemaVersion)
        #expect(files.first.map { URL(fileURLWithPath: $0).lastPathComponent } == "0001_initial.sql")
        #expect(Paths.exists(Paths.repository + "/schema/current.sql"))
        #expect(!EmbeddedSchema.files.contains { $0.name == "current.sql" })
        #expect(EmbeddedSchema.files.map(\.name) == files.map { URL(fileURLWithPath: $0).lastPathComponent })
        for (embedded, path) in zip(EmbeddedSchema.files, files) {
            #expect(embedded.sql == (try String(contentsOfFile: path, encoding: .utf8)), "\(path) differs from what the binary embeds")
        }
    }

    static func schemaRows(_ c: SQLiteConnection) throws -> [String] {
        let s = try c.prepare("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
        var rows: [String] = []
        while try s.step() { rows.append((0..<4).map { s.text($0) ?? "" }.joined(separator: "|")) }
        return rows
    }

    /// An archive created by flowdb has exactly the objects that running
    /// schema/*.sql by hand creates, with the same SQL text.
    @Test func createdArchiveMatchesSchemaFolder() throws {
        let dir = Paths.temporaryDirectory()
        let archive = try Archive(path: dir + "/a.sqlite", create: true)
        let reference = try SQLiteConnection(path: dir + "/reference.sqlite")
        for path in Self.schemaFiles { try reference.execute(try String(contentsOfFile: path, encoding: .utf8)) }
        let created = try Self.schemaRows(archive.connection)
        #expect(created == (try Self.schemaRows(reference)))
        #expect(created.contains { $0.hasPrefix("view|chunk|") })
        #expect(created.contains { $0.hasPrefix("table|capture|") })
        #expect(created.contains { $0.hasPrefix("table|flow|") })
        #expect(created.contains { $0.hasPrefix("table|gap|") })
        #expect(try archive.connection.scalar("PRAGMA user_version") == Int64(Archive.schemaVersion))
        #expect(try archive.connection.scalar("SELECT count(*) FROM schema_migration") == Int64(Migration.all.count))
    }

    @Test func contractColumnsAreReadable() throws {
        let dir = Paths.temporaryDirectory()
        let archive = try Archive(path: dir + "/a.sqlite", create: true)
        func columns(_ name: String) throws -> [String] {
            let s = try archive.connection.prepare("SELECT name FROM pragma_table_info('\(name)')")
            var out: [String] = []
            while try s.step() { out.append(s.text(0)!) }
            return out
        }
        #expect(try columns("chunk") == ["id", "flow_id", "dir", "is_start", "is_end", "skip", "length", "data", "stream_offset",
                                         "ts_first", "ts_last", "packets", "chunks", "queued_bytes", "queued_packets",
                                         "overlap_bytes", "overlap_packets"])
        #expect(try columns("gap") == ["flow_id", "dir", "stream_offset", "length", "ts"])
        let flow = try columns("flow")
        for c in ["id", "capture_id", "client_ip", "client_port", "server_ip", "server_port", "first_ts", "last_ts"] {
            #expect(flow.contains(c), "flow.\(c)")
        }
        let capture = try columns("capture")
        for c in ["id", "path", "sha256", "size", "link_type", "packets", "tcp_packets", "first_ts", "last_ts", "ingested_at"] {
            #expect(capture.contains(c), "capture.\(c)")
        }
    }

    /// Migration 0002: the readable views print times before 1970 with the seconds
    /// rounded down (0001 printed "1970-01-01T00:00:00.-729213Z"), and later times
    /// as before. An archive of version 1 is still read as it is, and an ingest
    /// (opening it to write) upgrades it.
    @Test func viewsPrintTimesBefore1970() throws {
        let path = Paths.temporaryDirectory() + "/a.sqlite"
        do {
            // An archive as flowdb 0001 left it.
            let c = try SQLiteConnection(path: path, mode: .readWriteCreate)
            try c.execute(Migration.all[0].sql)
            try c.execute("INSERT INTO schema_migration VALUES (1, '0001_initial', 0); PRAGMA user_version = 1")
            try c.execute("""
                INSERT INTO capture(id, ingest_run, path, link_type, link_type_name, snaplen, first_ts, last_ts, ingested_at, status)
                VALUES (1, 1, 'old.pcap', 1, 'EN10MB', 65535, -729213000, 1795611135270787000, 0, 'complete');
                INSERT INTO flow(id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key,
                                 server_ip_key, first_ts, last_ts, first_packet)
                VALUES (1, 1, 4, '10.0.0.1', 1, '10.0.0.2', 2, x'00', x'00', -2147483648000000000, 0, 0),
                       (2, 1, 4, '10.0.0.1', 1, '10.0.0.2', 2, x'00', x'00', -1, 0, 1)
                """)
        }
        func text(_ c: SQLiteConnection, _ sql: String) throws -> [String] {
            let s = try c.prepare(sql)
            var out: [String] = []
            while try s.step() { out.append(s.text(0) ?? "NULL") }
            return out
        }
        let old = try Archive(path: path, create: false)
        #expect(try Archive.userVersion(old.connection) == 1)
        #expect(try text(old.connection, "SELECT first_time FROM captures") == ["1970-01-01T00:00:00.-729213Z"])
        let upgraded = try Archive(path: path, create: true)
        #expect(try Archive.userVersion(upgraded.connection) == Archive.schemaVersion)
        #expect(try text(upgraded.connection, "SELECT first_time || ' ' || last_time FROM captures")
                == ["1969-12-31T23:59:59.270787Z 2026-11-25T12:52:15.270787Z"])
        #expect(try text(upgraded.connection, "SELECT start FROM flows ORDER BY id")
                == ["1901-12-13T20:45:52.000000Z", "1969-12-31T23:59:59.999999Z"])
    }

    /// Migration 0010: the log views print times as `flows` does (before 1970 too),
    /// flags as 'yes' / 'no', and leave what is not known NULL.
    @Test func logViewsPrintTimesAndFlags() throws {
        let archive = try Archive(path: Paths.temporaryDirectory() + "/a.sqlite", create: true)
        try archive.connection.execute("""
            INSERT INTO capture(id, ingest_run, path, link_type, link_type_name, snaplen, ingested_at)
            VALUES (1, 1, 'crafted.pcap', 1, 'EN10MB', 65535, 0);
            INSERT INTO flow(id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key,
                             server_ip_key, first_ts, last_ts, first_packet, app, app_host)
            VALUES (1, 1, 4, '10.0.0.1', 40000, '10.0.0.2', 80, x'00', x'00', -729213000, 0, 0, 'http', 'example.org'),
                   (2, 1, 6, 'fd00::1', 40001, 'fd00::2', 443, x'00', x'00', 1795611135270787000, 1795611135270787000, 1, NULL, NULL);
            INSERT INTO http(flow_id, trans_depth, ts, method, request_chunked, response_chunked, incomplete)
            VALUES (1, 1, -729213000, 'GET', 1, 0, 1), (1, 2, NULL, NULL, 0, 0, 0);
            INSERT INTO tls(flow_id, ts, resumed, established, not_before, not_after)
            VALUES (2, 1795611135270787000, 0, NULL, -1000000000, 1795611135000000000);
            INSERT INTO ssh(flow_id, client) VALUES (1, 'SSH-2.0-x');
            """)
        func rows(_ sql: String) throws -> [[String]] {
            let s = try archive.connection.prepare(sql)
            var out: [[String]] = []
            while try s.step() { out.append((0..<s.columnCount).map { s.text($0) ?? "NULL" }) }
            return out
        }
        #expect(try rows("SELECT ts, client_ip, server_port, method, request_chunked, response_chunked, incomplete FROM http_log ORDER BY trans_depth")
                == [["1969-12-31T23:59:59.270787Z", "10.0.0.1", "80", "GET", "yes", "no", "yes"],
                    ["NULL", "10.0.0.1", "80", "NULL", "no", "no", "no"]])
        #expect(try rows("SELECT ts, client_ip, server_ip, resumed, established, not_before, not_after FROM tls_log")
                == [["2026-11-25T12:52:15.270787Z", "fd00::1", "fd00::2", "no", "NULL",
                     "1969-12-31T23:59:59.000000Z", "2026-11-25T12:52:15.000000Z"]])
        #expect(try rows("SELECT ts, flow_id, client FROM ssh_log") == [["1969-12-31T23:59:59.270787Z", "1", "SSH-2.0-x"]])
        #expect(try rows("SELECT id, start, app, app_host FROM flows ORDER BY id")
                == [["1", "1969-12-31T23:59:59.270787Z", "http", "example.org"],
                    ["2", "2026-11-25T12:52:15.270787Z", "NULL", "NULL"]])
    }

    @Test func archiveFileIsPrivate() throws {
        let path = Paths.temporaryDirectory() + "/private.sqlite"
        _ = try Archive(path: path, create: true)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func reopeningDoesNotMigrateAgain() throws {
        let path = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Archive(path: path, create: true)
        let again = try Archive(path: path, create: true)
        #expect(try again.connection.scalar("SELECT count(*) FROM schema_migration") == Int64(Migration.all.count))
        let readOnly = try Archive(path: path, create: false)
        #expect(try readOnly.connection.scalar("SELECT count(*) FROM flow") == 0)
    }

    @Test func newerSchemaIsRefused() throws {
        let path = Paths.temporaryDirectory() + "/a.sqlite"
        let archive = try Archive(path: path, create: true)
        try archive.connection.execute("PRAGMA user_version = \(Archive.schemaVersion + 1)")
        do {
            _ = try Archive(path: path, create: true)
            Issue.record("opened an archive of a newer schema")
        } catch {
            #expect(error.description == "\(path): archive schema version \(Archive.schemaVersion + 1) is newer than this flowdb supports (\(Archive.schemaVersion)); use a newer flowdb")
        }
    }

    @Test func missingAndForeignFilesAreRefused() throws {
        let dir = Paths.temporaryDirectory()
        do {
            _ = try Archive(path: dir + "/none.sqlite", create: false)
            Issue.record("opened a missing archive")
        } catch {
            #expect(error.description.hasPrefix("\(dir)/none.sqlite: no such archive"))
        }
        try "hello, this is not SQLite at all, just text long enough to look like a header".write(toFile: dir + "/text.sqlite", atomically: true, encoding: .utf8)
        do {
            _ = try Archive(path: dir + "/text.sqlite", create: false)
            Issue.record("opened a text file as an archive")
        } catch {
            #expect(error.description.hasPrefix("\(dir)/text.sqlite: not a flowdb archive"))
        }
        let other = try SQLiteConnection(path: dir + "/other.sqlite")
        try other.execute("CREATE TABLE t(x)")
        do {
            _ = try Archive(path: dir + "/other.sqlite", create: true)
            Issue.record("adopted a foreign database")
        } catch {
            #expect(error.description.hasPrefix("\(dir)/other.sqlite: not a flowdb archive"))
        }
    }

    /// A file that appears at the path while a new archive is being written is kept:
    /// the new archive is published with link(2), which never replaces.
    @Test func createAtomicallyNeverReplacesAFile() throws {
        let dir = Paths.temporaryDirectory()
        let path = dir + "/a.sqlite"
        try Array("the first ingest's archive".utf8).write(to: path)
        try Archive.createAtomically(path)
        #expect(try [UInt8](contentsOf: path) == Array("the first ingest's archive".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.sqlite"])
    }

    /// Creating an archive removes the temporary files of creations whose process is
    /// gone, and only those.
    @Test func creationRemovesAbandonedTemporaries() throws {
        let dir = Paths.temporaryDirectory()
        let path = dir + "/a.sqlite"
        let leftovers = ["a.sqlite.creating-2147483646", "a.sqlite.creating-1", "a.sqlite.creating-x1", "b.sqlite.creating-2147483646"]
        for name in leftovers { try Array("partial".utf8).write(to: dir + "/" + name) }
        let archive = try Archive(path: path, create: true)
        #expect(try Archive.userVersion(archive.connection) == Archive.schemaVersion)
        // 2147483646 is past any pid_max: no such process. PID 1 is alive.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
                == ["a.sqlite", "a.sqlite.creating-1", "a.sqlite.creating-x1", "b.sqlite.creating-2147483646"])
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o7777 == 0o600)
    }
}
