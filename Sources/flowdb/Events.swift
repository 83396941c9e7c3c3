import ArgumentParser
import FileIO
import Ingest
import Reassembly
import Recording
import Store

/// Assembler options shared by the commands that reassemble. Flushing defaults
/// differ: `events` flushes only at the end, like gopacket-oracle; `ingest`
/// flushes periodically so memory stays bounded on long captures.
struct AssemblyOptions: ParsableArguments {
    @Option(help: "Buffered pages (1900 bytes) per connection before a gap is skipped (0: unlimited).")
    var maxPagesPerConn: Int = 0

    @Option(help: "Buffered pages in all before a gap is skipped (0: unlimited).")
    var maxPagesTotal: Int = 0

    @Option(help: "Flush the assembler after every N TCP packets (0: only at the end). Default: 100000 for ingest, 0 for events.")
    var flushEvery: Int?

    @Option(help: "On a flush, deliver buffered data waiting longer than this (capture time: 30s, 2m, 500ms). Default: 2m for ingest, 0s for events.")
    var flushAfter: String?

    @Option(help: "On a flush, close connections idle for longer than this. Default: 2m for ingest, 0s for events.")
    var closeAfter: String?

    func validate() throws {
        guard maxPagesPerConn >= 0, maxPagesTotal >= 0, (flushEvery ?? 0) >= 0 else {
            throw ValidationError("page limits and --flush-every must not be negative")
        }
        if let d = flushAfter, Durations.nanoseconds(d) == nil { throw ValidationError("--flush-after: not a duration: \(d)") }
        if let d = closeAfter, Durations.nanoseconds(d) == nil { throw ValidationError("--close-after: not a duration: \(d)") }
    }

    var assembler: AssemblerOptions {
        AssemblerOptions(maxBufferedPagesTotal: maxPagesTotal, maxBufferedPagesPerConnection: maxPagesPerConn)
    }

    /// The flush policy, with `defaults` for what was not given.
    func flushPolicy(defaults: FlushPolicy) -> FlushPolicy {
        FlushPolicy(every: flushEvery ?? defaults.every,
                    after: flushAfter.flatMap(Durations.nanoseconds) ?? defaults.after,
                    closeAfter: closeAfter.flatMap(Durations.nanoseconds) ?? defaults.closeAfter)
    }
}

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every reassembly callback as JSON lines, in gopacket-oracle's format.",
        discussion: """
        For comparing flowdb's engine with gopacket's (scripts/oracle-diff.py) and for
        seeing exactly what the assembler delivered. Timestamps are nanoseconds.

        Example:
          flowdb events --max-pages-per-conn 4 capture.pcap | head
        """
    )

    @OptionGroup var assembly: AssemblyOptions

    @Option(help: "A BPF filter, compiled by libpcap.")
    var filter: String?

    @Option(help: "Ask keepFrom(N) whenever a delivery has more than N bytes.")
    var keepFrom: Int?

    @Flag(help: "Print per-direction totals (bytes, chunks, skips, sha256) instead of events, as gopacket-oracle -summary.")
    var summary = false

    @Argument(help: "Capture files, read in order into one assembler; '-' reads standard input.")
    var files: [String]

    func run() throws {
        let out = OutputBuffer()
        let cursor = PacketCursor()
        let log = EventLog(out: out, cursor: cursor, keepFrom: keepFrom, summary: summary)
        let pipeline = Pipeline(factory: EventLog.Factory(log: log), cursor: cursor,
                                options: assembly.assembler, flushPolicy: assembly.flushPolicy(defaults: .never))
        for file in files {
            do {
                _ = try pipeline.run(path: file, filter: filter)
            } catch {
                pipeline.finish()
                log.writeSummary()
                try? out.flush()
                throw fail("\(error)")
            }
            // standard output closed or full: no point in reading further
            do { try log.check() } catch { throw fail("\(error)") }
        }
        pipeline.finish()
        log.writeSummary()
        do {
            try log.check()
            try out.flush()
        } catch {
            throw fail("\(error)")
        }
    }
}
