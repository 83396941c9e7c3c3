import Digest
import FileIO
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `flowdb export`: an archive's records for the engines a fleet already runs —
/// Spark, ClickHouse, a SIEM, Zeek's tools. One file per archive and log:
/// newline-delimited JSON (the fields of `flowdb query --format json`, plus
/// `archive_id`, `archive` and `flow_id`, first) or Zeek's TSV logs (conn, http,
/// ssl, ssh, dns). The bytes stay in the archive; every record leads back to them
/// by `archive_id`/`archive` and `flow_id` (`flowdb query --flow ARCHIVE:ID`).
///
/// The same archive exported again gives the same files, byte for byte (rows in
/// id order, no clock in them: a Zeek log's #open and #close are the archive's
/// first and last packet), so a sync job can compare and skip. Each file is
/// written under a temporary name and renamed over the last export's.
public struct Exporter {
    public enum Format: String, Sendable, CaseIterable { case ndjson, zeek }

    public let directory: String
    public let format: Format
    /// Flows overlapping [since, until] only (and their application rows).
    public var since: Int64?
    public var until: Int64?

    public init(directory: String, format: Format) {
        self.directory = directory
        self.format = format
    }

    /// What one archive's export wrote.
    public struct Report: Sendable {
        public var archiveID: String
        public var flows = 0
        public var rows: [String: Int] = [:]
        public var files: [String] = []
    }

    /// The archive's identity (migration 0016).
    public static func archiveID(_ archive: Archive) throws -> String {
        guard archive.version >= 16, let id = try? archive.connection.prepare("SELECT archive_id FROM archive"), try id.step(),
              let value = id.text(0) else {
            throw QueryError("\(archive.path): this archive has no archive_id (schema version \(archive.version)); `flowdb ingest` upgrades it")
        }
        return value
    }

    /// Exports one archive; the file names start with its file name without `.sqlite`.
    public func export(_ path: String) throws -> Report {
        let archive = try Archive(path: path, create: false)
        let id = try Self.archiveID(archive)
        let name = ArchiveSet.name(path)
        let stem = name.hasSuffix(".sqlite") ? String(name.dropLast(7)) : name
        var report = Report(archiveID: id)
        let files = Extractor(reader: try FlowReader(archive: archive), directory: directory, force: true, fillGaps: false)
        let dir = try files.openDirectory()
        defer { close(dir) }
        var filter = FlowFilter()
        filter.since = since
        filter.until = until
        let query = FlowQuery(archive: archive)
        let prefix = "{\"archive_id\":" + Formats.json(id) + ",\"archive\":" + Formats.json(name) + ","
        // the archive's span: the Zeek logs' #open and #close
        let span = try ArchiveSet.span(archive)
        let opened = Int((span?.0 ?? 0) / 1_000_000_000), closed = Int((span?.1 ?? 0) / 1_000_000_000)
        var flows = 0

        let flowFile = format == .ndjson ? stem + ".flow.ndjson" : stem + ".conn.log"
        try files.writeFile(flowFile, in: dir) { fd in
            let out = OutputBuffer(fd: fd, path: directory + "/" + flowFile)
            if format == .zeek { try out.write(ZeekConnLog.header(openedAt: opened)) }
            try query.forEachFlow(filter) { f in
                flows += 1
                if format == .ndjson {
                    try out.write(prefix + "\"flow_id\":\(f.id)," + Formats.jsonLine(f).dropFirst())
                } else {
                    try out.write(ZeekConnLog.line(f))
                }
            }
            if format == .zeek { try out.write(ZeekConnLog.footer(closedAt: closed)) }
            try out.flush()
        }
        report.flows = flows
        report.files.append(flowFile)

        for log in ApplicationLog.allCases where archive.version >= log.sinceVersion {
            let file = format == .ndjson ? "\(stem).\(log.rawValue).ndjson" : "\(stem).\(log.zeekPath).log"
            let (clause, values) = try query.whereClause(filter)
            var count = 0
            try files.writeFile(file, in: dir) { fd in
                let out = OutputBuffer(fd: fd, path: directory + "/" + file)
                if format == .zeek { try out.write(log.zeekHeader(openedAt: opened)) }
                try log.forEachRow(archive: archive, where: clause, values) { r in
                    try out.write(format == .ndjson ? prefix + log.jsonLine(r).dropFirst() : log.zeekLine(r))
                    count += 1
                }
                if format == .zeek { try out.write(ZeekConnLog.footer(closedAt: closed)) }
                try out.flush()
            }
            report.rows[log.rawValue] = count
            report.files.append(file)
        }
        // overlap conflicts (NDJSON only: no Zeek log has them), both copies in base64
        if format == .ndjson && archive.version >= 19 {
            let file = stem + ".overlap_conflict.ndjson"
            let (clause, values) = try query.whereClause(filter)
            var count = 0
            try files.writeFile(file, in: dir) { fd in
                let out = OutputBuffer(fd: fd, path: directory + "/" + file)
                try Self.forEachConflict(archive, where: clause, values) { line in
                    try out.write(prefix + line.dropFirst())
                    count += 1
                }
                try out.flush()
            }
            report.rows["overlap_conflict"] = count
            report.files.append(file)
        }
        return report
    }

    /// The `overlap_conflict` rows of the flows matching `clause`, each as a JSON
    /// line (copies in base64), in flow and arrival order.
    static func forEachConflict(_ archive: Archive, where clause: String, _ values: [SQLiteValue],
                                _ body: (String) throws -> Void) throws {
        let columns = Tables.overlapConflict.names
        let s = try archive.connection.prepare("""
            SELECT \(columns.map { "o." + $0 }.joined(separator: ", "))
            FROM overlap_conflict AS o JOIN flow AS f ON f.id = o.flow_id JOIN capture AS c ON c.id = f.capture_id
            WHERE \(clause.isEmpty ? "1" : clause) ORDER BY o.flow_id, o.rowid
            """)
        for (i, v) in values.enumerated() { try s.bind(v, at: Int32(i + 1)) }
        while try s.step() {
            var fields: [String] = []
            for (i, name) in columns.enumerated() {
                let at = Int32(i)
                let value: String
                if s.isNull(at) {
                    value = "null"
                } else if name.hasSuffix("_bytes") {
                    value = "\"" + Base64.encode(Array(s.blob(at))) + "\""
                } else if name == "earlier_state" || name == "kept" {
                    value = Formats.json(s.text(at) ?? "")
                } else {
                    value = String(s.int64(at))
                }
                fields.append("\"\(name)\":\(value)")
            }
            try body("{" + fields.joined(separator: ",") + "}\n")
        }
    }
}

extension FlowQuery {
    /// Every flow matching `filter`, in id order, one at a time (constant memory).
    public func forEachFlow(_ filter: FlowFilter, _ body: (FlowRecord) throws -> Void) throws {
        let (sql, values) = try sql(filter, limit: nil, scanInIDOrder: true)
        let statement = try connection.prepare(sql)
        for (i, v) in values.enumerated() { try statement.bind(v, at: Int32(i + 1)) }
        while try statement.step() { try body(Self.record(statement)) }
    }
}
