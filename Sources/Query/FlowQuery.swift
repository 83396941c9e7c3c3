import Connections
import Decoding
import Digest
import Store

/// One flow (one TCP connection) as queries report it. Fields of migration 0004
/// are nil on older archives, and on rows 0004 upgraded where the packets are needed.
public struct FlowRecord: Sendable, Equatable {
    public var id: Int64
    public var captureID: Int64
    public var capturePath: String
    public var ipVersion: Int
    public var clientIP: String
    public var clientPort: Int
    public var serverIP: String
    public var serverPort: Int
    public var firstTimestamp: Int64
    public var lastTimestamp: Int64
    public var c2sBytes: Int
    public var s2cBytes: Int
    public var c2sStored: Int
    public var s2cStored: Int
    /// Every packet of the connection (packets whose bytes were delivered, on archives before 0004).
    public var packets: Int
    public var gaps: Int
    public var c2sClosed: Bool
    public var s2cClosed: Bool
    public var complete: Bool
    public var connState: String?
    public var history: String?
    public var c2sPackets: Int?
    public var s2cPackets: Int?
    public var c2sIPBytes: Int?
    public var s2cIPBytes: Int?
    public var c2sMissed: Int = 0
    public var s2cMissed: Int = 0
    public var overlapBytes: Int = 0
    /// The tunnels around the packet that opened it (migration 0005), e.g. `vxlan:4242 192.0.2.10>192.0.2.20`.
    public var encapsulation: String?
    /// The application protocol recognised (migration 0007: 'http', 'tls', 'ssh') and its host (HTTP Host or TLS SNI).
    public var app: String?
    public var appHost: String?
    /// The transport (migration 0013): 'tcp', 'udp' or 'icmp'.
    public var proto = "tcp"
    /// Community ID v1 (migration 0015; computed here for rows written before it).
    public var communityID = ""

    /// The readable state: from Zeek's code, or (archives before 0004) from the closed flags.
    /// A datagram flow is answered (both sides sent), unanswered, responder only, or seen (ICMP).
    public var state: String {
        if proto != "tcp" {
            switch connState {
            case "SF": return "answered"
            case "S0": return "unanswered"
            case "SHR": return "responder only"
            default: return "seen"
            }
        }
        if let code = connState, let known = ConnectionState(rawValue: code) { return known.word }
        if c2sClosed && s2cClosed { return "closed" }
        if c2sClosed || s2cClosed { return "half-closed" }
        return "open"
    }
}

/// A failure of a query, reported as one line.
public struct QueryError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Finds flows in an archive: indexed SQL for the metadata filters, then a scan of
/// the stored bytes for `contains`.
public final class FlowQuery {
    let connection: SQLiteConnection

    /// Whether the archive has migration 0004's connection columns, and 0005's encapsulation.
    let hasConnections: Bool
    let hasEncapsulation: Bool
    let hasApplications: Bool
    /// Whether flows have a transport (0013: UDP and ICMP flows); before, all are TCP.
    let hasProto: Bool
    /// Whether flows carry their Community ID (0015).
    let hasCommunityID: Bool
    /// The archive's schema version.
    let connectionVersion: Int
    /// Whether `flow_by_duration` (0009) is there: the longest flow is then one
    /// index descent away (without it, a scan; the window is not narrowed).
    let hasDurationIndex: Bool

    public init(archive: Archive) {
        connection = archive.connection
        hasConnections = archive.version >= 4
        hasEncapsulation = archive.version >= 5
        hasApplications = archive.version >= 7
        hasProto = archive.version >= 13
        hasCommunityID = archive.version >= 15
        connectionVersion = archive.version
        hasDurationIndex = archive.version >= 9
            && ((try? archive.connection.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'flow_by_duration'")) ?? 0) == 1
    }

    static let baseColumns = """
        f.id, f.capture_id, c.path, f.ip_version, f.client_ip, f.client_port, f.server_ip, f.server_port,
        f.first_ts, f.last_ts, f.c2s_bytes, f.s2c_bytes, f.c2s_stored, f.s2c_stored
        """
    /// Columns 14 on: from 0004 on, and before it (what older archives can say).
    static let connectionColumns = """
        coalesce(f.c2s_packets + f.s2c_packets, f.c2s_data_packets + f.s2c_data_packets), f.gaps, f.c2s_closed, f.s2c_closed,
        f.complete, f.conn_state, f.history, f.c2s_packets, f.s2c_packets, f.c2s_ip_bytes, f.s2c_ip_bytes, f.c2s_missed,
        f.s2c_missed, f.overlap_bytes
        """
    static let olderColumns = """
        f.c2s_packets + f.s2c_packets, f.gaps, f.c2s_closed, f.s2c_closed, f.complete, NULL, NULL, NULL, NULL, NULL, NULL,
        0, 0, 0
        """

    var columns: String {
        Self.baseColumns + ", " + (hasConnections ? Self.connectionColumns : Self.olderColumns)
            + (hasEncapsulation ? ", f.encapsulation" : ", NULL")
            + (hasApplications ? ", f.app, f.app_host" : ", NULL, NULL")
            + (hasProto ? ", f.proto" : ", 'tcp'")
            + (hasCommunityID ? ", f.community_id" : ", NULL")
    }

    /// The flows matching `filter` (and containing `needle` in either direction,
    /// when given), in id order. `more` tells whether `limit` cut the list.
    /// `byTime`: in order of first packet (then id), as several archives are merged.
    public func flows(_ filter: FlowFilter, containing needle: [UInt8]? = nil, limit: Int? = nil,
                      byTime: Bool = false) throws -> (flows: [FlowRecord], more: Bool) {
        let (sql, values) = try sql(filter, limit: needle == nil ? limit : nil, byTime: byTime)
        let statement = try connection.prepare(sql)
        for (i, v) in values.enumerated() { try statement.bind(v, at: Int32(i + 1)) }
        let search = try needle.map { try ContentSearch(connection: connection, needle: $0) }
        var out: [FlowRecord] = []
        while try statement.step() {
            let record = Self.record(statement)
            if let search, try !search.matches(flowID: record.id) { continue }
            if let limit, out.count == limit { return (out, true) }
            out.append(record)
        }
        return (out, false)
    }

    /// One page of the flows matching `filter` (and containing `needle`), in id
    /// order: `limit` of them after the first `offset`, and how many match, counted
    /// exactly up to `countUpTo` (then `exact` is false: at least that many), as a
    /// search engine's hit count is, so that a filter matching a million flows does
    /// not cost a million-row count per page. With `needle`, the candidates'
    /// content is searched (the connection's deadline bounds it).
    public func page(_ filter: FlowFilter, containing needle: [UInt8]? = nil, limit: Int, offset: Int,
                     countUpTo: Int = 10_000) throws -> (flows: [FlowRecord], total: Int, exact: Bool) {
        if needle == nil {
            let (clause, clauseValues) = try prepared(filter).sql()
            func count(_ sql: String, _ first: [SQLiteValue]) throws -> Int {
                let s = try connection.prepare(sql)
                for (i, v) in (first + clauseValues).enumerated() { try s.bind(v, at: Int32(i + 1)) }
                try s.bind(.integer(Int64(countUpTo) + 1), at: Int32(first.count + clauseValues.count + 1))
                return try s.step() ? s.int(0) : 0
            }
            // Dense matches (more than countUpTo among the first 100,000 flows, read
            // in id order without an index): the page is found by walking the table
            // in id order, at once. The filter's index would first gather and sort
            // every match: a port all of 1M flows have took 250 ms that way, and an
            // OR of two indexes (a port, a host) cannot stop counting early either.
            let dense = try count("""
                SELECT count(*) FROM (SELECT 1 FROM flow AS f NOT INDEXED JOIN capture AS c ON c.id = f.capture_id
                WHERE f.id <= (SELECT min(id) FROM flow) + 100000 AND \(clause) LIMIT ?)
                """, [])
            let counted = dense > countUpTo ? dense : try count(
                "SELECT count(*) FROM (SELECT 1 FROM flow AS f JOIN capture AS c ON c.id = f.capture_id WHERE \(clause) LIMIT ?)", [])
            let (sql, values) = try sql(filter, limit: nil, scanInIDOrder: dense > countUpTo)
            let statement = try connection.prepare(sql + " LIMIT ? OFFSET ?")
            for (i, v) in values.enumerated() { try statement.bind(v, at: Int32(i + 1)) }
            try statement.bind(.integer(Int64(limit)), at: Int32(values.count + 1))
            try statement.bind(.integer(Int64(offset)), at: Int32(values.count + 2))
            var out: [FlowRecord] = []
            while try statement.step() { out.append(Self.record(statement)) }
            // a page past the bound still knows where it is
            guard counted > countUpTo else { return (out, counted, true) }
            return (out, max(countUpTo, offset + out.count), false)
        }
        let (sql, values) = try sql(filter, limit: nil)
        let statement = try connection.prepare(sql)
        for (i, v) in values.enumerated() { try statement.bind(v, at: Int32(i + 1)) }
        let search = try ContentSearch(connection: connection, needle: needle ?? [])
        var out: [FlowRecord] = []
        var total = 0
        while try statement.step() {
            try connection.checkDeadline()
            let record = Self.record(statement)
            guard try search.matches(flowID: record.id) else { continue }
            if total >= offset && out.count < limit { out.append(record) }
            total += 1
            // past the page and the bound, the count stops: the rest is not searched
            if total > countUpTo && out.count == limit { return (out, countUpTo, false) }
        }
        return (out, total, true)
    }

    /// SQLite's plan for the flow selection (EXPLAIN QUERY PLAN), one step a line.
    public func plan(_ filter: FlowFilter, limit: Int? = nil) throws -> [String] {
        let (sql, values) = try sql(filter, limit: limit)
        let statement = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
        for (i, v) in values.enumerated() { try statement.bind(v, at: Int32(i + 1)) }
        var lines: [String] = []
        while try statement.step() { lines.append(statement.text(3) ?? "") }
        return lines
    }

    /// The WHERE clause over `flow AS f JOIN capture AS c` selecting `filter`'s
    /// flows, and its values (for summaries over the same selection).
    public func whereClause(_ filter: FlowFilter) throws -> (clause: String, values: [SQLiteValue]) {
        try prepared(filter).sql()
    }

    /// The filter as this archive can answer it (or an error saying why it cannot).
    func prepared(_ filter: FlowFilter) throws -> FlowFilter {
        if !filter.connStates.isEmpty && !hasConnections {
            throw QueryError("--state: this archive has no connection states (schema version before 4); `flowdb ingest` upgrades it, and connections ingested after that have them")
        }
        if filter.usesApplications && !hasApplications {
            throw QueryError("--app, --sni, --http-host, --ja3, --ja4, --uri, --method, --status: this archive records no application protocols (schema version before 7); `flowdb ingest` upgrades it, and captures ingested after that have them")
        }
        if filter.anomaly != nil && connectionVersion < 18 {
            throw QueryError("--anomaly: this archive records no anomalies (schema version \(connectionVersion)); `flowdb ingest` upgrades it, and captures ingested after that have them")
        }
        if filter.communityID != nil && !hasCommunityID {
            throw QueryError("--community-id: this archive records no Community IDs (schema version before 15); `flowdb ingest` upgrades it and computes them")
        }
        if filter.tunnel != nil && !hasEncapsulation {
            throw QueryError("--tunnel: this archive records no encapsulations (schema version before 5); `flowdb ingest` upgrades it")
        }
        var filter = filter
        if let proto = filter.proto, !hasProto {
            // every flow of an archive before 0013 is a TCP connection
            if proto == "tcp" { filter.proto = nil } else { filter.noMatch = true }
        }
        if filter.since != nil, hasDurationIndex {
            // one descent of flow_by_duration
            filter.longestFlow = try connection.scalar("SELECT max(last_ts - first_ts) FROM flow")
        }
        return filter
    }

    /// `scanInIDOrder`: walk the table in id order even with a condition (the
    /// cheapest plan when most flows match: the first page is found at once).
    func sql(_ filter: FlowFilter, limit: Int?, scanInIDOrder: Bool = false, byTime: Bool = false) throws -> (String, [SQLiteValue]) {
        let filter = try prepared(filter)
        var (clause, values) = filter.sql()
        // With a condition, "+f.id" keeps SQLite from walking the whole table in id
        // order instead of using the filter's indexes (measured: 111 ms -> 5 ms for
        // a port on 1M flows); without one, id order is the cheapest plan. One
        // connection state alone is the exception: flow_by_conn_state lists a
        // state's flows in id order, so the first N come without sorting them all
        // (`--state SF --limit 100` on 1M flows: 211 ms sorting 700,000 matches).
        let onlyState = filter.connStates.count == 1 && clause == "f.conn_state IN (?)"
        let order = byTime ? "f.first_ts, f.id" : (values.isEmpty && clause == "1") || onlyState || scanInIDOrder ? "f.id" : "+f.id"
        // an id-order walk must not be turned into an OR of indexes and a sort
        let table = scanInIDOrder ? "flow AS f NOT INDEXED" : "flow AS f"
        var sql = "SELECT \(columns) FROM \(table) JOIN capture AS c ON c.id = f.capture_id WHERE \(clause) ORDER BY \(order)"
        // Without a content search the limit goes to SQLite (one more row tells whether it cut).
        if let limit {
            sql += " LIMIT ?"
            values.append(.integer(Int64(limit) == .max ? .max : Int64(limit) + 1))
        }
        return (sql, values)
    }

    static func record(_ s: Statement) -> FlowRecord {
        func optional(_ i: Int32) -> Int? { s.isNull(i) ? nil : s.int(i) }
        var record = FlowRecord(id: s.int64(0), captureID: s.int64(1), capturePath: s.text(2) ?? "", ipVersion: s.int(3),
                          clientIP: s.text(4) ?? "", clientPort: s.int(5), serverIP: s.text(6) ?? "", serverPort: s.int(7),
                          firstTimestamp: s.int64(8), lastTimestamp: s.int64(9), c2sBytes: s.int(10), s2cBytes: s.int(11),
                          c2sStored: s.int(12), s2cStored: s.int(13), packets: s.int(14), gaps: s.int(15),
                          c2sClosed: s.int(16) != 0, s2cClosed: s.int(17) != 0, complete: s.int(18) != 0,
                          connState: s.text(19), history: s.text(20), c2sPackets: optional(21), s2cPackets: optional(22),
                          c2sIPBytes: optional(23), s2cIPBytes: optional(24), c2sMissed: s.int(25), s2cMissed: s.int(26),
                          overlapBytes: s.int(27), encapsulation: s.text(28), app: s.text(29), appHost: s.text(30),
                          proto: s.text(31) ?? "tcp", communityID: s.text(32) ?? "")
        if record.communityID.isEmpty { record.communityID = Self.communityID(of: record) }
        return record
    }

    /// The Community ID of a flow whose row has none (an archive before 0015, read as it is).
    static func communityID(of f: FlowRecord) -> String {
        guard let client = IPAddress(f.clientIP), let server = IPAddress(f.serverIP),
              let proto = CommunityID.protocolNumber(f.proto, isIPv6: f.ipVersion == 6) else { return "" }
        return CommunityID.v1(source: client.wireBytes, destination: server.wireBytes, proto: proto,
                              sourcePort: UInt16(truncatingIfNeeded: f.clientPort), destinationPort: UInt16(truncatingIfNeeded: f.serverPort))
    }
}

/// Looks for bytes in a flow's stored streams. Each direction is read run by run
/// in stream order; the last `needle.count - 1` bytes of a run are carried into
/// the next when the two are contiguous, so a match that spans two runs (or two
/// deliveries) is found. A gap between runs breaks a match.
final class ContentSearch {
    let needle: [UInt8]
    let runs: Statement

    init(connection: SQLiteConnection, needle: [UInt8]) throws {
        self.needle = needle
        runs = try connection.prepare("SELECT dir, stream_offset, data FROM payload WHERE flow_id = ? ORDER BY dir, stream_offset")
    }

    func matches(flowID: Int64) throws -> Bool {
        guard !needle.isEmpty else { return true }
        runs.reset()
        try runs.bind(flowID, at: 1)
        var carry: [UInt8] = []
        var carryDir = -1
        var carryEnd: Int64 = -1
        defer { runs.reset() }
        while try runs.step() {
            let dir = runs.int(0), offset = runs.int64(1), data = runs.blob(2)
            if dir != carryDir || offset != carryEnd { carry.removeAll(keepingCapacity: true) }
            if !carry.isEmpty {
                // only the window across the boundary: carry + the first needle.count - 1 bytes
                var window = carry
                window.append(contentsOf: data.prefix(needle.count - 1))
                if window.withUnsafeBytes({ Self.find(needle, in: $0) }) { return true }
            }
            if Self.find(needle, in: data) { return true }
            let keep = min(needle.count - 1, data.count)
            if data.count >= needle.count - 1 {
                carry = Array(data.suffix(keep))
            } else {
                carry.append(contentsOf: data)
                if carry.count > needle.count - 1 { carry.removeFirst(carry.count - (needle.count - 1)) }
            }
            carryDir = dir
            carryEnd = offset &+ Int64(data.count)     // values from the archive: never trap
        }
        return false
    }

    /// Whether `needle` occurs in `haystack`: memchr for the first byte, then a compare.
    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard needle.count <= haystack.count, let base = haystack.baseAddress else { return false }
        return needle.withUnsafeBytes { n -> Bool in
            let first = Int32(n[0])
            var start = base
            let end = base + haystack.count
            while end - start >= n.count {
                guard let hit = memchr(start, first, end - start - n.count + 1) else { return false }
                if memcmp(hit, n.baseAddress!, n.count) == 0 { return true }
                start = UnsafeRawPointer(hit) + 1
            }
            return false
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
