import ArgumentParser
import FileIO
import Query
import Store
#if canImport(Glibc)
import Glibc
#endif

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Find flows in the archive and reconstruct what was said.",
        discussion: """
        Filters combine with AND. Times are ISO 8601 (2026-11-25T12:52:15Z, a date
        alone is midnight UTC), Unix seconds, or a span before now (30s, 15m, 2h,
        7d); a flow matches --since/--until when it overlaps the interval.

        Examples:
          flowdb query --port 443
          flowdb query --host 10.1.0.0/16 --since 2026-11-24 --until 2026-11-25 --json
          flowdb query --contains 'password=' --show ascii
          flowdb query --flow 42 --show raw --dir server > response.bin
          flowdb query --server 10.77.0.1 --extract out/
          flowdb query --flow 42 --pcap flow42.pcap
          flowdb query --port 443 --since 2026-11-24 --pcap - | wireshark -k -i -
          flowdb query --state reset --state S0 --format zeek | zeek-cut id.orig_h conn_state history
        """
    )

    enum Show: String, ExpressibleByArgument, CaseIterable { case ascii, hex, raw }
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv, zeek }
    enum Direction: String, ExpressibleByArgument, CaseIterable { case client, server }

    @Option(name: .customLong("db"), help: ArgumentHelp("An archive, or a directory of archives (every *.sqlite in it); repeatable: one question of many archives, merged in time order (default: $FLOWDB_DB, else flowdb.sqlite here).", valueName: "file|dir"))
    var databases: [String] = []

    /// The archives given (or the default one).
    var archiveArguments: [String] {
        databases.isEmpty ? [ArchiveOption().path] : databases
    }

    @Option(help: "Either side's port.") var port: Int?
    @Option(help: "The client's port.") var clientPort: Int?
    @Option(help: "The server's port.") var serverPort: Int?
    @Option(help: ArgumentHelp("Either side's address or CIDR block (IPv4 or IPv6).", valueName: "addr|cidr")) var host: String?
    @Option(help: ArgumentHelp("The client's address or CIDR block.", valueName: "addr|cidr")) var client: String?
    @Option(help: ArgumentHelp("The server's address or CIDR block.", valueName: "addr|cidr")) var server: String?
    @Option(help: ArgumentHelp("Flows still active at or after this time.", valueName: "time")) var since: String?
    @Option(help: ArgumentHelp("Flows that began at or before this time.", valueName: "time")) var until: String?
    @Option(name: .customLong("flow"), help: ArgumentHelp("A flow id (repeatable); ARCHIVE:ID names one archive's flow among several (ARCHIVE: its file name).", valueName: "[archive:]id"))
    var flows: [String] = []
    @Option(help: ArgumentHelp("Flows of one capture, by id or path.", valueName: "id|path")) var capture: String?
    @Option(help: "Flows whose content contains this text (either direction, across chunk boundaries).") var contains: String?
    @Option(help: ArgumentHelp("Flows whose content contains these bytes, in hex.", valueName: "hex")) var containsHex: String?
    @Option(help: "Flows with at least this many bytes (both directions).") var minBytes: Int?
    @Flag(help: "Flows with skipped gaps.") var withGaps = false
    @Flag(help: "Flows closed in both directions.") var ended = false
    @Option(name: .customLong("state"), help: ArgumentHelp("Connections in this state (repeatable): a Zeek conn_state (SF, S0, REJ, RSTO, ...) or a word of the flows view (closed, reset, rejected, attempt, half-closed, open, midstream).", valueName: "state"))
    var states: [String] = []
    @Option(help: ArgumentHelp("Flows whose encapsulation chain contains this text (e.g. vxlan:4242, gre:77, 192.0.2.10).", valueName: "text"))
    var tunnel: String?
    @Option(help: ArgumentHelp("Flows of this transport: tcp, udp or icmp (ICMPv6 too).", valueName: "proto"))
    var proto: String?
    @Option(help: ArgumentHelp("Flows of this application protocol, recognised by content: http, tls or ssh.", valueName: "app"))
    var app: String?
    @Option(help: ArgumentHelp("TLS connections whose ClientHello named this server (SNI), without case.", valueName: "name"))
    var sni: String?
    @Option(help: ArgumentHelp("HTTP connections with a request for this Host, without case.", valueName: "host"))
    var httpHost: String?
    @Option(help: ArgumentHelp("TLS connections whose ClientHello has this JA3 hash.", valueName: "md5"))
    var ja3: String?
    @Option(help: ArgumentHelp("TLS connections whose ClientHello has this JA4 fingerprint.", valueName: "ja4"))
    var ja4: String?
    @Option(help: ArgumentHelp("HTTP connections with a request whose URI contains this text.", valueName: "text"))
    var uri: String?
    @Option(help: ArgumentHelp("HTTP connections with a request of this method (GET, POST, ...).", valueName: "method"))
    var method: String?
    @Option(help: ArgumentHelp("HTTP connections with a response of this status code.", valueName: "code"))
    var status: Int?
    @Option(help: ArgumentHelp("Flows with an anomaly of this name (Zeek's weird names: SYN_with_data, RST_with_data, data_after_reset, rexmit_inconsistency, data_before_established, fragment_inconsistency; flowdb's: ttl_changed, urgent_pointer, bad_TCP_options, seq_outside_window).", valueName: "name"))
    var anomaly: String?
    @Option(name: .customLong("community-id"), help: ArgumentHelp("The flow with this Community ID v1 (as Zeek, Suricata and Arkime log it).", valueName: "1:..."))
    var communityID: String?
    @Option(help: "List at most N flows (default: 100 on a terminal, all in a pipe; 0: all).") var limit: Int?

    @Flag(help: "One JSON object per line (--format json).") var json = false
    @Flag(help: "CSV with a header row (--format csv).") var csv = false
    @Option(help: "The list's format: table, json, csv, or zeek (a Zeek conn.log, tab-separated, for zeek-cut).")
    var format: Format?
    @Option(help: "Reconstruct the content: ascii (both directions, like Follow TCP Stream), hex, or raw (one direction's bytes).")
    var show: Show?
    @Option(help: "With --show raw: which side's bytes (client: what the client sent).") var dir: Direction?
    @Option(help: ArgumentHelp("With --show or --extract: where copies of bytes conflicted (--anomaly rexmit_inconsistency), read the copy this target would have: first, last, linux, bsd, windows, solaris or macos (default: the stream as stored, gopacket's choice).", valueName: "target"))
    var policy: TargetPolicy?
    @Flag(help: "With --show raw or --extract: write zero bytes for gaps of known length, so offsets line up.") var fillGaps = false
    @Option(help: ArgumentHelp("Write each flow's directions as files into this directory, with manifest.json.", valueName: "dir"))
    var extract: String?
    @Flag(help: "With --extract or --pcap: overwrite existing files.") var force = false
    @Option(help: ArgumentHelp("Write the original packets of every selected flow, in capture order, to this pcap file ('-': standard output), with a chain-of-custody record beside it (FILE.custody.json; on standard error for '-').", valueName: "file"))
    var pcap: String?
    @Flag(help: "With --pcap: check the captures' sizes but not their SHA-256; with --extract: do not look for the captures at all.")
    var noVerify = false
    @Option(name: .customLong("capture-dir"), help: ArgumentHelp("With --pcap or --extract: look for capture files in this directory, by file name, before their recorded paths (repeatable).", valueName: "dir"))
    var captureDirs: [String] = []
    @Option(help: ArgumentHelp("Write every HTTP body of the selected flows (chunked, gzip and deflate removed) into this directory, one file per object named by its SHA-256, with manifest.json.", valueName: "dir"))
    var extractObjects: String?
    @Flag(help: "List the HTTP transactions of the selected flows, like Zeek's http.log (with --format: table, json, csv, zeek).")
    var http = false
    @Flag(help: "List the TLS handshakes of the selected flows, like Zeek's ssl.log.")
    var tls = false
    @Flag(help: "List the SSH connections among the selected flows, like Zeek's ssh.log.")
    var ssh = false
    @Flag(help: "List the DNS transactions of the selected flows, like Zeek's dns.log.")
    var dns = false
    @Flag(help: "List the anomalies of the selected flows, like Zeek's weird.log.")
    var anomalies = false
    @Option(name: .customLong("dns-query"),
            help: ArgumentHelp("Flows whose DNS queries asked for this name, without case (`*.example.com`: it and every name under it; repeatable).", valueName: "name"))
    var dnsNames: [String] = []
    @Flag(help: "Print SQLite's plan for selecting the flows (EXPLAIN QUERY PLAN) instead of results.") var explain = false

    /// Says when a policy could not apply to every conflict (its bytes were not kept).
    func warnUnresolved(_ reader: FlowReader) {
        if let policy, reader.unresolvedConflicts > 0 {
            printError("--policy \(policy.rawValue): \(reader.unresolvedConflicts) conflict(s) past the archive's bounds were not kept whole; their bytes are shown as stored")
        }
    }

    func validate() throws {
        if [json, csv, format != nil].filter({ $0 }).count > 1 { throw ValidationError("give one of --json, --csv and --format") }
        for state in states where FlowFilter.connStates(named: state) == nil {
            throw ValidationError("--state: not a connection state: \(state) (Zeek's S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH, or closed, reset, rejected, attempt, half-closed, open, midstream)")
        }
        if show == .raw && dir == nil { throw ValidationError("--show raw needs --dir client or --dir server") }
        if dir != nil && show != .raw { throw ValidationError("--dir goes with --show raw") }
        if policy != nil && show == nil && extract == nil { throw ValidationError("--policy goes with --show or --extract") }
        if contains != nil && containsHex != nil { throw ValidationError("give --contains or --contains-hex, not both") }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        if let app, !["http", "tls", "ssh"].contains(app.lowercased()) { throw ValidationError("--app: one of http, tls, ssh") }
        if let proto, !["tcp", "udp", "icmp"].contains(proto.lowercased()) { throw ValidationError("--proto: one of tcp, udp, icmp") }
        if pcap != nil && (show != nil || extract != nil) { throw ValidationError("--pcap goes without --show and --extract") }
        if extractObjects != nil && (show != nil || extract != nil || pcap != nil) {
            throw ValidationError("--extract-objects goes without --show, --extract and --pcap")
        }
        if [http, tls, ssh, dns, anomalies].filter({ $0 }).count > 1 { throw ValidationError("give one of --http, --tls, --ssh, --dns and --anomalies") }
        if (http || tls || ssh || dns || anomalies) && (show != nil || extract != nil || pcap != nil) {
            throw ValidationError("--http, --tls, --ssh and --dns list; they go without --show, --extract and --pcap")
        }
        if pcap == "" { throw ValidationError("--pcap needs a file name, or - for standard output") }
        if (noVerify || !captureDirs.isEmpty) && pcap == nil && extract == nil {
            throw ValidationError("--no-verify and --capture-dir go with --pcap or --extract")
        }
    }

    /// The filter options, read by the same code as the web API's parameters.
    func selection() throws -> FlowSelection {
        var p: [(name: String, value: String)] = []
        func add(_ name: String, _ value: (any CustomStringConvertible)?) { if let value { p.append((name, value.description)) } }
        add("port", port); add("client-port", clientPort); add("server-port", serverPort)
        add("host", host); add("client", client); add("server", server)
        add("since", since); add("until", until)
        for ref in try flowRefs() { add("flow", ref.id) }
        add("capture", capture); add("contains", contains); add("contains-hex", containsHex); add("min-bytes", minBytes)
        if withGaps { add("with-gaps", "true") }
        if ended { add("ended", "true") }
        for state in states { add("state", state) }
        add("tunnel", tunnel); add("proto", proto); add("app", app); add("sni", sni); add("http-host", httpHost)
        add("ja3", ja3); add("ja4", ja4); add("uri", uri); add("method", method); add("status", status)
        for name in dnsNames { add("dns-query", name) }
        add("community-id", communityID)
        add("anomaly", anomaly)
        do { return try FlowSelection(p, prefix: "--") } catch { throw fail(error.description) }
    }

    /// `--flow` values: `ID`, or `ARCHIVE:ID` (the archive by file name).
    func flowRefs() throws -> [(archive: String?, id: Int64)] {
        try flows.map { text in
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let idText = parts.count == 2 ? parts[1] : parts[0]
            guard let id = Int64(idText), parts.count == 1 || !parts[0].isEmpty else {
                throw fail("--flow: a flow id, or ARCHIVE:ID, not \(text)")
            }
            return (parts.count == 2 ? parts[0] : nil, id)
        }
    }

    func run() throws {
        let selection = try selection()
        let set: ArchiveSet
        do { set = try ArchiveSet(archiveArguments) } catch { throw fail(error.description) }
        let refs = try flowRefs()
        let several = ArchiveSet.namesSeveral(archiveArguments)
        let interactive = isatty(1) == 1
        let effectiveLimit: Int? = limit.map { $0 == 0 ? nil : $0 } ?? (interactive && show == nil && extract == nil && pcap == nil && extractObjects == nil ? 100 : nil)
        guard several else {
            guard let path = set.paths.first else { throw fail("no archive given") }
            for ref in refs where ref.archive != nil && ref.archive != ArchiveSet.name(path) {
                throw fail("--flow \(ref.archive!):\(ref.id): the archive is \(ArchiveSet.name(path))")
            }
            let store: Archive
            do { store = try Archive(path: path, create: false) } catch { throw fail("\(error)") }
            try run(on: store, selection: selection, limit: effectiveLimit)
            return
        }
        if explain { throw fail("--explain reads one archive; give one --db FILE") }
        guard !set.paths.isEmpty else { throw fail("\(archiveArguments.joined(separator: ", ")): no archives (*.sqlite) there") }
        let named = refs.compactMap { r in r.archive.map { (archive: $0, id: r.id) } }
        if named.count != refs.count && !named.isEmpty {
            throw fail("--flow: with several archives, name each flow's archive (ARCHIVE:ID), or none")
        }
        let rows: [ArchiveSet.Row], more: Bool
        do {
            (rows, more, _) = try set.flows(selection.filter, containing: selection.needle,
                                            limit: show == nil && extract == nil && pcap == nil && extractObjects == nil ? effectiveLimit : nil,
                                            flowRefs: named)
        } catch let error as QueryError {
            throw fail(error.description)
        }
        if rows.isEmpty {
            printError("no flows match")
            return
        }
        let acting = show != nil || extract != nil || pcap != nil || extractObjects != nil
        if acting || http || tls || ssh || dns || anomalies {
            // content, packets and application rows come from one archive at a time
            let archivesFound = Set(rows.map(\.path))
            guard archivesFound.count == 1 || !acting, let path = rows.first?.path else {
                throw fail("the flows selected are in \(archivesFound.count) archives; --show, --extract, --pcap and --extract-objects read one (narrow with --flow ARCHIVE:ID, or one --db)")
            }
            if acting {
                let store: Archive
                do { store = try Archive(path: path, create: false) } catch { throw fail("\(error)") }
                var one = selection
                one.filter = FlowFilter()
                one.filter.flowIDs = rows.map(\.flow.id)
                one.needle = nil
                try run(on: store, selection: one, limit: nil)
                return
            }
            try listApplications(rows)
            return
        }
        let out = OutputBuffer()
        do {
            switch format ?? (json ? .json : csv ? .csv : .table) {
            case .json:
                for r in rows { try out.write(Formats.jsonLine(r.flow, archive: r.archive)) }
            case .csv:
                try out.write("archive," + Formats.csvHeader)
                for r in rows { try out.write(Formats.csvLine(r.flow, archive: r.archive)) }
            case .zeek:
                throw fail("--format zeek reads one archive at a time (a uid is unique within its archive); give one --db FILE")
            case .table:
                try out.write(Formats.table(rows.map(\.flow), archives: rows.map(\.archive)))
            }
            try out.flush()
        } catch let error as ExitCode {
            throw error
        } catch {
            try? out.flush()
            throw fail("\(error)")
        }
        if more, let effectiveLimit {
            printError("showing the first \(effectiveLimit) flows; more match (--limit N, or --limit 0 for all)")
        }
    }

    /// `--http`, `--tls`, `--ssh`, `--dns` over several archives: each archive's rows
    /// for its flows, the archive named first (JSON, CSV) or above its table.
    func listApplications(_ rows: [ArchiveSet.Row]) throws {
        guard let log = http ? ApplicationLog.http : tls ? ApplicationLog.tls : ssh ? ApplicationLog.ssh : dns ? ApplicationLog.dns : anomalies ? ApplicationLog.anomaly : nil else { return }
        let out = OutputBuffer()
        var order: [String] = []
        var byArchive: [String: [ArchiveSet.Row]] = [:]
        for r in rows {
            if byArchive[r.path] == nil { order.append(r.path) }
            byArchive[r.path, default: []].append(r)
        }
        let form = format ?? (json ? .json : csv ? .csv : .table)
        if form == .zeek { throw fail("--format zeek reads one archive at a time (a uid is unique within its archive); give one --db FILE") }
        if form == .csv { try out.write("archive," + log.csvHeader) }
        for path in order {
            let store: Archive
            do { store = try Archive(path: path, create: false) } catch { throw fail("\(error)") }
            let name = ArchiveSet.name(path)
            let found = try log.rows(archive: store, flowIDs: byArchive[path]!.map(\.flow.id))
            switch form {
            case .json: for r in found { try out.write("{\"archive\":" + Formats.json(name) + "," + log.jsonLine(r).dropFirst()) }
            case .csv: for r in found { try out.write(name + "," + log.csvLine(r)) }
            default:
                if !found.isEmpty { try out.write("== \(name)\n" + log.table(found)) }
            }
        }
        try out.flush()
    }

    /// The query on one archive, as it always was.
    func run(on store: Archive, selection: FlowSelection, limit effectiveLimit: Int?) throws {
        let filter = selection.filter, needle = selection.needle
        let out = OutputBuffer()
        if explain {
            do {
                for line in try FlowQuery(archive: store).plan(filter, limit: effectiveLimit) { print(line) }
            } catch { throw fail("\(store.path): \(error)") }
            return
        }
        do {
            let (found, more) = try FlowQuery(archive: store).flows(filter, containing: needle, limit: effectiveLimit)
            if found.isEmpty {
                printError("no flows match")
                return
            }
            if let log = http ? ApplicationLog.http : tls ? ApplicationLog.tls : ssh ? ApplicationLog.ssh : dns ? ApplicationLog.dns : anomalies ? ApplicationLog.anomaly : nil {
                let rows = try log.rows(archive: store, flowIDs: found.map(\.id))
                switch format ?? (json ? .json : csv ? .csv : .table) {
                case .json: for r in rows { try out.write(log.jsonLine(r)) }
                case .csv:
                    try out.write(log.csvHeader)
                    for r in rows { try out.write(log.csvLine(r)) }
                case .zeek:
                    try out.write(log.zeekHeader(openedAt: Int(time(nil))))
                    for r in rows { try out.write(log.zeekLine(r)) }
                    try out.write(ZeekConnLog.footer(closedAt: Int(time(nil))))
                case .table:
                    if rows.isEmpty { printError("no \(log.rawValue) rows for the \(found.count) flow(s) selected") } else { try out.write(log.table(rows)) }
                }
            } else if let directory = extractObjects {
                let count = try ObjectExtractor(archive: store, directory: directory, force: force).extract(flowIDs: found.map(\.id))
                printError("extracted \(count) object(s) of \(found.count) flow(s) into \(directory), with manifest.json")
            } else if let pcap {
                try exportPackets(found.map(\.id), from: store, to: pcap)
            } else if let directory = extract {
                let reader = try FlowReader(archive: store)
                reader.policy = policy
                defer { warnUnresolved(reader) }
                let files = CaptureFiles(archive: store)
                files.directories = captureDirs
                let paths = try Extractor(reader: reader, directory: directory, force: force, fillGaps: fillGaps,
                                          captures: files, verify: !noVerify).extract(found)
                printError("extracted \(found.count) flow(s) into \(directory): \(paths.count - 1) files and manifest.json")
            } else if let show {
                let reader = try FlowReader(archive: store)
                reader.policy = policy
                defer { warnUnresolved(reader) }
                switch show {
                case .raw:
                    guard found.count == 1 else {
                        throw fail("--show raw writes one direction of one flow; \(found.count) flows match (narrow with --flow ID)")
                    }
                    try reader.writeStream(flowID: found[0].id, dir: dir == .client ? 0 : 1, fillGaps: fillGaps, hashing: false) { try out.write(bytes: $0) }
                case .ascii, .hex:
                    for f in found {
                        let deliveries = try reader.deliveries(flowID: f.id)
                        if show == .ascii {
                            try Formats.writeAscii(f, deliveries, bytes: reader.bytes(of:), to: { try out.write($0) })
                        } else {
                            try Formats.writeHex(f, deliveries, bytes: reader.bytes(of:), to: { try out.write($0) })
                        }
                    }
                }
            } else {
                switch format ?? (json ? .json : csv ? .csv : .table) {
                case .json:
                    for f in found { try out.write(Formats.jsonLine(f)) }
                case .csv:
                    try out.write(Formats.csvHeader)
                    for f in found { try out.write(Formats.csvLine(f)) }
                case .zeek:
                    let now = Int(time(nil))
                    try out.write(ZeekConnLog.header(openedAt: now))
                    for f in found { try out.write(ZeekConnLog.line(f)) }
                    try out.write(ZeekConnLog.footer(closedAt: Int(time(nil))))
                case .table:
                    try out.write(Formats.table(found))
                }
            }
            try out.flush()
            if more, let effectiveLimit {
                printError("showing the first \(effectiveLimit) flows; more match (--limit N, or --limit 0 for all)")
            }
        } catch let error as ExitCode {
            throw error
        } catch let error as SQLiteError {
            // a damaged archive: say which
            try? out.flush()
            throw fail("\(store.path): \(error)")
        } catch {
            try? out.flush()
            throw fail("\(error)")
        }
    }

    /// `--pcap`: the packets into `output` (written under a temporary name and
    /// renamed, so a failed export leaves nothing), and the custody record.
    func exportPackets(_ flowIDs: [Int64], from store: Archive, to output: String) throws {
        let files = CaptureFiles(archive: store)
        files.directories = captureDirs
        files.verifyHash = !noVerify
        let exporter = PacketExporter(archive: store, files: files)
        let now = Clock.nowNanoseconds()
        if output == "-" {
            guard isatty(1) == 0 else { throw fail("--pcap -: standard output is a terminal; pipe it (| wireshark -k -i -) or redirect it") }
            let report = try exporter.export(flowIDs: flowIDs, to: ExportSink(fd: 1, name: "standard output"))
            var stderr = StandardError()
            stderr.write(report.custodyJSON(archive: ExportFile.absolutePath(store.path), output: "-", exportedAt: now))
            return
        }
        let custody = output + ".custody.json"
        for path in [output, custody] where !force && access(path, F_OK) == 0 {
            throw fail("\(path): exists; --force overwrites")
        }
        let report = try ExportFile.write(output) { fd in
            try exporter.export(flowIDs: flowIDs, to: ExportSink(fd: fd, name: output))
        }
        let text = report.custodyJSON(archive: ExportFile.absolutePath(store.path), output: ExportFile.absolutePath(output), exportedAt: now)
        try ExportFile.write(custody) { fd in
            try Array(text.utf8).withUnsafeBytes { try Extractor.write($0, to: fd, path: custody) }
        }
        let checked = report.captures.map { "capture \($0.capture.id) \($0.capture.check == .sha256 ? "sha256 verified" : "size checked")" }
        printError("wrote \(report.packets) packets of \(flowIDs.count) flow(s) to \(output) (sha256 \(report.sha256)); \(checked.joined(separator: ", ")); chain of custody in \(custody)")
    }
}
extension TargetPolicy: ExpressibleByArgument {}
