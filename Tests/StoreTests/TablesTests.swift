import Foundation
import Testing
import TestSupport
@testable import Store

/// The column declarations of `Tables` against the schema a fresh archive has:
/// every declared column exists, and the tables flowdb fills row by row are
/// declared whole, so a migration that adds a column without its declaration fails here.
@Suite struct TablesTests {
    static func columns(_ table: String, _ c: SQLiteConnection) throws -> [String] {
        let s = try c.prepare("SELECT name FROM pragma_table_info(?)")
        try s.bind(table, at: 1)
        var out: [String] = []
        while try s.step() { out.append(s.text(0) ?? "") }
        return out
    }

    static func fresh() throws -> SQLiteConnection {
        try Archive(path: Paths.temporaryDirectory() + "/a.sqlite", create: true).connection
    }

    @Test func everyDeclaredColumnExists() throws {
        #expect(Tables.all.count == 14)
        let c = try Self.fresh()
        for declared in Tables.all {
            let actual = Set(try Self.columns(declared.table, c))
            #expect(!actual.isEmpty, "\(declared.table)")
            #expect(Set(declared.names).subtracting(actual).isEmpty, "\(declared.table): \(Set(declared.names).subtracting(actual).sorted())")
        }
    }

    @Test(arguments: ["http", "tls", "ssh", "payload", "gap", "delivery_block", "packet_block", "anomaly", "overlap_conflict"])
    func wholeTablesAreDeclaredWhole(_ table: String) throws {
        let declared = try #require(Tables.all.first { $0.table == table })
        #expect(Set(declared.names) == Set(try Self.columns(table, try Self.fresh())))
        #expect(declared.names.count == Set(declared.names).count)
    }

    /// A flow row is written from two lists: what its first packet says, and its totals.
    @Test func flowIsItsIdentityAndItsTotals() throws {
        let declared = Tables.flowIdentity.names + Tables.flowTotals.names
        #expect(declared.count == 44)
        // and `continued_in`, which a periodic capture sets on the archive before
        // (PeriodicCapture.linkBack), not the writer
        #expect(Set(declared + ["continued_in"]) == Set(try Self.columns("flow", try Self.fresh())))
    }

    @Test func generatedStatements() {
        #expect(Tables.gap.insert() == "INSERT INTO gap(flow_id, dir, stream_offset, length, ts) VALUES (?, ?, ?, ?, ?)")
        #expect(Tables.gap.update(where: "flow_id") == "UPDATE gap SET flow_id = ?, dir = ?, stream_offset = ?, length = ?, ts = ? WHERE flow_id = ?")
        #expect(Tables.payload.parameter("data") == 5)
        #expect(Tables.ssh.insert(orReplace: true).hasPrefix("INSERT OR REPLACE INTO ssh(flow_id, version, client, server,"))
    }

    /// Values set by name land at their column's position; unset ones are NULL.
    @Test func rowValuesFollowTheDeclaration() throws {
        var row = Tables.gap.row()
        row.set("ts", Int64(7))
        row.set("dir", 1)
        row.set("length", Int?.none)
        #expect(row.values == [.null, .integer(1), .null, .null, .integer(7)])
        #expect(row["ts"] == .integer(7))
        let c = try SQLiteConnection(path: ":memory:")
        try c.execute("CREATE TABLE gap(flow_id, dir, stream_offset, length, ts)")
        let s = try c.prepare(Tables.gap.insert())
        row.set("flow_id", 3)
        row.set("stream_offset", true)
        try Tables.gap.bind(row, to: s)
        try s.step()
        let read = try c.prepare("SELECT flow_id, dir, stream_offset, length IS NULL, ts FROM gap")
        #expect(try read.step())
        #expect((0..<5).map { read.int64(Int32($0)) } == [3, 1, 1, 1, 7])
    }

    /// The Zeek fields of the application tables, in Zeek's log order.
    @Test func zeekFields() {
        func fields(_ t: TableColumns) -> [String] { t.columns.compactMap(\.zeekName) }
        #expect(fields(Tables.tls) == ["ts", "uid", "version", "cipher", "curve", "server_name", "resumed", "next_protocol",
                                       "established", "alpn_offered", "ja3", "ja3s", "ja4"])
        #expect(fields(Tables.ssh) == ["uid", "version", "client", "server", "cipher_alg", "mac_alg", "compression_alg",
                                       "kex_alg", "host_key_alg", "hassh", "hasshServer"])
        #expect(fields(Tables.http).count == 17)
        #expect(Tables.http.columns.first { $0.name == "request_content_type" }?.zeekName == "orig_mime_types")
    }
}
