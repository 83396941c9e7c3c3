import Query
import Store
#if canImport(Glibc)
import Glibc
#endif

/// What an API request answers, before HTTP: a status, a media type, and the
/// body (bytes, or a file to stream). Every string in a body came from packets;
/// JSON bodies carry them as JSON strings, never as markup.
public struct Reply: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// An attachment's file name (safe: letters, digits, `.`, `-`), for `Content-Disposition`.
    public var attachment: String?
    /// More headers (`X-Flowdb-Sha256`).
    public var headers: [(String, String)] = []
    /// A file whose bytes are the body instead (an unlinked temporary file, closed once sent).
    public var file: Int32?
    public var fileSize = 0

    static func json(_ text: String) -> Reply {
        Reply(status: 200, contentType: "application/json; charset=utf-8", body: Array(text.utf8))
    }

    static func error(_ status: Int, _ reason: String) -> Reply {
        // one line: a reason quoting a parameter's value must not break it
        let line = reason.map { $0.isNewline ? " " : String($0) }.joined()
        return Reply(status: status, contentType: "text/plain; charset=utf-8", body: Array((line + "\n").utf8))
    }
}

/// A request's failure, answered with its status and a one-line reason.
struct APIError: Error {
    var status: Int
    var reason: String
}

/// The archive's read-only API, each request on a connection of its own (SQLite
/// connections are not shared between threads), opened read-only, with
/// `PRAGMA query_only` as a second lock, and every statement bounded in time.
public struct ArchiveAPI: Sendable {
    public let path: String
    /// Nanoseconds a request's SQL may run before SQLite interrupts it.
    public var timeLimit: UInt64 = 5_000_000_000
    /// The most flows one page lists, and one follow page's stored bytes.
    public var maxPageFlows = 1000
    public var maxFollowBytes = 1 << 20
    /// Matches are counted exactly up to this many (`total_exact` says whether it was reached).
    public var countUpTo = 10_000

    public init(path: String) { self.path = path }

    /// Opens the archive for one request; an archive that is missing or not an
    /// archive is the server's failure, said in one line.
    func open(timeLimited: Bool = true) throws -> Archive {
        let archive: Archive
        do { archive = try Archive(path: path, create: false) } catch {
            throw APIError(status: 500, reason: "\(error)")
        }
        try archive.connection.execute("PRAGMA query_only = ON")
        // a long flow's bytes are streamed for as long as they take
        if timeLimited { archive.connection.interrupt(after: timeLimit) }
        return archive
    }

    /// Runs `body`, turning every failure into a reply: a bad parameter 400, an
    /// unknown flow 404, a query past its time 503.
    func answer(_ body: () throws -> Reply) -> Reply {
        do {
            return try body()
        } catch let e as APIError {
            return .error(e.status, e.reason)
        } catch let e as QueryError {
            return .error(400, e.description)
        } catch let e as SQLiteError where e.code & 0xff == 9 {
            return .error(503, "the query ran longer than \(Double(timeLimit / 1_000_000) / 1000) s and was cancelled; narrow the filter")
        } catch {
            return .error(500, "\(error)")
        }
    }

    // MARK: - Flows

    /// `GET /api/flows`: the filters of `flowdb query` by their names, `limit` and
    /// `offset`; the rows `query --format json` prints, in its order, and the total.
    public func flows(_ parameters: [(name: String, value: String)]) -> Reply {
        answer {
            let (selection, limit, offset) = try Self.listing(parameters, maxLimit: maxPageFlows)
            let archive = try open()
            let (found, total, exact) = try FlowQuery(archive: archive).page(selection.filter, containing: selection.needle,
                                                                             limit: limit, offset: offset, countUpTo: countUpTo)
            var text = "{\"total\":\(total),\"total_exact\":\(exact),\"offset\":\(offset),\"limit\":\(limit),\"flows\":["
            text += found.map { Self.trimmed(Formats.jsonLine($0)) }.joined(separator: ",")
            text += "]}\n"
            return .json(text)
        }
    }

    /// The parameters of a listing: the filter (every name but `limit`, `offset`
    /// and `token`), the page size (default 100) and where it starts.
    static func listing(_ parameters: [(name: String, value: String)], maxLimit: Int) throws -> (FlowSelection, Int, Int) {
        var limit = 100, offset = 0
        var filters: [(name: String, value: String)] = []
        for (name, value) in parameters {
            switch name {
            case "limit":
                guard let n = Int(value), (1...maxLimit).contains(n) else { throw APIError(status: 400, reason: "limit: a number in 1...\(maxLimit), not \(value)") }
                limit = n
            case "offset":
                guard let n = Int(value), n >= 0 else { throw APIError(status: 400, reason: "offset: a number from 0, not \(value)") }
                offset = n
            case "token": continue
            // the viewer's word for `dns-query`, as the issue names it
            case "dns": filters.append(("dns-query", value))
            default: filters.append((name, value))
            }
        }
        return (try FlowSelection(filters), limit, offset)
    }

    /// `GET /api/summary`: for the metadata filters (not `contains`), flows and
    /// bytes over time (at most 60 buckets), the top 10 talkers, and the mix of
    /// transports and applications.
    public func summary(_ parameters: [(name: String, value: String)]) -> Reply {
        answer {
            let (selection, _, _) = try Self.listing(parameters, maxLimit: maxPageFlows)
            let archive = try open()
            let c = archive.connection
            let (clause, values) = try FlowQuery(archive: archive).whereClause(selection.filter)
            func run(_ sql: String, _ extra: [SQLiteValue] = [], _ row: (Statement) -> String) throws -> [String] {
                let s = try c.prepare(sql)
                for (i, v) in (extra + values).enumerated() { try s.bind(v, at: Int32(i + 1)) }
                var out: [String] = []
                while try s.step() { out.append(row(s)) }
                return out
            }
            let from = "FROM flow AS f JOIN capture AS c ON c.id = f.capture_id WHERE \(clause)"
            let span = try run("SELECT min(f.first_ts), max(f.first_ts), count(*) \(from)") { s in
                s.isNull(0) ? "" : "\(s.int64(0)) \(s.int64(1)) \(s.int64(2))"
            }
            var timeline: [String] = []
            var bucket: Int64 = 1_000_000_000
            if let first = span.first, !first.isEmpty {
                let parts = first.split(separator: " ").compactMap { Int64($0) }
                let (low, high) = (parts[0], parts[1])
                bucket = Self.bucket(for: high - low)
                timeline = try run("SELECT (f.first_ts - ?1) / ?2, count(*), sum(f.c2s_bytes + f.s2c_bytes) \(from) GROUP BY 1 ORDER BY 1",
                                   [.integer(low), .integer(bucket)]) { s in
                    "{\"t\":\(low + s.int64(0) * bucket),\"flows\":\(s.int64(1)),\"bytes\":\(s.int64(2))}"
                }
                // the filter's placeholders follow the two above
            }
            let talkers = try run("""
                SELECT ip, count(*), sum(bytes) FROM (
                    SELECT f.client_ip AS ip, f.c2s_bytes + f.s2c_bytes AS bytes \(from)
                    UNION ALL SELECT f.server_ip, f.c2s_bytes + f.s2c_bytes \(from.replacingPlaceholders(after: values.count)))
                GROUP BY ip ORDER BY 3 DESC, 2 DESC LIMIT 10
                """, values) { s in
                "{\"ip\":\(Formats.json(s.text(0) ?? "")),\"flows\":\(s.int64(1)),\"bytes\":\(s.int64(2))}"
            }
            let mix = try run("SELECT f.proto, f.app, count(*), sum(f.c2s_bytes + f.s2c_bytes) \(from) GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20") { s in
                "{\"proto\":\(Formats.json(s.text(0) ?? "tcp")),\"app\":\(s.text(1).map(Formats.json) ?? "null"),\"flows\":\(s.int64(2)),\"bytes\":\(s.int64(3))}"
            }
            return .json("{\"bucket_ns\":\(bucket),\"timeline\":[\(timeline.joined(separator: ","))],"
                         + "\"talkers\":[\(talkers.joined(separator: ","))],\"mix\":[\(mix.joined(separator: ","))]}\n")
        }
    }

    /// A bucket of a round length giving at most 60 of them over `span` ns.
    static func bucket(for span: Int64) -> Int64 {
        let steps: [Int64] = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400]
        for s in steps where span / (s * 1_000_000_000) < 60 { return s * 1_000_000_000 }
        return max(1, span / 59)
    }

    // MARK: - One flow

    func flowRecord(_ archive: Archive, _ id: Int64) throws -> FlowRecord {
        var filter = FlowFilter()
        filter.flowIDs = [id]
        guard let flow = try FlowQuery(archive: archive).flows(filter).flows.first else {
            throw APIError(status: 404, reason: "no flow \(id) in the archive")
        }
        return flow
    }

    /// `GET /api/flows/ID`: the flow's row, its gaps, and its http, tls, ssh and dns rows.
    public func flow(_ id: Int64) -> Reply {
        answer {
            let archive = try open()
            let flow = try flowRecord(archive, id)
            let gaps = try FlowReader(archive: archive).gaps(flowID: id).map {
                "{\"dir\":\"\($0.dir == 0 ? "client" : "server")\",\"stream_offset\":\($0.streamOffset),\"length\":\($0.length.map(String.init) ?? "null")}"
            }
            var text = "{\"flow\":\(Self.trimmed(Formats.jsonLine(flow))),\"gaps\":[\(gaps.joined(separator: ","))]"
            // every column of the application tables (the certificate's subject and
            // issuer too, which the Zeek-shaped listings leave out), in table order
            for (table, order) in [("http", "trans_depth"), ("tls", "flow_id"), ("ssh", "flow_id"), ("dns", "ts, trans_id")] {
                let exists = try archive.connection.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", .text(table)) == 1
                let rows = exists ? try Self.rows(archive.connection, "SELECT * FROM \(table) WHERE flow_id = ? ORDER BY \(order)", id) : []
                text += ",\"\(table)\":[" + rows.joined(separator: ",") + "]"
            }
            return .json(text + "}\n")
        }
    }

    /// `GET /api/flows/ID/follow?after=D&limit=N`: both directions in capture order,
    /// a page of deliveries after delivery id D (the cursor the last page returned),
    /// each with its bytes in base64, at most `maxFollowBytes` of them a page.
    public func follow(_ id: Int64, _ parameters: [(name: String, value: String)]) -> Reply {
        answer {
            var after: Int64 = -1, limit = 500
            for (name, value) in parameters {
                switch name {
                case "after":
                    guard let n = Int64(value) else { throw APIError(status: 400, reason: "after: a delivery id, not \(value)") }
                    after = n
                case "limit":
                    guard let n = Int(value), (1...5000).contains(n) else { throw APIError(status: 400, reason: "limit: a number in 1...5000, not \(value)") }
                    limit = n
                case "token": continue
                default: throw APIError(status: 400, reason: "\(name): not a parameter of follow (after, limit)")
                }
            }
            let archive = try open()
            _ = try flowRecord(archive, id)
            let reader = try FlowReader(archive: archive)
            var items: [String] = []
            var bytes = 0, cursor = after, more = false
            let page = try reader.deliveries(flowID: id, after: after, limit: limit + 1)
            for (i, d) in page.enumerated() {
                if i == limit || (bytes > 0 && bytes + d.stored > maxFollowBytes) { more = true; break }
                let data = try reader.bytes(of: d)
                bytes += data.count
                cursor = d.id
                items.append("{\"id\":\(d.id),\"dir\":\"\(d.dir == 0 ? "client" : "server")\",\"stream_offset\":\(d.streamOffset),"
                             + "\"length\":\(d.length),\"stored\":\(d.stored),\"skip\":\(d.skip),"
                             + "\"ts_first\":\(d.tsFirst.map(String.init) ?? "null"),\"ts_last\":\(d.tsLast.map(String.init) ?? "null"),"
                             + "\"data\":\"\(Base64.encode(data))\"}")
            }
            return .json("{\"flow_id\":\(id),\"after\":\(after),\"next\":\(more ? String(cursor) : "null"),\"deliveries\":[\(items.joined(separator: ","))]}\n")
        }
    }

    /// `GET /api/flows/ID/timeline`: each direction's deliveries as (time, stream
    /// end) points, thinned to at most 2,000 a direction, and the gaps.
    public func timeline(_ id: Int64) -> Reply {
        answer {
            let archive = try open()
            let flow = try flowRecord(archive, id)
            let s = try archive.connection.prepare("""
                SELECT json_extract(r.value, '$[1]'), json_extract(r.value, '$[10]'), json_extract(r.value, '$[9]') + json_extract(r.value, '$[5]')
                FROM delivery_block AS b, json_each(b.records) AS r WHERE b.flow_id = ? ORDER BY b.first_delivery, r.key
                """)
            try s.bind(id, at: 1)
            var points: [[(Int64, Int64)]] = [[], []]
            while try s.step() {
                guard !s.isNull(1) else { continue }
                points[s.int(0) == 0 ? 0 : 1].append((s.int64(1), s.int64(2)))
            }
            func thin(_ p: [(Int64, Int64)]) -> String {
                let step = max(1, p.count / 2000)
                var picked = stride(from: 0, to: p.count, by: step).map { p[$0] }
                if let last = p.last, picked.last.map({ $0 != last }) ?? false { picked.append(last) }
                return picked.map { "[\($0.0),\($0.1)]" }.joined(separator: ",")
            }
            let gaps = try FlowReader(archive: archive).gaps(flowID: id).map {
                "{\"dir\":\"\($0.dir == 0 ? "client" : "server")\",\"stream_offset\":\($0.streamOffset),\"length\":\($0.length.map(String.init) ?? "null")}"
            }
            return .json("{\"first_ts\":\(flow.firstTimestamp),\"last_ts\":\(flow.lastTimestamp),"
                         + "\"client\":[\(thin(points[0]))],\"server\":[\(thin(points[1]))],\"gaps\":[\(gaps.joined(separator: ","))]}\n")
        }
    }

    /// Checks the flow and the direction of `GET /api/flows/ID/stream`; the bytes
    /// are then written by `writeStream`, a run at a time.
    public func streamCheck(_ id: Int64, _ parameters: [(name: String, value: String)]) -> Result<Int, APIFailure> {
        var dir: Int?
        for (name, value) in parameters {
            switch name {
            case "dir":
                guard value == "client" || value == "server" else { return .failure(APIFailure(status: 400, reason: "dir: client or server, not \(value)")) }
                dir = value == "client" ? 0 : 1
            case "token": continue
            default: return .failure(APIFailure(status: 400, reason: "\(name): not a parameter of stream (dir)"))
            }
        }
        guard let dir else { return .failure(APIFailure(status: 400, reason: "dir: client or server is needed")) }
        let reply = answer { let archive = try open(); _ = try flowRecord(archive, id); return .json("") }
        guard reply.status == 200 else { return .failure(APIFailure(status: reply.status, reason: String(decoding: reply.body.dropLast(), as: UTF8.self))) }
        return .success(dir)
    }

    /// `GET /api/flows/ID/pcap`: the packets `flowdb query --flow ID --pcap` writes,
    /// in an unlinked temporary file streamed as the body, and their SHA-256.
    public func pcap(_ id: Int64, captureDirectories: [String]) -> Reply {
        answer {
            let archive = try open()
            _ = try flowRecord(archive, id)
            let files = CaptureFiles(archive: archive)
            files.directories = captureDirectories
            // an unlinked temporary file: nothing is left behind, whatever happens to the request
            let fd = Glibc.open("/tmp", 0o20200000 /* O_TMPFILE, which Swift does not import */ | O_RDWR, 0o600)
            guard fd >= 0 else { throw APIError(status: 500, reason: "cannot make a temporary file in /tmp: errno \(errno)") }
            do {
                let report = try PacketExporter(archive: archive, files: files).export(flowIDs: [id], to: ExportSink(fd: fd, name: "the response"))
                var reply = Reply(status: 200, contentType: "application/vnd.tcpdump.pcap", body: [], attachment: "flow-\(id).pcap")
                reply.headers = [("X-Flowdb-Sha256", report.sha256), ("X-Flowdb-Packets", String(report.packets))]
                reply.file = fd
                reply.fileSize = report.bytes
                return reply
            } catch {
                close(fd)
                throw error
            }
        }
    }

    /// `GET /api/flows/ID/objects`: the manifest of the flow's HTTP bodies, as
    /// `--extract-objects` writes it.
    public func objects(_ id: Int64) -> Reply {
        answer {
            let archive = try open()
            _ = try flowRecord(archive, id)
            var entries: [String] = []
            try ObjectExtractor(archive: archive).forEachObject(flowIDs: [id]) { entries.append($0.manifestEntry) }
            return .json("{\"objects\":[" + entries.joined(separator: ",") + "]}\n")
        }
    }

    /// `GET /api/flows/ID/objects/SHA256`: that body's bytes, as `--extract-objects` writes its file.
    public func object(_ id: Int64, sha256: String) -> Reply {
        answer {
            guard sha256.count == 64, sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw APIError(status: 400, reason: "an object is named by its SHA-256 in lower-case hex")
            }
            let archive = try open()
            _ = try flowRecord(archive, id)
            var found: [UInt8]?
            try ObjectExtractor(archive: archive).forEachObject(flowIDs: [id]) { o in
                if found == nil, o.sha256 == sha256 { found = o.bytes }
            }
            guard let found else { throw APIError(status: 404, reason: "flow \(id) has no object \(sha256)") }
            return Reply(status: 200, contentType: "application/octet-stream", body: found, attachment: sha256)
        }
    }

    /// Each row of `sql` (one bound flow id) as a JSON object of its columns;
    /// BLOBs as hex.
    static func rows(_ connection: SQLiteConnection, _ sql: String, _ id: Int64) throws -> [String] {
        let s = try connection.prepare(sql)
        try s.bind(id, at: 1)
        var out: [String] = []
        while try s.step() {
            var cells: [String] = []
            for i in 0..<s.columnCount {
                let value: String
                switch s.value(i) {
                case .null: value = "null"
                case .integer(let n): value = String(n)
                case .real(let d): value = String(d)
                case .text(let t): value = Formats.json(t)
                case .blob(let b): value = "\"" + b.map { String($0, radix: 16).leftPadded(2) }.joined() + "\""
                }
                cells.append(Formats.json(s.columnName(i)) + ":" + value)
            }
            out.append("{" + cells.joined(separator: ",") + "}")
        }
        return out
    }

    static func trimmed(_ line: String) -> String {
        line.hasSuffix("\n") ? String(line.dropLast()) : line
    }
}

/// A failure found before a streamed body begins.
public struct APIFailure: Error, Sendable {
    public var status: Int
    public var reason: String
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }

    /// The same SQL with its `?` placeholders numbered from `after + 1`, so a
    /// clause can appear twice in one statement bound once.
    func replacingPlaceholders(after: Int) -> String {
        var out = "", n = after
        for c in self {
            if c == "?" { n += 1; out += "?\(n)" } else { out.append(c) }
        }
        return out
    }
}

/// Standard base64 (RFC 4648), for bytes inside JSON.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="), UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
