import ArgumentParser
import Ingest
import Store
#if canImport(Glibc)
import Glibc
#endif

/// The archive option shared by every command that opens one.
struct ArchiveOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The archive (default: $FLOWDB_DB, else flowdb.sqlite here).", valueName: "file"))
    var db: String?

    var path: String {
        if let db { return db }
        if let env = getenv("FLOWDB_DB"), let value = String(validatingCString: env), !value.isEmpty { return value }
        return "flowdb.sqlite"
    }
}

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Reassemble every TCP connection of captures into the archive.",
        discussion: """
        Files are read in the order given and feed one assembler, so a connection
        spanning rotated captures is one flow. A file already in the archive (same
        sha256) is skipped unless --force, which replaces it. If an ingest is
        interrupted, its files stay marked 'running' (or 'failed'); running the same
        ingest again removes what it left and reads them again.

        Examples:
          flowdb ingest capture.pcap
          flowdb ingest --db case42.sqlite rotated-*.pcap
          tcpdump -w - -i eth0 | flowdb ingest -
          tcpdump -w - -i eth0 | flowdb ingest - --keep-stdin eth0-capture.pcap
        """
    )

    @OptionGroup var archive: ArchiveOption
    @OptionGroup var recording: RecordingOptionGroup

    @Option(help: ArgumentHelp("With '-': also write standard input to this new file, which the archive then names as the capture, so `query --pcap` can export its packets.", valueName: "file"))
    var keepStdin: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Ingest files even if the archive already holds them (the old copy is replaced).")
    var force = false

    @Argument(help: "Capture files (pcap or pcapng); '-' reads standard input.")
    var files: [String]

    func validate() throws {
        if let keepStdin {
            guard files.contains("-") else { throw ValidationError("--keep-stdin goes with '-' (standard input) among the files") }
            guard files.filter({ $0 == "-" }).count == 1 else { throw ValidationError("--keep-stdin keeps one standard input; '-' is given twice") }
            guard !keepStdin.isEmpty, access(keepStdin, F_OK) != 0 else { throw ValidationError("--keep-stdin: \(keepStdin) exists; flowdb keeps standard input only in a new file") }
        }
    }

    func run() throws {
        let stderrIsTerminal = isatty(2) == 1
        var options = IngestOptions()
        options.filter = recording.filter
        options.recording = recording.options(flushDefaults: .ingestDefault)
        options.force = force
        options.keepStdin = keepStdin
        let started = Clock.nowNanoseconds()
        let report: IngestReport
        do {
            // Locked before the archive is created or migrated.
            let ingestor = try Ingestor(path: archive.path, options: options)
            let bar = ProgressBar(enabled: stderrIsTerminal && !quiet)
            report = try ingestor.run(paths: files, progress: bar.update, notice: { message in
                if !quiet { printError(message) }
            })
            bar.clear()
        } catch {
            throw fail("\(error)")
        }
        let seconds = Double(Clock.nowNanoseconds() - started) / 1e9
        if !quiet {
            for (path, outcome) in report.files {
                if case .skipped(let reason) = outcome { printError("\(path): skipped: \(reason)") }
            }
            print(IngestSummary(report: report, seconds: seconds, archive: archive.path).text, terminator: "")
        }
        for message in report.failures { printError(message) }
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}

/// Prints `flowdb: message` on stderr, as one line.
func printError(_ message: String) {
    var stderr = StandardError()
    print("flowdb: \(oneLine(message))", to: &stderr)
}

/// A one-line progress bar on stderr, redrawn at most four times a second.
final class ProgressBar {
    let enabled: Bool
    var last: Int64 = 0
    let started = Clock.nowNanoseconds()

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: IngestProgress) {
        guard enabled else { return }
        let now = Clock.nowNanoseconds()
        guard now - last > 250_000_000 else { return }
        last = now
        let seconds = max(Double(now - started) / 1e9, 0.001)
        let rate = Double(p.fileBytesRead) / 1e6 / seconds
        var line = "\r"
        if p.fileSize > 0 {
            let fraction = min(1, Double(p.fileBytesRead) / Double(p.fileSize))
            let filled = Int(fraction * 30)
            let eta = rate > 0 ? Double(p.fileSize - p.fileBytesRead) / 1e6 / rate : 0
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
            line += "\(Int(fraction * 100))% \(p.fileBytesRead / 1_000_000)/\(p.fileSize / 1_000_000) MB "
            line += "\(Int(rate)) MB/s, \(p.flows) flows, ETA \(Int(eta))s "
        } else {
            line += "\(p.packets) packets, \(p.flows) flows "
        }
        var stderr = StandardError()
        print(line, terminator: "", to: &stderr)
    }

    func clear() {
        guard enabled else { return }
        var stderr = StandardError()
        print("\r" + String(repeating: " ", count: 100) + "\r", terminator: "", to: &stderr)
    }
}
