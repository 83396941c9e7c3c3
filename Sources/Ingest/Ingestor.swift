import Capture
import Decoding
import Reassembly
import Store
#if canImport(Glibc)
import Glibc
#endif

/// What `flowdb ingest` does with its options.
public struct IngestOptions: Sendable {
    public var filter: String?
    public var assembler = AssemblerOptions()
    public var flushPolicy = FlushPolicy.never
    public var payload = PayloadPolicy()
    /// Ingest files again even when the archive already holds them (the old copy is replaced).
    public var force = false
    /// Payload bytes gathered before each write transaction.
    public var batchBytes = 32 << 20
    /// Largest payload run (one row of `payload`).
    public var runBytes = 256 << 10
    /// Most deliveries in one `delivery_block` row.
    public var deliveriesPerBlock = 4096
    /// Capture time during which packets after a connection closed (the last ACK,
    /// a retransmitted FIN or RST, late data) still belong to it, as Zeek's
    /// `tcp_close_delay`; 0 gives each such stream a flow of its own, as gopacket does.
    public var closeDelay: Int64 = 5_000_000_000
    /// VLAN ids separate connections (`--vlan-aware`); by default they are only recorded.
    public var vlanAware = false
    /// Bytes held for incomplete fragmented datagrams (0: fragments are skipped,
    /// not reassembled), and how long (capture time) a datagram waits for its fragments.
    public var maxFragmentMemory = 64 << 20
    public var fragmentTimeout: Int64 = 30_000_000_000
    /// Standard input ("-") is also written to this new file, which the
    /// capture's row then names, so its packets can be exported later.
    public var keepStdin: String?
    /// Recognise HTTP, TLS and SSH and record what they say (`--no-apps` turns it off).
    public var parseApplications = true
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
    public var bytesDelivered = 0
    public var bytesStored = 0
    public var gaps = 0
    public var inputBytes = 0
    public var failures: [String] { files.compactMap { if case .failed(_, let m) = $0.outcome { m } else { nil } } }
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
        let writer = try ArchiveWriter(archive: archive, payloadPolicy: options.payload)
        writer.batchBytes = options.batchBytes
        writer.runBytes = options.runBytes
        writer.deliveriesPerBlock = max(1, options.deliveriesPerBlock)
        writer.parsesApplications = options.parseApplications
        let cursor = PacketCursor()
        let factory = RecordingStream.Factory(writer: writer, cursor: cursor, closeDelay: options.closeDelay)
        let pipeline = Pipeline(factory: factory, cursor: cursor, options: options.assembler, flushPolicy: options.flushPolicy)
        pipeline.vlanAware = options.vlanAware
        if options.maxFragmentMemory > 0 {
            pipeline.defragmenter = Defragmenter(maxMemory: options.maxFragmentMemory, timeout: options.fragmentTimeout)
        }
        var finished: [(id: Int64, failure: String?)] = []
        var begun: [Int64] = []       // this run's captures, in the archive as 'running'
        var current = ""
        do {
            for path in toRead {
                current = path
                let fromStdin = path == "-"
                let capture = fromStdin ? try HashedCapture(standardInputKeptIn: options.keepStdin) : HashedCapture(path: path)
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
        report.connectionStates = try connectionStates(of: begun)
        report.bytesDelivered = writer.bytesDelivered
        report.bytesStored = writer.bytesStored
        report.gaps = writer.gapsRecorded
    }

    /// How many of the flows of `captures` ended in each Zeek connection state.
    func connectionStates(of captures: [Int64]) throws -> [(state: String, flows: Int)] {
        try Self.connectionStates(of: captures, in: archive.connection)
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
        let c = archive.connection
        // Leftovers of an unfinished ingest of this file.
        let stale = try c.prepare("SELECT id, ingest_run FROM capture WHERE path = ? AND size = ? AND status <> 'complete'")
        try stale.bind(path, at: 1)
        try stale.bind(size, at: 2)
        var staleIDs: [Int64] = []
        while try stale.step() { staleIDs.append(stale.int64(0)) }
        for id in staleIDs {
            notice("\(path): removing the unfinished ingest of capture \(id) before reading it again")
            try Maintenance.deleteCapture(id, in: c)
        }
        // Complete copies with the same bytes.
        let same = try c.prepare("SELECT id, sha256 FROM capture WHERE size = ? AND status = 'complete' AND sha256 IS NOT NULL")
        try same.bind(size, at: 1)
        var candidates: [(Int64, String)] = []
        while try same.step() { candidates.append((same.int64(0), same.text(1) ?? "")) }
        guard !candidates.isEmpty else { return nil }
        // Read and hashed as an ingest would, with nothing reading the capture.
        let digest = HashedCapture(path: path)?.finish().sha256
        for (id, sha) in candidates where sha == digest {
            if options.force {
                notice("\(path): replacing capture \(id), which holds the same bytes (--force)")
                try Maintenance.deleteCapture(id, in: c)
                return nil
            }
            return "already in the archive as capture \(id) (sha256 \(sha.prefix(16))…); --force ingests it again"
        }
        return nil
    }
}
