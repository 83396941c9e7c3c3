import ArgumentParser
import Capture
import Ingest
import Store
#if canImport(Glibc)
import Glibc
#endif

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Archive the traffic of a network interface as it happens.",
        discussion: """
        Reads the interface through libpcap (immediate mode, a large kernel buffer),
        reassembles and records every TCP connection exactly as `ingest` does, and
        commits every few seconds, so `flowdb query` and the sqlite3 shell see recent
        connections while it runs (the archive is switched to SQLite's WAL mode).
        Buffered data and idle connections are flushed by the clock, with ingest's
        rules (--flush-after, --close-after).

        With --write-pcap DIR the packets are also written to pcap files in DIR,
        rotated by size and time; each file is a capture row of the archive, with its
        SHA-256 once closed, so `flowdb query --pcap` exports live-captured flows.

        SIGINT or SIGTERM stops it cleanly: every open connection is flushed, the
        current file is closed and the capture is marked complete (exit 0); a second
        signal stops at once. If it is killed, what it committed stays queryable and
        the next capture marks the interrupted one failed.

        Needs root or the CAP_NET_RAW capability. Once packets are being read it
        prints `listening on IFACE` on stderr.

        Examples:
          flowdb capture -i eth0 --db sensor.sqlite
          flowdb capture -i eth0 --db sensor.sqlite --write-pcap /srv/pcap --rotate-time 1h --keep 168
          flowdb capture -i eth0 --filter 'tcp port 443' --duration 10m
        """
    )

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The network interface to read (e.g. eth0; `ip link` lists them).", valueName: "iface"))
    var interface: String

    @OptionGroup var archive: ArchiveOption
    @OptionGroup var recording: RecordingOptionGroup

    @Option(help: "Bytes kept of each packet (default: whole packets).")
    var snaplen: Int = 262_144

    @Flag(help: "Put the interface in promiscuous mode (a SPAN port usually needs it).")
    var promisc = false

    @Option(help: ArgumentHelp("The kernel's buffer in MB: what absorbs bursts while flowdb is busy.", valueName: "MB"))
    var bufferSize: Int = 64

    @Option(help: ArgumentHelp("Stop after this long (30s, 10m, 2h).", valueName: "duration"))
    var duration: String?

    @Option(help: ArgumentHelp("Stop after this many packets.", valueName: "n"))
    var packets: Int?

    @Option(help: ArgumentHelp("Commit at least this often; readers see connections this recent.", valueName: "duration"))
    var commitEvery: String = "2s"

    @Option(help: ArgumentHelp("Also write the packets to pcap files in this directory (named IFACE-TIME-N.pcap).", valueName: "dir"))
    var writePcap: String?

    @Option(help: ArgumentHelp("With --write-pcap: start a new file before one passes this size (1GB, 100MB; 0: never).", valueName: "size"))
    var rotateSize: String = "1GB"

    @Option(help: ArgumentHelp("With --write-pcap: start a new file after this long (1h, 10m).", valueName: "duration"))
    var rotateTime: String?

    @Option(help: ArgumentHelp("With --write-pcap: keep at most N of the interface's files in the directory, removing the oldest.", valueName: "n"))
    var keep: Int?

    @Option(help: ArgumentHelp("Start a new archive each period (1h, 1d; at multiples of UTC time), named IFACE-YYYYMMDDTHHMMSSZ.sqlite in --archive-dir; flows open at a boundary go on in the next, linked (continues_from, continued_in).", valueName: "duration"))
    var archiveEvery: String?

    @Option(help: ArgumentHelp("With --archive-every: the directory of the archives.", valueName: "dir"))
    var archiveDir: String?

    @Option(help: ArgumentHelp("With --archive-every: keep at most N of the interface's archives, removing the oldest whole (never one being written or read).", valueName: "n"))
    var keepArchives: Int?

    @Option(help: ArgumentHelp("With --archive-every: remove the oldest archives while the interface's weigh more than this (500GB).", valueName: "size"))
    var maxArchiveBytes: String?

    @Flag(help: "No status line and no summary (errors, warnings and `listening on` are still printed).")
    var quiet = false

    func validate() throws {
        if snaplen < 1 { throw ValidationError("--snaplen must be positive") }
        if bufferSize < 1 { throw ValidationError("--buffer-size must be at least 1 (MB)") }
        if let d = duration, Durations.nanoseconds(d) == nil { throw ValidationError("--duration: not a duration: \(d)") }
        if let n = packets, n < 1 { throw ValidationError("--packets must be positive") }
        if (Durations.nanoseconds(commitEvery) ?? 0) <= 0 { throw ValidationError("--commit-every: not a positive duration: \(commitEvery)") }
        if ByteSizes.bytes(rotateSize) == nil { throw ValidationError("--rotate-size: not a size: \(rotateSize)") }
        if let d = rotateTime, (Durations.nanoseconds(d) ?? 0) <= 0 { throw ValidationError("--rotate-time: not a positive duration: \(d)") }
        if let k = keep, k < 1 { throw ValidationError("--keep must be at least 1") }
        if writePcap == nil && (rotateTime != nil || keep != nil) {
            throw ValidationError("--rotate-time and --keep go with --write-pcap DIR")
        }
        if let d = archiveEvery, (Durations.nanoseconds(d) ?? 0) < 1_000_000_000 { throw ValidationError("--archive-every: a duration of at least 1s, not \(d)") }
        if (archiveEvery == nil) != (archiveDir == nil) { throw ValidationError("--archive-every and --archive-dir go together") }
        if archiveEvery == nil && (keepArchives != nil || maxArchiveBytes != nil) {
            throw ValidationError("--keep-archives and --max-archive-bytes go with --archive-every")
        }
        if archiveEvery != nil && archive.db != nil { throw ValidationError("--archive-every writes archives into --archive-dir; --db names one archive") }
        if let k = keepArchives, k < 1 { throw ValidationError("--keep-archives must be at least 1") }
        if let m = maxArchiveBytes, (ByteSizes.bytes(m) ?? 0) <= 0 { throw ValidationError("--max-archive-bytes: not a size: \(m)") }
        if let dir = archiveDir {
            var st = stat()
            guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { throw ValidationError("--archive-dir: \(dir) is not a directory") }
        }
        if recording.assembly.flushEvery != nil { throw ValidationError("--flush-every counts packets of a file; a live capture flushes by the clock (--flush-after, --close-after)") }
        if let dir = writePcap {
            var st = stat()
            guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { throw ValidationError("--write-pcap: \(dir) is not a directory") }
        }
    }

    func run() throws {
        var source = LiveSourceOptions(interface: interface)
        source.filter = recording.filter
        source.snaplen = snaplen
        source.promiscuous = promisc
        source.bufferBytes = bufferSize << 20
        var options = LiveOptions(source: source)
        options.recording = recording.options(flushDefaults: .ingestDefault)
        options.duration = duration.flatMap(Durations.nanoseconds)
        options.packetLimit = packets
        options.commitInterval = Durations.nanoseconds(commitEvery) ?? options.commitInterval
        options.pcapDirectory = writePcap
        let rotate = ByteSizes.bytes(rotateSize) ?? 0
        options.rotateBytes = rotate > 0 ? rotate : nil
        options.rotateInterval = rotateTime.flatMap(Durations.nanoseconds)
        options.keepFiles = keep

        StopSignals.install()
        let statusLine = StatusLine(enabled: isatty(2) == 1 && !quiet)
        let started = Clock.nowNanoseconds()
        let report: LiveReport
        if let every = archiveEvery.flatMap(Durations.nanoseconds), let dir = archiveDir {
            var periods = PeriodOptions(every: every, directory: dir)
            periods.keepArchives = keepArchives
            periods.maxArchiveBytes = maxArchiveBytes.flatMap(ByteSizes.bytes)
            let notice: (String) -> Void = { message in
                statusLine.clear()
                printError(message)
            }
            let result: (report: LiveReport, archives: [String])
            do {
                result = try PeriodicCapture(options: options, periods: periods).run(ready: { source in
                    printError("listening on \(source.interface), link-type \(source.linkTypeName), snapshot length \(source.snaplen) bytes, archives in \(dir) every \(every / 1_000_000_000) s")
                }, status: statusLine.enabled ? { statusLine.update($0) } : nil, notice: notice)
                statusLine.clear()
            } catch {
                statusLine.clear()
                throw fail("\(error)")
            }
            if !quiet {
                let names = result.archives.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                print("captured \(interface) into \(names.count) archive(s) in \(dir): \(names.joined(separator: ", "))")
                print("packets:        \(result.report.packets)")
                print("flows:          \(result.report.ingest.flows)")
            }
            return
        }
        do {
            let ingestor = try LiveIngestor(path: archive.path, options: options)
            let archivePath = archive.path
            let status: ((LiveStatus) -> Void)? = statusLine.enabled ? { statusLine.update($0) } : nil
            let ready: (LiveSource) -> Void = { source in
                printError("listening on \(source.interface), link-type \(source.linkTypeName), snapshot length \(source.snaplen) bytes, archive \(archivePath)")
            }
            let notice: (String) -> Void = { message in
                statusLine.clear()
                printError(message)
            }
            report = try ingestor.run(ready: ready, status: status, notice: notice)
            statusLine.clear()
        } catch {
            statusLine.clear()
            throw fail("\(error)")
        }
        let seconds = Double(Clock.nowNanoseconds() - started) / 1e9
        let s = report.statistics
        let counts = "\(report.packets) packets captured, \(s.received) received by filter, \(s.droppedByKernel) dropped by kernel, \(s.droppedByInterface) dropped by interface"
        if s.droppedByKernel + s.droppedByInterface > 0 {
            printError("WARNING: \(interface): \(counts): the archive misses the dropped packets")
        }
        if !quiet {
            let why = report.signal == SIGTERM ? "SIGTERM" : report.signal == SIGINT ? "SIGINT"
                : duration != nil && (packets == nil || report.packets < packets!) ? "--duration" : "--packets"
            let summary = IngestSummary(report: report.ingest, seconds: seconds, archive: archive.path)
            var out = "captured \(interface) into \(archive.path) for \(summary.formatted(seconds)) s, stopped by \(why)\n"
            out += "kernel:         \(s.received) packets received by filter, \(s.droppedByKernel) dropped by kernel, \(s.droppedByInterface) dropped by interface\n"
            if let first = report.files.first, let last = report.files.last {
                out += "pcap files:     \(report.files.count)" + (report.files.count > 1 ? " (\(first) … \(last))" : " (\(first))") + "\n"
            }
            // the ingest summary's lines, without its heading and its rate
            for line in summary.text.split(separator: "\n").dropFirst() where !line.hasPrefix("time:") {
                out += line + "\n"
            }
            print(out, terminator: "")
        }
    }
}

/// The status line of a running capture on stderr: rate, flows, drops; redrawn every second.
final class StatusLine: @unchecked Sendable {
    let enabled: Bool
    private var previous: (seconds: Double, packets: Int, bytes: Int) = (0, 0, 0)
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ s: LiveStatus) {
        guard enabled else { return }
        let dt = max(s.seconds - previous.seconds, 0.001)
        let pps = Int(Double(s.packets - previous.packets) / dt)
        let mbps = Double(s.bytes - previous.bytes) * 8 / 1e6 / dt
        previous = (s.seconds, s.packets, s.bytes)
        let dropped = s.statistics.droppedByKernel + s.statistics.droppedByInterface
        var line = "\r\(s.interface) \(Int(s.seconds))s: \(s.packets) packets (\(pps)/s, \(Int(mbps.rounded())) Mbit/s), \(s.flows) flows, "
        line += dropped > 0 ? "DROPPING: \(s.statistics.droppedByKernel) by kernel, \(s.statistics.droppedByInterface) by interface " : "0 dropped "
        var stderr = StandardError()
        print(line, terminator: "", to: &stderr)
        drawn = true
    }

    func clear() {
        guard enabled, drawn else { return }
        drawn = false
        var stderr = StandardError()
        print("\r" + String(repeating: " ", count: 110) + "\r", terminator: "", to: &stderr)
    }
}
