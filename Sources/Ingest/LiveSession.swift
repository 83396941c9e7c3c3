import Capture
import Decoding
import Reassembly
import Recording
import Store
#if canImport(Glibc)
import Glibc
#endif

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
    /// The wall-clock time this session's archive period ends (archives by period).
    var stopAt: Int64?
    /// Whether it ended there (rather than by a signal or a limit).
    var reachedPeriodEnd = false
    /// The flows open at its end, before they were written: they go on in the next archive.
    var openAtEnd: [(key: ContinuationKey, id: Int64)] = []

    init(archive: Archive, options: LiveOptions, source: LiveSource, notice: @escaping (String) -> Void) throws {
        self.archive = archive
        self.options = options
        self.source = source
        self.notice = notice
        let built = try RecordingPipeline(archive: archive, options: options.recording, live: true)
        writer = built.writer
        pipeline = built.pipeline
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
            if stopAt != nil { openAtEnd = writer.openFlowKeys() }
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
        report.ingest.takeEvidence(from: writer)
        let states = (try? CaptureCatalog(archive.connection).connectionStates(of: begun)) ?? [:]
        report.ingest.connectionStates = states["tcp"] ?? []
        report.ingest.udpStates = states["udp"] ?? []
        report.ingest.icmpStates = states["icmp"] ?? []
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
                // the archive's period ends with the first packet past it (kept here)
                if let stopAt, raw.timestamp >= stopAt {
                    reachedPeriodEnd = true
                    return
                }
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
        if let stopAt, now >= stopAt {
            reachedPeriodEnd = true
            return true
        }
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
}
