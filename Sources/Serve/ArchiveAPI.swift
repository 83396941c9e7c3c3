import Digest
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
    /// The archives served: one file, or directories and files (`--db` repeated);
    /// a directory is read again at each request, so a periodic capture's new
    /// archives appear as they are made.
    public let arguments: [String]
    /// The one archive, when only one file is served (flows are then named by id alone).
    public var path: String { arguments[0] }
    /// Nanoseconds a request's SQL may run before SQLite interrupts it.
    public var timeLimit: UInt64 = 5_000_000_000
    /// The most flows one page lists, and one follow page's stored bytes.
    public var maxPageFlows = 1000
    public var maxFollowBytes = 1 << 20
    /// Matches are counted exactly up to this many (`total_exact` says whether it was reached).
    public var countUpTo = 10_000

    public init(path: String) { arguments = [path] }
    public init(archives: [String]) { arguments = archives.isEmpty ? ["flowdb.sqlite"] : archives }

    /// Whether flows are named `ARCHIVE:ID` (several archives, or a directory).
    var several: Bool { ArchiveSet.namesSeveral(arguments) }

    /// The archive and id a flow reference names: `ID` with one archive, `ARCHIVE:ID`
    /// (the archive's file name, one of those served) with several.
    func resolve(_ ref: String) throws -> (path: String, id: Int64) {
        guard several else {
            guard let id = Int64(ref) else { throw APIError(status: 404, reason: "not a flow id") }
            return (path, id)
        }
        guard let colon = ref.lastIndex(of: ":"), let id = Int64(ref[ref.index(after: colon)...]) else {
            throw APIError(status: 404, reason: "not a flow (ARCHIVE:ID)")
        }
        let name = String(ref[..<colon])
        guard let path = try ArchiveSet(arguments).paths.first(where: { ArchiveSet.name($0) == name }) else {
            throw APIError(status: 404, reason: "no archive \(name) is served")
        }
        return (path, id)
    }

    /// Opens the archive for one request; an archive that is missing or not an
    /// archive is the server's failure, said in one line.
    func open(_ path: String, timeLimited: Bool = true) throws -> Archive {
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
    /// Several archives: the rows of `query --db …` (merged in time order, each with
    /// its `archive`), counted up to `countUpTo` as well.
    public func flows(_ parameters: [(name: String, value: String)]) -> Reply {
        answer {
            let (selection, limit, offset) = try Self.listing(parameters, maxLimit: maxPageFlows)
            var text: String
            if several {
                let (rows, more, _) = try ArchiveSet(arguments).flows(selection.filter, containing: selection.needle,
                                                                       limit: max(offset + limit, countUpTo))
                let page = rows.dropFirst(offset).prefix(limit)
                let total = more ? max(countUpTo, offset + page.count) : rows.count
                text = "{\"total\":\(total),\"total_exact\":\(!more),\"offset\":\(offset),\"limit\":\(limit),\"flows\":["
                text += page.map { Self.trimmed(Formats.jsonLine($0.flow, archive: $0.archive)) }.joined(separator: ",")
            } else {
                let archive = try open(path)
                let (found, total, exact) = try FlowQuery(archive: archive).page(selection.filter, containing: selection.needle,
                                                                                 limit: limit, offset: offset, countUpTo: countUpTo)
                text = "{\"total\":\(total),\"total_exact\":\(exact),\"offset\":\(offset),\"limit\":\(limit),\"flows\":["
                text += found.map { Self.trimmed(Formats.jsonLine($0)) }.joined(separator: ",")
            }
            return .json(text + "]}\n")
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
    /// transports and applications; over several archives, their sums (talkers from
    /// each archive's top 1,000).
    public func summary(_ parameters: [(name: String, value: String)]) -> Reply {
        answer {
            let (selection, _, _) = try Self.listing(parameters, maxLimit: maxPageFlows)
            let paths = several ? try ArchiveSet(arguments).paths : [path]
            let archives = try paths.map { try open($0) }
            // one statement per archive and question, the filter's values bound
            // (`twice`: the filter's clause appears twice, its values bound for each)
            func run(_ archive: Archive, _ sql: (String, Int) -> String, _ extra: [SQLiteValue] = [], twice: Bool = false,
                     _ row: (Statement) -> Void) throws {
                let (clause, values) = try FlowQuery(archive: archive).whereClause(selection.filter)
                let from = "FROM flow AS f JOIN capture AS c ON c.id = f.capture_id WHERE \(clause)"
                let s = try archive.connection.prepare(sql(from, values.count))
                for (i, v) in (extra + values + (twice ? values : [])).enumerated() { try s.bind(v, at: Int32(i + 1)) }
                while try s.step() { row(s) }
            }
            var low = Int64.max, high = Int64.min
            for a in archives {
                try run(a, { from, _ in "SELECT min(f.first_ts), max(f.first_ts) \(from)" }) { s in
                    if !s.isNull(0) { low = min(low, s.int64(0)); high = max(high, s.int64(1)) }
                }
            }
            var timeline: [Int64: (Int64, Int64)] = [:]
            var talkers: [String: (Int64, Int64)] = [:]
            var mix: [String: (proto: String, app: String?, flows: Int64, bytes: Int64)] = [:]
            var bucket: Int64 = 1_000_000_000
            if low <= high {
                bucket = Self.bucket(for: high - low)
                for a in archives {
                    try run(a, { from, _ in "SELECT (f.first_ts - ?1) / ?2, count(*), sum(f.c2s_bytes + f.s2c_bytes) \(from) GROUP BY 1" },
                            [.integer(low), .integer(bucket)]) { s in
                        let t = low + s.int64(0) * bucket, old = timeline[t] ?? (0, 0)
                        timeline[t] = (old.0 + s.int64(1), old.1 + s.int64(2))
                    }
                    try run(a, { from, n in """
                        SELECT ip, count(*), sum(bytes) FROM (
                            SELECT f.client_ip AS ip, f.c2s_bytes + f.s2c_bytes AS bytes \(from)
                            UNION ALL SELECT f.server_ip, f.c2s_bytes + f.s2c_bytes \(from.replacingPlaceholders(after: n)))
                        GROUP BY ip ORDER BY 3 DESC, 2 DESC LIMIT 1000
                        """ }, twice: true) { s in
                        let ip = s.text(0) ?? "", old = talkers[ip] ?? (0, 0)
                        talkers[ip] = (old.0 + s.int64(1), old.1 + s.int64(2))
                    }
                    try run(a, { from, _ in "SELECT f.proto, f.app, count(*), sum(f.c2s_bytes + f.s2c_bytes) \(from) GROUP BY 1, 2" }) { s in
                        let proto = s.text(0) ?? "tcp", app = s.text(1), key = proto + "/" + (app ?? "")
                        let old = mix[key] ?? (proto, app, 0, 0)
                        mix[key] = (proto, app, old.flows + s.int64(2), old.bytes + s.int64(3))
                    }
                }
            }
            let t = timeline.sorted { $0.key < $1.key }.map { "{\"t\":\($0.key),\"flows\":\($0.value.0),\"bytes\":\($0.value.1)}" }
            let top = talkers.sorted { ($0.value.1, $0.value.0, $1.key) > ($1.value.1, $1.value.0, $0.key) }.prefix(10).map {
                "{\"ip\":\(Formats.json($0.key)),\"flows\":\($0.value.0),\"bytes\":\($0.value.1)}"
            }
            let m = mix.values.sorted { ($0.flows, $1.proto + "/" + ($1.app ?? "")) > ($1.flows, $0.proto + "/" + ($0.app ?? "")) }.prefix(20).map {
                "{\"proto\":\(Formats.json($0.proto)),\"app\":\($0.app.map(Formats.json) ?? "null"),\"flows\":\($0.flows),\"bytes\":\($0.bytes)}"
            }
            return .json("{\"bucket_ns\":\(bucket),\"timeline\":[\(t.joined(separator: ","))],"
                         + "\"talkers\":[\(top.joined(separator: ","))],\"mix\":[\(m.joined(separator: ","))]}\n")
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
    public func flow(_ ref: String) -> Reply {
        answer {
            let (path, id) = try resolve(ref)
            let archive = try open(path)
            let flow = try flowRecord(archive, id)
            let gaps = try FlowReader(archive: archive).gaps(flowID: id).map {
                "{\"dir\":\"\($0.dir == 0 ? "client" : "server")\",\"stream_offset\":\($0.streamOffset),\"length\":\($0.length.map(String.init) ?? "null")}"
            }
            var text = "{\"flow\":\(Self.trimmed(Formats.jsonLine(flow))),\"gaps\":[\(gaps.joined(separator: ","))]"
            // every column of the application tables (the certificate's subject and
            // issuer too, which the Zeek-shaped listings leave out), in table order
            for (table, order) in [("http", "trans_depth"), ("tls", "flow_id"), ("ssh", "flow_id"), ("dns", "ts, trans_id"), ("anomaly", "ts, rowid")] {
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
    public func follow(_ ref: String, _ parameters: [(name: String, value: String)]) -> Reply {
        answer {
            let (path, id) = try resolve(ref)
            var after: Int64 = -1, limit = 500
            var policy: TargetPolicy?
            for (name, value) in parameters {
                switch name {
                case "policy" where value.isEmpty:
                    policy = nil      // the stream as stored
                case "policy":
                    guard let p = TargetPolicy(rawValue: value) else {
                        throw APIError(status: 400, reason: "policy: one of \(TargetPolicy.allCases.map(\.rawValue).joined(separator: ", ")), not \(value)")
                    }
                    policy = p
                case "after":
                    guard let n = Int64(value) else { throw APIError(status: 400, reason: "after: a delivery id, not \(value)") }
                    after = n
                case "limit":
                    guard let n = Int(value), (1...5000).contains(n) else { throw APIError(status: 400, reason: "limit: a number in 1...5000, not \(value)") }
                    limit = n
                case "token": continue
                default: throw APIError(status: 400, reason: "\(name): not a parameter of follow (after, limit, policy)")
                }
            }
            let archive = try open(path)
            _ = try flowRecord(archive, id)
            let reader = try FlowReader(archive: archive)
            reader.policy = policy
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
    public func timeline(_ ref: String) -> Reply {
        answer {
            let (path, id) = try resolve(ref)
            let archive = try open(path)
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
    public func streamCheck(_ ref: String, _ parameters: [(name: String, value: String)]) -> Result<(path: String, id: Int64, dir: Int), APIFailure> {
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
        var found: (String, Int64)?
        let reply = answer {
            let (path, id) = try resolve(ref)
            _ = try flowRecord(try open(path), id)
            found = (path, id)
            return .json("")
        }
        guard reply.status == 200, let (path, id) = found else {
            return .failure(APIFailure(status: reply.status, reason: String(decoding: reply.body.dropLast(), as: UTF8.self)))
        }
        return .success((path, id, dir))
    }

    /// `GET /api/flows/ID/pcap`: the packets `flowdb query --flow ID --pcap` writes,
    /// in an unlinked temporary file streamed as the body, and their SHA-256.
    public func pcap(_ ref: String, captureDirectories: [String]) -> Reply {
        answer {
            let (path, id) = try resolve(ref)
            let archive = try open(path)
            _ = try flowRecord(archive, id)
            let files = CaptureFiles(archive: archive)
            files.directories = captureDirectories
            // an unlinked temporary file: nothing is left behind, whatever happens to the request
            let fd = Glibc.open("/tmp", 0o20200000 /* O_TMPFILE, which Swift does not import */ | O_RDWR, 0o600)
            guard fd >= 0 else { throw APIError(status: 500, reason: "cannot make a temporary file in /tmp: errno \(errno)") }
            do {
                let report = try PacketExporter(archive: archive, files: files).export(flowIDs: [id], to: ExportSink(fd: fd, name: "the response"))
                var reply = Reply(status: 200, contentType: "application/vnd.tcpdump.pcap", body: [], attachment: Self.fileName(ref) + ".pcap")
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
    public func objects(_ ref: String) -> Reply {
        answer {
            let (path, id) = try resolve(ref)
            let archive = try open(path)
            _ = try flowRecord(archive, id)
            var entries: [String] = []
            try ObjectExtractor(archive: archive).forEachObject(flowIDs: [id]) { entries.append($0.manifestEntry) }
            return .json("{\"objects\":[" + entries.joined(separator: ",") + "]}\n")
        }
    }

    /// `GET /api/flows/ID/objects/SHA256`: that body's bytes, as `--extract-objects` writes its file.
    public func object(_ ref: String, sha256: String) -> Reply {
        answer {
            let (path, id) = try resolve(ref)
            guard sha256.count == 64, sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw APIError(status: 400, reason: "an object is named by its SHA-256 in lower-case hex")
            }
            let archive = try open(path)
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

    /// A download's name for a flow: `flow-ID`, or `flow-ARCHIVE-ID` (letters, digits, `.`, `-`, `_` only).
    static func fileName(_ ref: String) -> String {
        "flow-" + String(ref.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") ? $0 : "-" })
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
