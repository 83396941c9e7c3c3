import Capture
import Decoding
import Reassembly
import Recording
import Store
#if canImport(Glibc)
import Glibc
#endif

/// What `flowdb ingest` does with its options.
public struct IngestOptions: Sendable {
    public var filter: String?
    public var recording = RecordingOptions()
    /// Ingest files again even when the archive already holds them (the old copy is replaced).
    public var force = false
    /// Standard input ("-") is also written to this new file, which the
    /// capture's row then names, so its packets can be exported later.
    public var keepStdin: String?
    public init() {}
}

/// Progress of a running ingest, for a progress bar.
public struct IngestProgress: Sendable {
    public var path: String
    public var fileBytesRead: Int
    public var fileSize: Int
    public var packets: Int
    public var flows: Int
}

/// What one ingest did.
public struct IngestReport: Sendable {
    public enum Outcome: Sendable, Equatable {
        case ingested(captureID: Int64)
        case skipped(reason: String)
        case failed(captureID: Int64?, message: String)
    }
    public var files: [(path: String, outcome: Outcome)] = []
    public var counters = DecodeCounters()
    public var flows = 0
    /// The run's flows by Zeek connection state, most frequent first.
    public var connectionStates: [(state: String, flows: Int)] = []
    /// The UDP and ICMP flows, by state.
    public var udpStates: [(state: String, flows: Int)] = []
    public var icmpStates: [(state: String, flows: Int)] = []
    public var bytesDelivered = 0
    public var bytesStored = 0
    public var gaps = 0
    /// Overlap conflicts and anomalies recorded; overlapping bytes over delivered
    /// data not compared (no copy in memory); anomalies past a flow's bound.
    public var conflicts = 0
    public var conflictsNotRecorded = 0
    public var overlapBytesUnchecked = 0
    public var anomalies = 0
    public var anomaliesNotRecorded = 0
    public var inputBytes = 0
    public var failures: [String] { files.compactMap { if case .failed(_, let m) = $0.outcome { m } else { nil } } }
}

extension IngestReport {
    mutating func takeEvidence(from writer: ArchiveWriter) {
        conflicts = writer.conflictsRecorded
        conflictsNotRecorded = writer.conflictsNotRecorded
        overlapBytesUnchecked = writer.overlapBytesUnchecked
        anomalies = writer.anomaliesRecorded
        anomaliesNotRecorded = writer.anomaliesNotRecorded
    }

    mutating func addEvidence(_ other: IngestReport) {
        conflicts += other.conflicts
        conflictsNotRecorded += other.conflictsNotRecorded
        overlapBytesUnchecked += other.overlapBytesUnchecked
        anomalies += other.anomalies
        anomaliesNotRecorded += other.anomaliesNotRecorded
    }
}

/// A failure that stops an ingest before it reads anything.
public struct IngestError: Error, CustomStringConvertible {
    public var description: String
}

/// read → decode → assemble → record, for a list of files that feed one assembler.
public final class Ingestor {
    let archive: Archive
    let options: IngestOptions
    let lock: IngestLock

    /// An ingestor writing into `archive`, holding `lock` (taken on the archive's
    /// path before it was opened: see `IngestLock`); without one, it takes the lock
    /// now, which guards the writes but not the archive's creation.
    public init(archive: Archive, options: IngestOptions, lock: IngestLock? = nil) throws {
        if let lock, lock.archivePath != archive.path {
            throw IngestError(description: "\(archive.path): the ingest lock held is for \(lock.archivePath)")
        }
        self.archive = archive
        self.options = options
        self.lock = try lock ?? IngestLock(archivePath: archive.path)
    }

    /// Locks `path`, then opens it, creating or upgrading the archive: the order
    /// `flowdb ingest` needs, so that concurrent ingests never both create it.
    public convenience init(path: String, options: IngestOptions) throws {
        let lock = try IngestLock(archivePath: path)
        try self.init(archive: try Archive(path: path, create: true), options: options, lock: lock)
    }

    /// Ingests `paths` in order ("-" is standard input). Files already in the
    /// archive are skipped (unless `force`); the leftovers of an interrupted ingest
    /// of the same files are removed first, so running it again completes it.
    public func run(paths: [String], progress: ((IngestProgress) -> Void)? = nil,
                    notice: (String) -> Void = { _ in }) throws -> IngestReport {
        do {
            return try ingest(paths: paths, progress: progress, notice: notice)
        } catch let error as SQLiteError {
            throw IngestError(description: "\(archive.path): \(error)")
        }
    }

    func ingest(paths: [String], progress: ((IngestProgress) -> Void)?, notice: (String) -> Void) throws -> IngestReport {
        var report = IngestReport()
        // An earlier ingest killed during a bulk load left these out; deleting its
        // leftovers (in `prepare`) needs them.
        try BulkLoad.restoreIndexes(archive.connection)
        // rows of an archive upgraded from before migration 0015
        try CommunityIDBackfill.run(archive.connection)
        var toRead: [String] = []
        for path in paths {
            if let reason = try prepare(path: path, among: paths, notice: notice) {
                report.files.append((path, .skipped(reason: reason)))
            } else {
                toRead.append(path)
            }
        }
        guard !toRead.isEmpty else { return report }

        let deferred = try BulkLoad.deferIndexesIfEmpty(archive.connection)
        do {
            try read(toRead, into: &report, progress: progress)
        } catch {
            if deferred { try? BulkLoad.restoreIndexes(archive.connection) }
            throw error
        }
        if deferred { try BulkLoad.restoreIndexes(archive.connection) }
        return report
    }

    /// Reads `toRead` through one assembler into the archive. Whether it returns or
    /// throws, the writer thread is idle afterwards (drained, or abandoned).
    private func read(_ toRead: [String], into report: inout IngestReport,
                      progress: ((IngestProgress) -> Void)?) throws {
        let built = try RecordingPipeline(archive: archive, options: options.recording, live: false)
        let writer = built.writer, pipeline = built.pipeline
        var finished: [(id: Int64, failure: String?)] = []
        var begun: [Int64] = []       // this run's captures, in the archive as 'running'
        var current = ""
        do {
            for path in toRead {
                current = path
                let fromStdin = path == "-"
                let capture: HashedCapture?
                do {
                    capture = fromStdin ? try HashedCapture(standardInputKeptIn: options.keepStdin) : HashedCapture(path: path)
                } catch {
                    throw IngestError(description: error.description)
                }
                defer { capture?.abandon() }
                // The capture's row names the file its bytes can be read from again.
                let recordedPath = fromStdin ? options.keepStdin ?? path : path
                var captureID: Int64?
                let fileSize = capture?.openedSize ?? 0
                var result = FileResult()
                var failure: String?
                do {
                    result = try pipeline.run(
                        path: path, stream: capture?.takeStream(), filter: options.filter,
                        opened: { reader in
                            let id = try writer.beginCapture(path: recordedPath, size: fileSize, dlt: reader.dlt,
                                                             linkTypeName: reader.linkTypeName, snaplen: reader.snaplen,
                                                             stdinKept: fromStdin && options.keepStdin != nil,
                                                             filter: options.filter)
                            captureID = id
                            begun.append(id)
                        },
                        tick: { reader, partial in
                            try writer.commitIfNeeded()
                            progress?(IngestProgress(path: path, fileBytesRead: reader.byteOffset ?? 0, fileSize: fileSize,
                                                     packets: partial.counters.packets, flows: writer.flowsCreated))
                        },
                        partial: { result = $0 })
                } catch let error as CaptureError {
                    failure = error.description
                }
                report.counters += result.counters
                let digest = capture?.finish()
                if let spoolFailure = capture?.closeSpool(), let kept = options.keepStdin {
                    failure = "\(kept): \(spoolFailure)"
                }
                let size = digest?.size ?? fileSize
                // A file cut (or extended) at a record boundary while it is read ends
                // without a read error; where reading and hashing stopped tells.
                if failure == nil, let capture, capture.isFile {
                    let opened = capture.openedSize
                    let hashed = digest?.sha256 != nil ? size : opened, read = result.endOffset ?? opened
                    if hashed != opened || read != opened {
                        failure = "\(path): the file changed while it was read (\(opened) bytes when opened, \(hashed != opened ? hashed : read) at the end)"
                    }
                }
                report.inputBytes += size
                guard let id = captureID else {
                    report.files.append((path, .failed(captureID: nil, message: failure ?? "\(path): not read")))
                    continue
                }
                let totals = CaptureTotals(counters: result.counters, firstTimestamp: result.firstTimestamp, lastTimestamp: result.lastTimestamp)
                try writer.recordCounters(id, totals: totals, sha256: digest?.sha256, size: size)
                finished.append((id, failure))
                report.files.append((path, failure.map { .failed(captureID: id, message: $0) } ?? .ingested(captureID: id)))
            }
            // Deliver what is still buffered, then mark the run's files complete together.
            pipeline.finish()
            try writer.commit()
            for (id, failure) in finished {
                try writer.setStatus(id, failure: failure)
            }
            try writer.drain()
        } catch {
            // The archive could not be written (disk full, I/O error): what was
            // committed stays; the run's captures are marked failed.
            let message = "\(archive.path): cannot store \(current): \(error)"
            writer.abandon(begun, failure: message)
            throw IngestError(description: message)
        }
        report.flows = writer.flowsCreated
        let states = try CaptureCatalog(archive.connection).connectionStates(of: begun)
        report.connectionStates = states["tcp"] ?? []
        report.udpStates = states["udp"] ?? []
        report.icmpStates = states["icmp"] ?? []
        report.bytesDelivered = writer.bytesDelivered
        report.bytesStored = writer.bytesStored
        report.gaps = writer.gapsRecorded
        report.takeEvidence(from: writer)
    }

    /// Decides whether `path` is read: nil to read it, or why it is skipped.
    /// Removes what an interrupted or failed ingest of the same file left.
    func prepare(path: String, among paths: [String], notice: (String) -> Void) throws -> String? {
        guard path != "-" else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }   // the reader reports the error
        // a FIFO is read once, by the reader: no leftovers to match, nothing to hash
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(st.st_size)
        let catalog = CaptureCatalog(archive.connection)
        // Leftovers of an unfinished ingest of this file.
        for id in try catalog.unfinished(path: path, size: size) {
            notice("\(path): removing the unfinished ingest of capture \(id) before reading it again")
            try catalog.delete(id)
        }
        // Complete copies with the same bytes.
        let candidates = try catalog.complete(size: size)
        guard !candidates.isEmpty else { return nil }
        // Read and hashed as an ingest would, with nothing reading the capture.
        let digest = HashedCapture(path: path)?.finish().sha256
        for (id, sha) in candidates where sha == digest {
            if options.force {
                notice("\(path): replacing capture \(id), which holds the same bytes (--force)")
                try catalog.delete(id)
                return nil
            }
            return "already in the archive as capture \(id) (sha256 \(sha.prefix(16))…); --force ingests it again"
        }
        return nil
    }
}
