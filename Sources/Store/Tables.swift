/// The columns flowdb writes, declared once per table. Inserts and updates are
/// generated from these lists (`TableColumns.insert`, `.update`), their values are
/// set by these names (`RowValues`) and bound in this order, and the Zeek-shaped logs of
/// `flowdb query` (`--http`, `--tls`, `--ssh`, `--format zeek`) take their fields
/// from the columns that carry a Zeek name. The tables themselves are created by
/// the migrations in `schema/`; `schema/current.sql` shows them whole.
public enum Tables {
    /// What a `capture` row holds when its file begins to be read.
    public static let captureStart = TableColumns("capture", [
        "id", "ingest_run", "path", "size", "link_type", "link_type_name", "snaplen", "ingested_at", "status", "stdin_kept",
        "interface", "filter",
    ])

    /// A `capture` row's counters, rewritten at each commit of its file.
    public static let captureCounters = TableColumns("capture", [
        "sha256", "size", "packets", "bytes", "tcp_packets", "truncated_payloads",
        "skipped_non_ip", "skipped_non_tcp", "skipped_fragments", "skipped_malformed", "skipped_truncated",
        "skipped_link_type", "first_ts", "last_ts", "encapsulations",
        "datagrams_reassembled", "fragments_expired", "fragment_overlaps", "oversized_datagrams",
        "tcp_headers_cut", "packets_received", "kernel_drops", "interface_drops", "tcp_bad_options",
        "udp_packets", "icmp_packets", "datagram_flows_evicted",
    ])

    /// What a `flow` row knows from the packet that opened it.
    public static let flowIdentity = TableColumns("flow", [
        "id", "capture_id", "ip_version", "client_ip", "client_port", "server_ip", "server_port",
        "client_ip_key", "server_ip_key", "first_ts", "first_packet", "encapsulation", "proto", "community_id", "continues_from",
    ])

    /// A `flow` row's running totals: written with the row, updated as the connection goes on.
    public static let flowTotals = TableColumns("flow", [
        "last_ts", "c2s_bytes", "s2c_bytes", "c2s_stored", "s2c_stored", "c2s_data_packets", "s2c_data_packets", "gaps",
        "c2s_closed", "s2c_closed", "complete", "c2s_packets", "s2c_packets", "c2s_ip_bytes", "s2c_ip_bytes",
        "c2s_missed", "s2c_missed", "overlap_bytes", "overlap_packets", "queued_bytes", "queued_packets",
        "conn_state", "history", "packet_blocks", "packet_capture_id", "packet_records", "app", "app_host",
        "overlap_conflicts",
    ])

    public static let payload = TableColumns("payload", ["id", "flow_id", "dir", "stream_offset", "data"])

    public static let deliveryBlock = TableColumns("delivery_block", [
        "last_delivery", "flow_id", "first_delivery", "deliveries", "records",
    ])

    public static let gap = TableColumns("gap", ["flow_id", "dir", "stream_offset", "length", "ts"])

    public static let packetBlock = TableColumns("packet_block", [
        "flow_id", "block", "capture_id", "packets", "first_packet", "last_packet", "records",
    ])

    /// One HTTP transaction. The fields of Zeek's http.log come first, in its order.
    public static let http = TableColumns("http", [
        Column("ts", zeek: "ts", "time"), Column("flow_id", zeek: "uid", "string"),
        Column("trans_depth", zeek: "trans_depth", "count"),
    ] + zeek(["method", "host", "uri", "referrer", "version", "user_agent", "origin"], "string") + [
        Column("request_body_len", zeek: "request_body_len", "count"), Column("response_body_len", zeek: "response_body_len", "count"),
        Column("status_code", zeek: "status_code", "count"), Column("status_msg", zeek: "status_msg", "string"),
        Column("request_content_type", zeek: "orig_mime_types", "vector[string]"),
        Column("response_content_type", zeek: "resp_mime_types", "vector[string]"),
        Column("incomplete", zeek: "incomplete", "bool"),
        "informational", "request_headers", "response_headers",
        "request_body_offset", "request_body_wire_len", "response_body_offset", "response_body_wire_len",
        "request_chunked", "response_chunked",
    ])

    /// One TLS handshake. The fields of Zeek's ssl.log come first, in its order.
    public static let tls = TableColumns("tls", [
        Column("ts", zeek: "ts", "time"), Column("flow_id", zeek: "uid", "string"),
    ] + zeek(["version", "cipher", "curve", "server_name"], "string") + [
        Column("resumed", zeek: "resumed", "bool"), Column("next_protocol", zeek: "next_protocol", "string"),
        Column("established", zeek: "established", "bool"),
    ] + zeek(["alpn_offered", "ja3", "ja3s", "ja4"], "string") + [
        "client_version", "cert_chain_sha256", "subject", "issuer", "serial", "not_before", "not_after", "preamble",
    ])

    /// One SSH handshake. The fields of Zeek's ssh.log come first, in its order
    /// (the log's `ts` is the flow's first packet: the table has none of its own).
    public static let ssh = TableColumns("ssh", [Column("flow_id", zeek: "uid", "string")]
        + zeek(["version", "client", "server", "cipher_alg", "mac_alg", "compression_alg", "kex_alg", "host_key_alg", "hassh"],
               "string")
        + [Column("hassh_server", zeek: "hasshServer", "string"),
           "client_software", "server_software", "hassh_string", "hassh_server_string"])

    /// A `dns` row: Zeek's dns.log fields (its `AA`, `TC`, `RD`, `RA`, `Z` and
    /// `TTLs` in lower case here; `rtt` in nanoseconds).
    public static let dns = TableColumns("dns", [Column("flow_id", zeek: "uid", "string"), Column("ts", zeek: "ts", "time"),
                                                 Column("trans_id", zeek: "trans_id", "count"), Column("rtt", zeek: "rtt", "interval"),
                                                 Column("query", zeek: "query", "string"), Column("qclass", zeek: "qclass", "count"),
                                                 Column("qclass_name", zeek: "qclass_name", "string"),
                                                 Column("qtype", zeek: "qtype", "count"), Column("qtype_name", zeek: "qtype_name", "string"),
                                                 Column("rcode", zeek: "rcode", "count"), Column("rcode_name", zeek: "rcode_name", "string"),
                                                 Column("aa", zeek: "AA", "bool"), Column("tc", zeek: "TC", "bool"),
                                                 Column("rd", zeek: "RD", "bool"), Column("ra", zeek: "RA", "bool"),
                                                 Column("z", zeek: "Z", "count"), Column("answers", zeek: "answers", "vector[string]"),
                                                 Column("ttls", zeek: "TTLs", "vector[interval]"),
                                                 Column("rejected", zeek: "rejected", "bool")])

    /// Anomalies (migration 0018), as Zeek's weird.log lists them.
    public static let anomaly = TableColumns("anomaly", [Column("flow_id", zeek: "uid", "string"), Column("ts", zeek: "ts", "time"),
                                                         "dir", "packet_index",
                                                         Column("name", zeek: "name", "string"), Column("detail", zeek: "addl", "string")])

    /// Overlap conflicts (migration 0019): both copies of bytes that arrived twice, differently.
    public static let overlapConflict = TableColumns("overlap_conflict", [
        "flow_id", "dir", "stream_offset", "length", "differing", "earlier_state", "earlier_ts", "earlier_packet_index",
        "earlier_segment_offset", "earlier_segment_length", "later_ts", "later_packet_index", "later_segment_offset",
        "later_segment_length", "earlier_bytes", "later_bytes", "bytes_cut", "kept",
    ])

    /// Columns that are Zeek log fields of the same name and type.
    private static func zeek(_ names: [String], _ type: String) -> [Column] {
        names.map { Column($0, zeek: $0, type) }
    }

    /// Every declaration, for the test that checks them against the schema.
    public static let all: [TableColumns] = [
        captureStart, captureCounters, flowIdentity, flowTotals, payload, deliveryBlock, gap, packetBlock, http, tls, ssh, dns,
        anomaly, overlapConflict,
    ]
}

/// One column of a table, and the Zeek log field it is, if any.
public struct Column: Sendable, Equatable, ExpressibleByStringLiteral {
    public var name: String
    /// Zeek's name and type for the field (`uid`, `string`), where a Zeek log has it.
    public var zeekName: String?
    public var zeekType: String?

    public init(_ name: String, zeek: String? = nil, _ type: String? = nil) {
        self.name = name
        zeekName = zeek
        zeekType = type
    }

    public init(stringLiteral name: String) { self.init(name) }
}

/// A list of a table's columns, and the SQL that writes them.
public struct TableColumns: Sendable {
    public let table: String
    public let columns: [Column]
    public let names: [String]
    public var count: Int { columns.count }
    /// Each column's position in the list.
    let index: [String: Int]

    public init(_ table: String, _ columns: [Column]) {
        self.table = table
        self.columns = columns
        names = columns.map(\.name)
        index = Dictionary(columns.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in
            preconditionFailure("\(table): column \(columns[first].name) declared twice")
        })
    }

    /// The SQL parameter of column `name` in `insert()`'s statement.
    public func parameter(_ name: String) -> Int32 {
        guard let i = index[name] else { preconditionFailure("\(table) declares no column \(name)") }
        return Int32(i + 1)
    }

    /// An empty row of this list (every value NULL).
    public func row() -> RowValues { RowValues(self) }

    /// Binds `row` (of this list) to parameters `first`, `first + 1`, ...
    public func bind(_ row: RowValues, to statement: Statement, from first: Int32 = 1) throws(SQLiteError) {
        precondition(row.columns.table == table && row.values.count == count, "a row of \(row.columns.table) bound as \(table)")
        for (i, value) in row.values.enumerated() { try statement.bind(value, at: first + Int32(i)) }
    }

    public init(_ table: String, _ names: [String]) {
        self.init(table, names.map { Column($0) })
    }

    /// `INSERT INTO table(columns...) VALUES (?, ...)`, parameters in list order;
    /// `followedBy` adds another list's columns of the same table after these.
    public func insert(orReplace: Bool = false, followedBy more: TableColumns? = nil) -> String {
        let all = names + (more?.names ?? [])
        return "INSERT \(orReplace ? "OR REPLACE " : "")INTO \(table)(\(all.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: all.count).joined(separator: ", ") + ")"
    }

    /// `UPDATE table SET a = ?, ... WHERE key = ?`: the list's parameters first, the key last.
    public func update(where key: String) -> String {
        "UPDATE \(table) SET \(names.map { "\($0) = ?" }.joined(separator: ", ")) WHERE \(key) = ?"
    }
}

/// A row's values in a declaration's column order, set by column name: the
/// values then bind to an insert generated from the same declaration, with no
/// position written by hand. A name the table does not declare stops the program
/// at once (the tests write every table).
public struct RowValues {
    public let columns: TableColumns
    public private(set) var values: [SQLiteValue]

    public init(_ columns: TableColumns) {
        self.columns = columns
        values = Array(repeating: .null, count: columns.count)
    }

    /// Sets column `name`, wherever it is in the declaration.
    public mutating func set(_ name: String, _ value: some SQLiteConvertible) {
        guard let i = columns.index[name] else { preconditionFailure("\(columns.table) declares no column \(name)") }
        values[i] = value.sqliteValue
    }

    public subscript(name: String) -> SQLiteValue {
        guard let i = columns.index[name] else { preconditionFailure("\(columns.table) declares no column \(name)") }
        return values[i]
    }
}

/// A Swift value as SQLite stores it (nil as NULL, a Bool as 1 or 0).
public protocol SQLiteConvertible {
    var sqliteValue: SQLiteValue { get }
}

extension SQLiteValue: SQLiteConvertible { public var sqliteValue: SQLiteValue { self } }
extension Int64: SQLiteConvertible { public var sqliteValue: SQLiteValue { .integer(self) } }
extension Int: SQLiteConvertible { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Int32: SQLiteConvertible { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension UInt16: SQLiteConvertible { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Bool: SQLiteConvertible { public var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) } }
extension String: SQLiteConvertible { public var sqliteValue: SQLiteValue { .text(self) } }
extension Optional: SQLiteConvertible where Wrapped: SQLiteConvertible {
    public var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

/// Binds a row's values straight into a statement, column after column in the
/// declaration's order, each named: no value is boxed on the way, for the rows
/// written by the hundred thousand (flows). A name out of order, or a column
/// left out (`finish`), stops the program at once.
public struct ColumnBinder {
    public let columns: TableColumns
    let statement: Statement
    let first: Int32
    var next = 0
    /// Whether `step` ran.
    public private(set) var stepped = false

    public init(_ columns: TableColumns, _ statement: Statement, from first: Int32 = 1) {
        self.columns = columns
        self.statement = statement
        self.first = first
    }

    @inline(__always)
    mutating func parameter(_ name: String) -> Int32 {
        precondition(next < columns.count && columns.names[next] == name,
                     "\(columns.table): \(name) is not the next declared column (\(next < columns.count ? columns.names[next] : "none"))")
        next += 1
        return first + Int32(next - 1)
    }

    public mutating func bind(_ name: String, _ value: Int64) throws(SQLiteError) {
        try statement.bind(value, at: parameter(name))
    }

    public mutating func bind(_ name: String, _ value: Int) throws(SQLiteError) {
        try statement.bind(value, at: parameter(name))
    }

    public mutating func bind(_ name: String, _ value: Int64?) throws(SQLiteError) {
        try statement.bind(value, at: parameter(name))
    }

    public mutating func bind(_ name: String, _ value: Bool) throws(SQLiteError) {
        try statement.bind(value, at: parameter(name))
    }

    public mutating func bind(_ name: String, _ value: String?) throws(SQLiteError) {
        try statement.bind(value, at: parameter(name))
    }

    /// Bytes as a blob, copied by SQLite.
    public mutating func bind(_ name: String, bytes: UnsafeRawBufferPointer) throws(SQLiteError) {
        try statement.bind(bytes: bytes, at: parameter(name))
    }

    /// Bytes as a blob, not copied: they must stay valid until the statement is
    /// stepped and reset (`Statement.bind(borrowing:at:)`).
    public mutating func bind(_ name: String, borrowing bytes: UnsafeRawBufferPointer) throws(SQLiteError) {
        try statement.bind(borrowing: bytes, at: parameter(name))
    }

    /// UTF-8 text, not copied, under the same rule.
    public mutating func bind(_ name: String, borrowingText text: UnsafeRawBufferPointer) throws(SQLiteError) {
        try statement.bind(borrowingText: text, at: parameter(name))
    }

    /// UTF-8 text, copied by SQLite; nil binds NULL.
    public mutating func bind(_ name: String, text: UnsafeRawBufferPointer?) throws(SQLiteError) {
        let i = parameter(name)
        if let text { try statement.bind(text: text, at: i) } else { try statement.bindNull(at: i) }
    }

    /// Every declared column was bound.
    public func finish() {
        precondition(next == columns.count, "\(columns.table): \(columns.count - next) column(s) not bound")
    }

    /// Checks that every column was bound, and runs the statement (inside the
    /// scope of any bytes bound in place).
    public mutating func step() throws(SQLiteError) {
        finish()
        try statement.step()
        stepped = true
    }
}
