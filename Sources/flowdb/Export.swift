import ArgumentParser
import Query
import Store

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write archives' flow, http, tls, ssh, dns and anomaly records for other engines (Spark, ClickHouse, a SIEM, Zeek's tools).",
        discussion: """
        One file per archive and log in DIR: ARCHIVE.flow.ndjson, ARCHIVE.http.ndjson, ...
        (newline-delimited JSON: the fields of `flowdb query --format json`, after
        archive_id, archive and flow_id), or with --format zeek ARCHIVE.conn.log,
        ARCHIVE.http.log, ARCHIVE.ssl.log, ARCHIVE.ssh.log, ARCHIVE.dns.log, ARCHIVE.weird.log.
        NDJSON also has ARCHIVE.overlap_conflict.ndjson: both copies of conflicting bytes,
        in base64. The bytes
        stay in the archives: `flowdb query --db DIR --flow ARCHIVE:ID --pcap F` gets a
        record's packets. Exporting an unchanged archive again writes the same bytes.

        Examples:
          flowdb export --db /srv/flowdb --out /srv/export
          flowdb export --db eth0-20261205T140000Z.sqlite --out out --format zeek --since 2026-12-05T14:30:00Z
        """
    )

    @Option(name: .customLong("db"), help: ArgumentHelp("An archive, or a directory of archives (repeatable).", valueName: "file|dir"))
    var databases: [String] = []
    @Option(help: ArgumentHelp("The directory to write into (created, mode 0700).", valueName: "dir"))
    var out: String
    @Option(help: "ndjson (default) or zeek.") var format: Exporter.Format = .ndjson
    @Option(help: ArgumentHelp("Flows still active at or after this time (as query's).", valueName: "time")) var since: String?
    @Option(help: ArgumentHelp("Flows that began at or before this time.", valueName: "time")) var until: String?

    func run() throws {
        let set: ArchiveSet
        do { set = try ArchiveSet(databases.isEmpty ? [ArchiveOption().path] : databases) } catch { throw fail(error.description) }
        guard !set.paths.isEmpty else { throw fail("\(databases.joined(separator: ", ")): no archives (*.sqlite) there") }
        var exporter = Exporter(directory: out, format: format)
        var window: [(name: String, value: String)] = []
        if let since { window.append(("since", since)) }
        if let until { window.append(("until", until)) }
        do {
            let selection = try FlowSelection(window, prefix: "--")
            exporter.since = selection.filter.since
            exporter.until = selection.filter.until
        } catch { throw fail(error.description) }
        for path in set.paths {
            do {
                let report = try exporter.export(path)
                let rows = report.rows.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                printError("\(path): \(report.flows) flows, \(rows) (archive_id \(report.archiveID))")
            } catch let error as QueryError {
                throw fail(error.description)
            } catch {
                throw fail("\(path): \(error)")
            }
        }
    }
}

extension Exporter.Format: ExpressibleByArgument {}
