import Store

/// The `http`, `tls` and `ssh` rows of selected flows, listed like Zeek's
/// http.log, ssl.log and ssh.log: as a table, JSON lines, CSV, or Zeek's
/// tab-separated format with Zeek's field names (`--format zeek`, for zeek-cut).
public enum ApplicationLog: String, Sendable, CaseIterable {
    case http, tls, ssh, dns
    /// Anomalies (migration 0018), as Zeek's weird.log.
    case anomaly

    /// Zeek's log path for it.
    var zeekPath: String { self == .tls ? "ssl" : self == .anomaly ? "weird" : rawValue }

    /// The schema version that brought the table.
    var sinceVersion: Int { self == .dns ? 14 : self == .anomaly ? 18 : 7 }

    /// One column: its name in JSON/CSV, its Zeek field name and type, and its SQL.
    struct Column: Equatable {
        var name: String, zeek: String, type: String, sql: String
    }

    static let id: [Column] = [
        Column(name: "flow_id", zeek: "uid", type: "string", sql: "f.id"),
        Column(name: "client_ip", zeek: "id.orig_h", type: "addr", sql: "f.client_ip"),
        Column(name: "client_port", zeek: "id.orig_p", type: "port", sql: "f.client_port"),
        Column(name: "server_ip", zeek: "id.resp_h", type: "addr", sql: "f.server_ip"),
        Column(name: "server_port", zeek: "id.resp_p", type: "port", sql: "f.server_port"),
    ]

    /// The table's declaration (`Tables`), whose Zeek fields the log lists.
    var table: TableColumns {
        switch self {
        case .http: Tables.http
        case .tls: Tables.tls
        case .ssh: Tables.ssh
        case .dns: Tables.dns
        case .anomaly: Tables.anomaly
        }
    }

    /// `ts` (the table's, else the flow's first packet), the connection's id
    /// fields, then every column the declaration gives a Zeek name, in its order.
    var columns: [Column] {
        let table = table
        let ts = Column(name: "ts", zeek: "ts", type: "time",
                        sql: table.names.contains("ts") ? "coalesce(t.ts, f.first_ts)" : "f.first_ts")
        let fields = table.columns.filter { $0.zeekName != nil && $0.name != "ts" && $0.name != "flow_id" }
        return [ts] + Self.id + fields.map {
            Column(name: $0.name, zeek: $0.zeekName ?? $0.name, type: $0.zeekType ?? "string", sql: "t." + $0.name)
        }
    }

    /// The columns the table shows (names of `columns`).
    var tableColumns: [String] {
        switch self {
        case .http: ["flow_id", "trans_depth", "method", "host", "uri", "status_code", "request_body_len", "response_body_len"]
        case .tls: ["flow_id", "version", "cipher", "server_name", "next_protocol", "ja4"]
        case .ssh: ["flow_id", "client", "server", "kex_alg", "cipher_alg", "hassh"]
        case .dns: ["flow_id", "query", "qtype_name", "rcode_name", "answers"]
        case .anomaly: ["flow_id", "name", "detail"]
        }
    }

    /// The rows of `flowIDs`, in flow and transaction order.
    public func rows(archive: Archive, flowIDs: [Int64]) throws -> [[SQLiteValue]] {
        guard archive.version >= 7 else {
            throw QueryError("--\(rawValue): this archive records no application protocols (schema version \(archive.version)); `flowdb ingest` upgrades it, and captures ingested after that have them")
        }
        if self == .anomaly && archive.version < 18 {
            throw QueryError("--anomalies: this archive records no anomalies (schema version \(archive.version)); `flowdb ingest` upgrades it, and captures ingested after that have them")
        }
        if self == .dns && archive.version < 14 {
            throw QueryError("--dns: this archive records no DNS (schema version \(archive.version)); `flowdb ingest` upgrades it, and captures ingested after that have it")
        }
        let order = self == .http ? " ORDER BY t.trans_depth" : self == .dns || self == .anomaly ? " ORDER BY t.ts, t.rowid" : ""
        let s = try archive.connection.prepare("""
            SELECT \(columns.map(\.sql).joined(separator: ", ")) FROM \(rawValue) AS t JOIN flow AS f ON f.id = t.flow_id
            WHERE t.flow_id = ?\(order)
            """)
        var out: [[SQLiteValue]] = []
        for id in flowIDs {
            s.reset()
            try s.bind(id, at: 1)
            while try s.step() { out.append((0..<Int32(columns.count)).map { s.value($0) }) }
        }
        return out
    }

    /// Every row of the flows `clause` selects (over `flow AS f JOIN capture AS c`),
    /// in flow and transaction order, one at a time: one statement for the whole
    /// table, not one per flow (an export of 1M flows took 48 s that way).
    public func forEachRow(archive: Archive, where clause: String, _ values: [SQLiteValue],
                           _ body: ([SQLiteValue]) throws -> Void) throws {
        let order = self == .http ? ", t.trans_depth" : self == .dns || self == .anomaly ? ", t.ts, t.rowid" : ""
        let s = try archive.connection.prepare("""
            SELECT \(columns.map(\.sql).joined(separator: ", ")) FROM \(rawValue) AS t JOIN flow AS f ON f.id = t.flow_id
            JOIN capture AS c ON c.id = f.capture_id WHERE \(clause) ORDER BY t.flow_id\(order)
            """)
        for (i, v) in values.enumerated() { try s.bind(v, at: Int32(i + 1)) }
        while try s.step() { try body((0..<Int32(columns.count)).map { s.value($0) }) }
    }

    // MARK: renderings

    static func text(_ v: SQLiteValue) -> String? {
        switch v {
        case .null: nil
        case .integer(let i): String(i)
        case .real(let d): String(d)
        case .text(let t): t
        case .blob(let b): String(decoding: b, as: UTF8.self)
        }
    }

    public func jsonLine(_ row: [SQLiteValue]) -> String {
        let cells = zip(columns, row).map { c, v -> String in
            let value: String
            switch v {
            case .null: value = "null"
            case .integer(let i): value = c.type == "bool" ? (i != 0 ? "true" : "false") : String(i)
            default: value = Formats.json(Self.text(v) ?? "")
            }
            return "\"\(c.name)\":\(value)"
        }
        return "{" + cells.joined(separator: ",") + "}\n"
    }

    public var csvHeader: String { columns.map(\.name).joined(separator: ",") + "\n" }

    public func csvLine(_ row: [SQLiteValue]) -> String {
        row.map { Formats.csv(Self.text($0) ?? "") }.joined(separator: ",") + "\n"
    }

    public func table(_ rows: [[SQLiteValue]]) -> String {
        let indexes = tableColumns.compactMap { name in columns.firstIndex { $0.name == name } }
        let header = indexes.map { columns[$0].name.uppercased() }
        let body = rows.map { row in indexes.map { Self.text(row[$0]) ?? "-" } }
        var widths = header.map(\.count)
        for r in body { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (i, c) in cells.enumerated() {
                out += c + (i == cells.count - 1 ? "" : String(repeating: " ", count: widths[i] - c.count + 2))
            }
            return out + "\n"
        }
        return line(header) + body.map(line).joined()
    }

    public func zeekHeader(openedAt now: Int) -> String {
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t\(zeekPath)\n"
            + "#open\t\(ZeekConnLog.wallClock(now))\n#fields\t\(columns.map(\.zeek).joined(separator: "\t"))\n"
            + "#types\t\(columns.map(\.type).joined(separator: "\t"))\n"
    }

    public func zeekLine(_ row: [SQLiteValue]) -> String {
        zip(columns, row).map { c, v -> String in
            switch (c.type, v) {
            case (_, .null): return "-"
            case ("time", .integer(let ns)): return ZeekConnLog.time(ns)
            case ("string", .integer(let id)) where c.zeek == "uid": return ZeekConnLog.uid(flowID: id)
            case ("bool", .integer(let b)): return b != 0 ? "T" : "F"
            case ("interval", .integer(let ns)): return ZeekConnLog.time(ns)
            case ("vector[interval]", .text(let seconds)):
                return seconds.split(separator: ",").map { $0 + ".000000" }.joined(separator: ",")
            default:
                let t = Self.text(v) ?? ""
                return t.isEmpty ? "(empty)" : ZeekConnLog.escaped(t)
            }
        }.joined(separator: "\t") + "\n"
    }
}
