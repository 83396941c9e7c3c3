import Capture
import Decoding
import Reassembly
import Recording
import Store
#if canImport(Glibc)
import Glibc
#endif

/// What `flowdb capture` does with its options.
public struct LiveOptions: Sendable {
    public var source: LiveSourceOptions
    /// Reassembly and recording, as `ingest` (its flush policy's `after` and
    /// `closeAfter` apply in wall-clock time; `every` is ignored).
    public var recording = RecordingOptions()
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
            try CommunityIDBackfill.run(archive.connection)
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
        let catalog = CaptureCatalog(archive.connection)
        let rows = try catalog.runningLiveCaptures()
        let now = Clock.nowNanoseconds()
        for (id, path, sha) in rows {
            notice("capture \(id) (\(path)) was interrupted (the process was killed or the machine stopped); its committed part stays, marked failed")
            var size: Int64?, digest: String?
            if sha == nil, !path.hasPrefix("live:"), let capture = HashedCapture(path: path) {
                size = Int64(capture.openedSize)
                digest = capture.finish().sha256
            }
            try catalog.closeInterrupted(id, reason: "interrupted: the live capture stopped without closing it (killed, or power lost); flows and packets committed before that are kept",
                                         at: now, size: size, sha256: digest)
        }
        return rows.map(\.id)
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
