import Foundation
import Testing
import TestSupport
@testable import Recording
@testable import Store

/// Deliveries stored in blocks (schema/0003_delivery_blocks.sql).
@Suite struct DeliveryBlockTests {
    /// Every row of `sql`, each as its columns' types and values joined by '|'.
    static func rows(_ c: SQLiteConnection, _ sql: String) throws -> [String] {
        let s = try c.prepare(sql)
        var out: [String] = []
        let columns = s.columnCount
        while try s.step() {
            out.append((0..<columns).map { i in s.isNull(i) ? "NULL" : (s.text(i) ?? "?") }.joined(separator: "|"))
        }
        return out
    }

    /// The text is JSON whose numbers are exactly the values given, at the edges
    /// of every digit count and of Int64.
    @Test func recordTextIsExactJSON() throws {
        var edges: [Int64] = [0, 1, 9, 10, 11, 99, 100, .max, .min, .min + 1, -1, -9, -10]
        var p: Int64 = 10
        for k in 1...18 { edges += [p - 1, p, p + 1, -p, -(p - 1)]; if k < 18 { p *= 10 } }    // up to 10^18
        let text = DeliveryBlockText(capacity: 1)       // grows from the smallest buffer
        var expected: [String] = []
        for (i, v) in edges.enumerated() {
            let odd = i % 2 == 1
            text.append(id: v, dir: i % 2, isStart: odd, isEnd: !odd, skip: Int(v), length: Int(v), stored: Int(v),
                        payloadID: odd ? nil : v, payloadOffset: odd ? Int(v) : nil, streamOffset: v,
                        tsFirst: v, tsLast: odd ? nil : v, packets: Int(v), chunks: -Int(v == .min ? 0 : v), queuedBytes: Int(v),
                        queuedPackets: Int(v), overlapBytes: Int(v), overlapPackets: Int(v))
            let values: [String] = [String(v), String(i % 2), odd ? "1" : "0", odd ? "0" : "1", String(v), String(v), String(v),
                                    odd ? "null" : String(v), odd ? String(v) : "null", String(v), String(v), odd ? "null" : String(v),
                                    String(v), String(-(v == .min ? 0 : v)), String(v), String(v), String(v), String(v)]
            expected.append("[" + values.joined(separator: ",") + "]")
        }
        #expect(text.records == edges.count)
        let json = text.withText { String(decoding: $0, as: UTF8.self) }
        #expect(json == "[" + expected.joined(separator: ",") + "]")

        // SQLite reads back the same integers, and NULL where null was written.
        let c = try SQLiteConnection(path: ":memory:")
        let s = try c.prepare("SELECT json_valid(?1), json_extract(?1, '$[' || ?2 || '][0]'), json_extract(?1, '$[' || ?2 || '][7]') IS NULL")
        for (i, v) in edges.enumerated() {
            s.reset()
            try s.bind(json, at: 1)
            try s.bind(i, at: 2)
            #expect(try s.step())
            #expect(s.int(0) == 1)
            #expect(s.int64(1) == v)
            #expect(s.int(2) == i % 2)
        }
        #expect(DeliveryBlockText.decimalDigits(UInt64.max) == 20)
        #expect(DeliveryBlockText.decimalDigits(9_999_999_999_999_999_999) == 19)
        #expect(DeliveryBlockText.decimalDigits(10_000_000_000_000_000_000) == 20)
    }

    /// Migration 0003 moves every delivery of a version-2 archive into blocks of
    /// at most 4,096 per flow; the `delivery` view and `chunk` then give the same
    /// rows, values and types as the table did.
    @Test func migrationMovesDeliveriesIntoBlocks() throws {
        let path = Paths.temporaryDirectory() + "/v2.sqlite"
        let deliveries = "SELECT *, typeof(id) || typeof(payload_id) || typeof(ts_first) || typeof(overlap_bytes) FROM delivery ORDER BY id"
        let chunks = "SELECT *, typeof(data) FROM chunk ORDER BY id"
        let before: [String], chunksBefore: [String]
        do {
            let c = try SQLiteConnection(path: path, mode: .readWriteCreate)
            try c.execute(Migration.all[0].sql)
            try c.execute(Migration.all[1].sql)
            try c.execute("""
                INSERT INTO schema_migration VALUES (1, '0001_initial', 0), (2, '0002_view_times_before_1970', 0);
                PRAGMA user_version = 2;
                INSERT INTO capture(id, ingest_run, path, link_type, link_type_name, snaplen, ingested_at, status)
                VALUES (1, 1, 'old.pcap', 1, 'EN10MB', 65535, 0, 'complete');
                INSERT INTO flow(id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key,
                                 server_ip_key, first_ts, last_ts, first_packet)
                VALUES (1, 1, 4, '10.0.0.1', 1, '10.0.0.2', 2, x'00', x'00', 0, 0, 0),
                       (2, 1, 4, '10.0.0.3', 1, '10.0.0.4', 2, x'00', x'00', 0, 0, 1);
                INSERT INTO payload(id, flow_id, dir, stream_offset, data) VALUES (1, 1, 0, 0, randomblob(10000)), (2, 2, 1, 0, x'414243');
                -- flow 1: 5,000 deliveries of 2 bytes (ids 1, 3, 5, ...), a zero-byte one with NULLs first;
                -- flow 2: three deliveries between them, one before 1970.
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4999)
                INSERT INTO delivery SELECT 2 * i + 1, 1, 0, i = 0, i = 4999, 0, 2 * (i > 0), 2 * (i > 0),
                       CASE WHEN i > 0 THEN 1 END, CASE WHEN i > 0 THEN 2 * (i - 1) END, 2 * (i - 1) * (i > 0),
                       CASE WHEN i > 0 THEN 1795611135270787000 + i END, CASE WHEN i > 0 THEN 1795611135270787000 + i END,
                       1, 1, i % 3, i % 2, 9223372036854775807 * (i = 7), i % 5
                FROM n;
                INSERT INTO delivery VALUES (2, 2, 1, 1, 0, -1, 1, 1, 2, 0, 0, -729213000, -729213000, 1, 1, 0, 0, 0, 0),
                                            (4, 2, 1, 0, 0, 0, 2, 2, 2, 1, 1, 5, 6, 2, 3, 4, 5, 6, 7),
                                            (10002, 2, 1, 0, 1, 0, 0, 0, NULL, NULL, 3, NULL, NULL, 1, 0, 0, 0, 0, 0);
                """)
            before = try Self.rows(c, deliveries)
            chunksBefore = try Self.rows(c, chunks)
            #expect(before.count == 5003)
            #expect(chunksBefore.count == 5003)
        }
        let upgraded = try Archive(path: path, create: true)
        let c = upgraded.connection
        #expect(try Archive.userVersion(c) == Archive.schemaVersion)
        #expect(try Self.rows(c, "SELECT type FROM sqlite_schema WHERE name = 'delivery'") == ["view"])
        #expect(try Self.rows(c, deliveries) == before)
        #expect(try Self.rows(c, chunks) == chunksBefore)
        #expect(try Self.rows(c, "SELECT flow_id, first_delivery, last_delivery, deliveries FROM delivery_block ORDER BY first_delivery")
                == ["1|1|8191|4096", "2|2|10002|3", "1|8193|9999|904"])
        #expect(try Self.rows(c, "SELECT max(overlap_bytes), min(ts_first), sum(length) FROM delivery")
                == ["9223372036854775807|-729213000|10001"])
    }

    /// Migration 0004 upgrades a version-3 archive in place: the former packet
    /// counts keep their values as c2s_data_packets / s2c_data_packets, missed bytes
    /// and overlap / queued totals are recomputed from its rows, and what needs the
    /// packets stays NULL; `flows` then derives `state` as before.
    @Test func connectionMigrationUpgradesInPlace() throws {
        let path = Paths.temporaryDirectory() + "/v3.sqlite"
        do {
            let c = try SQLiteConnection(path: path, mode: .readWriteCreate)
            for m in Migration.all.prefix(3) { try c.execute(m.sql) }
            try c.execute("""
                INSERT INTO schema_migration VALUES (1, '0001_initial', 0), (2, '0002_view_times_before_1970', 0),
                                                    (3, '0003_delivery_blocks', 0);
                PRAGMA user_version = 3;
                INSERT INTO capture(id, ingest_run, path, link_type, link_type_name, snaplen, ingested_at, status)
                VALUES (1, 1, 'old.pcap', 1, 'EN10MB', 65535, 0, 'complete');
                INSERT INTO flow(id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key,
                                 server_ip_key, first_ts, last_ts, first_packet, c2s_packets, s2c_packets, c2s_closed, s2c_closed, gaps)
                VALUES (1, 1, 4, '10.0.0.1', 1, '10.0.0.2', 2, x'00', x'00', 0, 0, 0, 3, 4, 1, 1, 2),
                       (2, 1, 4, '10.0.0.3', 1, '10.0.0.4', 2, x'00', x'00', 0, 0, 1, 5, 0, 1, 0, 0);
                INSERT INTO gap VALUES (1, 0, 0, 100, 0), (1, 0, 500, NULL, 0), (1, 1, 7, 9223372036854775807, 0);
                -- [id, dir, is_start, is_end, skip, length, stored, payload_id, payload_offset, stream_offset,
                --  ts_first, ts_last, packets, chunks, queued_bytes, queued_packets, overlap_bytes, overlap_packets]
                INSERT INTO delivery_block VALUES
                    (2, 1, 1, 2, '[[1,0,1,0,0,10,0,null,null,0,1,1,1,1,30,2,5,1],[2,1,0,0,0,10,0,null,null,0,1,1,1,1,0,0,7,2]]'),
                    (3, 2, 3, 1, '[[3,0,1,0,0,10,0,null,null,0,1,1,1,1,1,1,0,0]]');
                """)
        }
        let c = try Archive(path: path, create: true).connection
        #expect(try Archive.userVersion(c) == Archive.schemaVersion)
        #expect(try Self.rows(c, """
            SELECT id, c2s_data_packets, s2c_data_packets, quote(c2s_packets), quote(s2c_ip_bytes), quote(conn_state),
                   quote(history), c2s_missed, s2c_missed, overlap_bytes, overlap_packets, queued_bytes, queued_packets
            FROM flow ORDER BY id
            """) == ["1|3|4|NULL|NULL|NULL|NULL|100|9200000000000000000|12|3|30|2", "2|5|0|NULL|NULL|NULL|NULL|0|0|0|0|1|1"])
        #expect(try Self.rows(c, "SELECT id, packets, state, quote(conn_state), missed, overlap_bytes FROM flows ORDER BY id")
                == ["1|7|closed|NULL|9200000000000000100|12", "2|5|half-closed|NULL|0|0"])
    }
}
