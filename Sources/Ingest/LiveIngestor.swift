import Capture
import Decoding
import Reassembly
import Store
#if canImport(Glibc)
import Glibc
#endif

/// What `flowdb capture` does with its options.
public struct LiveOptions: Sendable {
    public var source: LiveSourceOptions
    /// Reassembly and recording, as `ingest` (its flush policy's `after` and
    /// `closeAfter` apply in wall-clock time; `every` is replaced by `flushInterval`).
    public var ingest = IngestOptions()
    /// Stop after this long (ns) or this many packets.
    public var duration: Int64?
    public var packetLimit: Int?
    /// Commit at least this often (ns), so that readers see recent connections.
    public var commitInterval: Int64 = 2_000_000_000
    /// Write the packets to rotated pcap files in this directory.
    public var pcapDirectory: String?
    /// Start a new file once the current one would pass this many bytes, or has
    /// been open this long (ns).
    public var rotateBytes: Int?
    public var rotateInterval: Int64?
    /// Keep at most this many of the interface's files in the directory (the
    /// oldest are removed, and their capture rows say so).
    public var keepFiles: Int?

    public init(source: LiveSourceOptions) { self.source = source }
}

/// Where a running capture stands, for a status line.
public struct LiveStatus: Sendable {
    public var interface: String
    public var seconds: Double
    public var packets: Int
    public var bytes: Int
    public var flows: Int
    public var statistics: LiveStatistics
    /// The pcap file being written, if any.
    public var file: String?
}

/// What a live capture did.
public struct LiveReport: Sendable {
    public var ingest = IngestReport()
    public var statistics = LiveStatistics()
    public var packets = 0
    /// The signal that stopped it (0: a limit, or the end of the interface).
    public var signal: Int32 = 0
    public var files: [String] = []
}

/// read an interface → decode → assemble → store, until stopped: `flowdb capture`.
///
/// One assembler for the whole run, as one `ingest` of rotated files; flushing and
/// closing idle connections happen in wall-clock time, and commits happen at
/// least every `commitInterval`, so that `flowdb query` and the sqlite3 shell see
/// recent connections while the capture runs. The archive is put in WAL mode (see
/// `enableConcurrentReaders`).
public final class LiveIngestor {
    let archive: Archive
    let options: LiveOptions
    let lock: IngestLock

    /// Locks `path`, then opens (or creates) the archive and switches it to WAL.
    public init(path: String, options: LiveOptions) throws {
        lock = try IngestLock(archivePath: path)
        do {
            archive = try Archive(path: path, create: true)
        } catch {
            throw IngestError(description: "\(error)")
        }
        self.options = options
        do {
            try Self.enableConcurrentReaders(archive.connection)
            try BulkLoad.restoreIndexes(archive.connection)
        } catch {
            throw IngestError(description: "\(path): \(error)")
        }
    }

    /// WAL mode: readers never wait for the writer, nor the writer for readers.
    /// In the default rollback mode a commit needs every reader gone, so an
    /// analyst's long query in the sqlite3 shell would stall the capture's commits
    /// (and, with them, its memory); and readers get SQLITE_BUSY while a commit is
    /// written. The cost is that pages are written twice (to the WAL, then back
    /// into the database at each checkpoint), and that the WAL grows while a
    /// reader holds an old snapshot. The mode is persistent: the archive stays in
    /// WAL mode afterwards.
    static func enableConcurrentReaders(_ connection: SQLiteConnection) throws {
        let s = try connection.prepare("PRAGMA journal_mode = WAL")
        guard try s.step(), s.text(0)?.lowercased() == "wal" else {
            throw IngestError(description: "SQLite refused WAL mode (journal mode: \(s.text(0) ?? "?")); a live capture needs it for concurrent readers")
        }
    }

    /// Marks the captures a killed live capture left 'running' as failed, and
    /// records the size and SHA-256 of their files as they are now (so that the
    /// packets they hold can be exported). Returns their ids.
    func closeInterrupted(notice: (String) -> Void) throws -> [Int64] {
        let c = archive.connection
        let s = try c.prepare("SELECT id, path, sha256 FROM capture WHERE status = 'running' AND interface IS NOT NULL")
        var rows: [(Int64, String, String?)] = []
        while try s.step() { rows.append((s.int64(0), s.text(1) ?? "", s.text(2))) }
        let now = Clock.nowNanoseconds()
        let update = try c.prepare("""
            UPDATE capture SET status = 'failed', finished_at = ?, error = ?,
                size = coalesce(?, size), sha256 = coalesce(?, sha256) WHERE id = ?
            """)
        for (id, path, sha) in rows {
            notice("capture \(id) (\(path)) was interrupted (the process was killed or the machine stopped); its committed part stays, marked failed")
            update.reset()
            try update.bind(now, at: 1)
            try update.bind("interrupted: the live capture stopped without closing it (killed, or power lost); flows and packets committed before that are kept", at: 2)
            var size: Int64?, digest: String?
            if sha == nil, !path.hasPrefix("live:"), let capture = HashedCapture(path: path) {
                size = Int64(capture.openedSize)
                digest = capture.finish().sha256
            }
            if let size { try update.bind(size, at: 3) } else { try update.bindNull(at: 3) }
            if let digest { try update.bind(digest, at: 4) } else { try update.bindNull(at: 4) }
            try update.bind(id, at: 5)
            try update.step()
        }
        return rows.map(\.0)
    }

    /// Captures until a stop signal (`StopSignals`), `duration` or `packetLimit`.
    /// `ready` is called once the interface is open and packets are being read.
    public func run(ready: (LiveSource) -> Void = { _ in }, status: ((LiveStatus) -> Void)? = nil,
                    notice: @escaping (String) -> Void = { _ in }) throws -> LiveReport {
        do {
            _ = try closeInterrupted(notice: notice)
        } catch {
            throw IngestError(description: "\(archive.path): \(error)")
        }
        let source: LiveSource
        do {
            source = try LiveSource(options.source)
        } catch {
            throw IngestError(description: error.description)
        }
        if let warning = source.warning { notice("\(source.interface): \(warning)") }
        let session = try Session(archive: archive, options: options, source: source, notice: notice)
        ready(source)
        return try session.run(status: status)
    }
}

/// One run of a live capture: the loop and the files it writes.
final class Session {
    let archive: Archive
    let options: LiveOptions
    let source: LiveSource
    let writer: ArchiveWriter
    let pipeline: Pipeline<RecordingStream.Factory>
    let decoder: PacketDecoder
    let header: [UInt8]
    let notice: (String) -> Void
    let started = Clock.nowNanoseconds()

    /// The capture row being filled: its file (nil without --write-pcap), its
    /// counters, and the kernel's counters when it began.
    var captureID: Int64 = 0
    var file: PcapFileWriter?
    var fileOpened: Int64 = 0
    var result = FileResult()
    var packetsInCapture = 0
    var statisticsAtStart = LiveStatistics()
    var statisticsNext: LiveStatistics?
    var defragmentsAtStart = Defragmenter.Counters()
    var sequence = 0

    var report = LiveReport()
    var packet = DecodedPacket()
    var lastCommit: Int64 = 0
    var lastStatus: Int64 = 0
    var lastDropWarning: Int64 = 0
    var dropsWarned = 0
    /// The run's capture rows, and those already complete (rotated files).
    var begun: [Int64] = []
    var completed: [Int64] = []
    var currentPath = ""

    init(archive: Archive, options: LiveOptions, source: LiveSource, notice: @escaping (String) -> Void) throws {
        self.archive = archive
        self.options = options
        self.source = source
        self.notice = notice
        let o = options.ingest
        // more batches in flight than ingest: the interface does not wait for the disk
        writer = try ArchiveWriter(archive: archive, payloadPolicy: o.payload, depth: 6)
        // smaller batches than ingest's, as more of them wait: memory stays near 6 × 8 MB
        writer.batchBytes = min(o.batchBytes, 8 << 20)
        writer.runBytes = o.runBytes
        writer.deliveriesPerBlock = max(1, o.deliveriesPerBlock)
        writer.parsesApplications = o.parseApplications
        writer.recordsOpenFlows = true
        let cursor = PacketCursor()
        let factory = RecordingStream.Factory(writer: writer, cursor: cursor, closeDelay: o.closeDelay)
        var policy = o.flushPolicy
        policy.every = 0        // flushed by the clock instead (`tick`)
        pipeline = Pipeline(factory: factory, cursor: cursor, options: o.assembler, flushPolicy: policy)
        pipeline.vlanAware = o.vlanAware
        if o.maxFragmentMemory > 0 {
            pipeline.defragmenter = Defragmenter(maxMemory: o.maxFragmentMemory, timeout: o.fragmentTimeout)
        }
        decoder = PacketDecoder(linkType: LinkType(dlt: source.dlt))
        do {
            header = try PcapFileHeader.nanosecond(dlt: source.dlt, snaplen: source.snaplen)
        } catch {
            throw IngestError(description: "\(source.interface): \(error)")
        }
    }

    func run(status: ((LiveStatus) -> Void)?) throws -> LiveReport {
        do {
            try beginCapture(now: Clock.nowNanoseconds())
            lastCommit = Clock.nowNanoseconds()
            try loop(status: status)
            report.signal = StopSignals.signal
            // Deliver what is still buffered, complete every connection, close the file.
            pipeline.finish()
            try endCapture(final: true)
            try writer.commit()
            try writer.setStatus(captureID, failure: nil)
            try writer.drain()
        } catch let error as LiveCaptureError {
            try? stopAfterFailure(error.description)
            throw IngestError(description: error.description)
        } catch {
            let message = (error as? IngestError)?.description ?? "\(archive.path): \(error)"
            try? stopAfterFailure(message)
            throw IngestError(description: message)
        }
        report.ingest.flows = writer.flowsCreated
        report.ingest.bytesDelivered = writer.bytesDelivered
        report.ingest.bytesStored = writer.bytesStored
        report.ingest.gaps = writer.gapsRecorded
        report.ingest.connectionStates = (try? Ingestor.connectionStates(of: begun, in: archive.connection)) ?? []
        report.statistics = source.statistics() ?? report.statistics
        return report
    }

    /// After a failure: keep what can be kept (the assembled data, the file so
    /// far) and mark the captures of the run failed.
    func stopAfterFailure(_ message: String) throws {
        pipeline.finish()
        _ = try? file?.close()
        file = nil
        try? writer.commit()
        writer.abandon(begun.filter { !completed.contains($0) }, failure: message)
    }

    private func loop(status: ((LiveStatus) -> Void)?) throws {
        var sinceClock = 0
        let limit = options.packetLimit ?? .max
        while true {
            switch try source.next() {
            case .packet(var raw):
                if let file {
                    if let max = options.rotateBytes, file.packets > 0, file.size + 16 + raw.bytes.count > max {
                        try rotate(now: Clock.nowNanoseconds())
                    }
                    let current = self.file!
                    raw.index = current.packets
                    raw.offset = try current.write(raw)
                } else {
                    raw.index = packetsInCapture
                }
                packetsInCapture += 1
                report.packets += 1
                pipeline.feed(raw, decoder: decoder, packet: &packet, result: &result)
                if report.packets >= limit { return }
                sinceClock &+= 1
                if sinceClock & 255 == 0 {
                    try writer.commitIfNeeded()
                    if try tick(status: status) { return }
                }
            case .idle:
                if try tick(status: status) { return }
            case .stopped:
                return
            }
        }
    }

    /// The clock's work: commits, flushes, rotation by time, the status line and
    /// drop warnings. Returns true when the duration has passed.
    private func tick(status: ((LiveStatus) -> Void)?) throws -> Bool {
        let now = Clock.nowNanoseconds()
        if let d = options.duration, now - started >= d { return true }
        if now - lastCommit >= options.commitInterval {
            lastCommit = now
            let policy = pipeline.flushPolicy
            // data waiting longer than `after` for a hole, connections idle for `closeAfter`
            _ = pipeline.assembler.flush(olderThan: now &- policy.after, closeOlderThan: now &- policy.closeAfter)
            try commitCapture()
            if let interval = options.rotateInterval, file != nil, now - fileOpened >= interval {
                try rotate(now: now)
            }
            warnAboutDrops(now: now)
        }
        if let status, now - lastStatus >= 1_000_000_000 {
            lastStatus = now
            status(LiveStatus(interface: source.interface, seconds: Double(now - started) / 1e9, packets: report.packets,
                              bytes: report.ingest.counters.bytes + result.counters.bytes, flows: writer.flowsCreated,
                              statistics: source.statistics() ?? LiveStatistics(), file: file?.path))
        }
        return false
    }

    /// Commits what was assembled, with the current capture row's counters so far.
    private func commitCapture() throws {
        try file?.flush()
        try writer.commit(synchronizing: file?.fd ?? -1)
        try writer.recordCounters(captureID, totals: totals(), sha256: nil, size: file?.size ?? 0, live: liveCounters())
    }

    private func totals() -> CaptureTotals {
        var counters = result.counters
        counters.add(pipeline.defragmenter?.counters, since: defragmentsAtStart)
        return CaptureTotals(counters: counters, firstTimestamp: result.firstTimestamp, lastTimestamp: result.lastTimestamp)
    }

    private func liveCounters() -> LiveCounters? {
        guard let now = statisticsNext ?? source.statistics() else { return nil }
        let d = now - statisticsAtStart
        return LiveCounters(received: d.received, kernelDrops: d.droppedByKernel, interfaceDrops: d.droppedByInterface)
    }

    /// Says so on stderr when the kernel or the interface dropped packets since
    /// the last warning (at most every 10 seconds).
    private func warnAboutDrops(now: Int64) {
        guard now - lastDropWarning >= 10_000_000_000, let s = source.statistics() else { return }
        let dropped = s.droppedByKernel + s.droppedByInterface
        guard dropped > dropsWarned else { return }
        lastDropWarning = now
        let share = s.received > 0 ? Double(s.droppedByKernel) * 100 / Double(s.received) : 0
        notice("WARNING: \(source.interface): \(dropped - dropsWarned) packets dropped since the last report (in all: \(s.droppedByKernel) by the kernel, \(IngestSummary.twoDecimals(share))% of \(s.received) received, and \(s.droppedByInterface) by the interface); the archive and the pcap files miss them. Raise --buffer-size, narrow --filter, or store less (--no-payload, --no-apps)")
        dropsWarned = dropped
    }

    // MARK: capture rows and files

    private func beginCapture(now: Int64) throws {
        var path = "live:\(source.interface)"
        if let directory = options.pcapDirectory {
            file = try newFile(in: directory, now: now)
            path = file!.path
            report.files.append(path)
        }
        currentPath = path
        fileOpened = now
        result = FileResult(dlt: source.dlt, linkTypeName: source.linkTypeName, snaplen: source.snaplen)
        packetsInCapture = 0
        statisticsAtStart = statisticsNext ?? source.statistics() ?? LiveStatistics()
        statisticsNext = nil
        defragmentsAtStart = pipeline.defragmenter?.counters ?? Defragmenter.Counters()
        pipeline.cursor.fileIndex += 1
        captureID = try writer.beginCapture(path: path, size: 0, dlt: source.dlt, linkTypeName: source.linkTypeName,
                                            snaplen: source.snaplen, interface: source.interface,
                                            filter: options.source.filter)
        begun.append(captureID)
    }

    /// Closes the current file and records its row's final counters. A rotated
    /// file's row is complete once closed; the last one's with the run.
    private func endCapture(final: Bool) throws {
        var size = 0
        var digest: String?
        // The kernel's counters now end this row and begin the next: rows add up.
        if let stats = source.statistics() { statisticsNext = stats }
        let counters = liveCounters()
        try writer.commit()
        if let file {
            let (bytes, sha, fd) = try file.finish()
            (size, digest) = (bytes, sha)
            self.file = nil
            // synced and closed by the writer thread, before the row says complete
            try writer.syncAndClose(fd, name: file.path)
        }
        let totals = totals()
        try writer.recordCounters(captureID, totals: totals, sha256: digest, size: size, live: counters)
        report.ingest.counters += totals.counters
        report.ingest.files.append((currentPath, .ingested(captureID: captureID)))
        if !final {
            try writer.setStatus(captureID, failure: nil)
            completed.append(captureID)
        }
    }

    private func rotate(now: Int64) throws {
        try endCapture(final: false)
        if let keep = options.keepFiles, let directory = options.pcapDirectory { try removeOldFiles(in: directory, keeping: keep - 1, now: now) }
        try beginCapture(now: now)
        lastCommit = now
    }

    /// `IFACE-20261129T224512Z-000001.pcap`: the interface, the UTC time the file
    /// was opened, and a sequence number; names sort in time order.
    private func newFile(in directory: String, now: Int64) throws -> PcapFileWriter {
        var t = time_t(now / 1_000_000_000)
        var parts = tm()
        gmtime_r(&t, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let stamp = strftime(&text, text.count, "%Y%m%dT%H%M%SZ", &parts) > 0
            ? text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "\(now / 1_000_000_000)"
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        while true {
            sequence += 1
            let path = base + Self.filePrefix(source.interface) + stamp + "-" + Self.sixDigits(sequence) + ".pcap"
            do {
                return try PcapFileWriter(path: path, header: header)
            } catch is PcapFileWriter.Exists {
                continue
            }
        }
    }

    static func sixDigits(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The prefix of an interface's files, its name made safe for a file name.
    static func filePrefix(_ interface: String) -> String {
        String(interface.unicodeScalars.map { s in
            (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "." || s == "_")) ? Character(s) : "_"
        }) + "-"
    }

    /// Removes the interface's oldest files in `directory` until `keeping` remain
    /// besides the one being written, and notes it on their capture rows.
    private func removeOldFiles(in directory: String, keeping: Int, now: Int64) throws {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let prefix = Self.filePrefix(source.interface)
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), name.hasSuffix(".pcap"), name.dropFirst(prefix.count).first?.isNumber == true else { continue }
            names.append(name)
        }
        names.sort()
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names.dropLast(max(0, keeping)) {
            let path = base + name
            guard unlink(path) == 0 else {
                notice("\(path): cannot remove it (--keep): \(String(cString: strerror(errno)))")
                continue
            }
            try writer.markRemoved(path: path, at: now)
        }
    }
}

extension Ingestor {
    /// How many of the flows of `captures` ended in each Zeek connection state.
    static func connectionStates(of captures: [Int64], in connection: SQLiteConnection) throws -> [(state: String, flows: Int)] {
        guard !captures.isEmpty else { return [] }
        let s = try connection.prepare("""
            SELECT coalesce(conn_state, '-'), count(*) FROM flow
            WHERE capture_id IN (\(Array(repeating: "?", count: captures.count).joined(separator: ", ")))
            GROUP BY 1 ORDER BY 2 DESC, 1
            """)
        for (i, id) in captures.enumerated() { try s.bind(id, at: Int32(i + 1)) }
        var out: [(state: String, flows: Int)] = []
        while try s.step() { out.append((s.text(0) ?? "-", s.int(1))) }
        return out
    }
}
