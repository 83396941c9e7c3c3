import Capture
import Decoding
import FileIO
import Recording
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Archives by period: `flowdb capture --archive-every 1h --archive-dir DIR`.
public struct PeriodOptions: Sendable {
    /// The length of a period (ns); archives start at its multiples of UTC time.
    public var every: Int64
    public var directory: String
    /// Retention: at most this many of the interface's archives, and at most this
    /// many bytes of them (the current one counts); the oldest whole archives go.
    public var keepArchives: Int?
    public var maxArchiveBytes: Int?

    public init(every: Int64, directory: String) {
        self.every = every
        self.directory = directory
    }
}

/// A live capture that starts a new archive each period, each complete on its own
/// (schema, capture rows, bytes, custody). A flow open at a boundary is written as
/// it stood into the archive that ends, and goes on as a new flow in the next:
/// `continues_from` and `continued_in` link the two (`ARCHIVE:ID`). Retention
/// removes the oldest whole archives, never the one being written nor one a
/// reader has open, and records what it removed in the current archive.
public final class PeriodicCapture {
    let options: LiveOptions
    let periods: PeriodOptions

    public init(options: LiveOptions, periods: PeriodOptions) {
        self.options = options
        self.periods = periods
    }

    /// `IFACE-YYYYMMDDTHHMMSSZ.sqlite`: the interface (made safe for a file name)
    /// and the period's start in UTC.
    public static func archiveName(interface: String, periodStart: Int64) -> String {
        let iso = TimeText.compact(periodStart)
        return Session.filePrefix(interface) + iso + ".sqlite"
    }

    public func run(ready: (LiveSource) -> Void = { _ in }, status: ((LiveStatus) -> Void)? = nil,
                    notice: @escaping (String) -> Void = { _ in }) throws -> (report: LiveReport, archives: [String]) {
        let source: LiveSource
        do { source = try LiveSource(options.source) } catch { throw IngestError(description: error.description) }
        if let warning = source.warning { notice("\(source.interface): \(warning)") }
        var total = LiveReport()
        var archives: [String] = []
        var continuations: [ContinuationKey: String] = [:]
        var previous: String?
        let started = Clock.nowNanoseconds()
        var announced = false
        while true {
            let now = Clock.nowNanoseconds()
            let start = now - ((now % periods.every) + periods.every) % periods.every
            let name = Self.archiveName(interface: source.interface, periodStart: start)
            let path = periods.directory + "/" + name
            var sessionOptions = options
            if let d = options.duration { sessionOptions.duration = max(1, d - (now - started)) }
            if let n = options.packetLimit { sessionOptions.packetLimit = max(1, n - total.packets) }
            let ingestor = try LiveIngestor(path: path, options: sessionOptions)
            _ = try ingestor.closeInterrupted(notice: notice)
            try removeOldArchives(current: path, interface: source.interface, into: ingestor.archive, notice: notice)
            let session = try Session(archive: ingestor.archive, options: sessionOptions, source: source, notice: notice)
            session.stopAt = start + periods.every
            session.writer.continuations = continuations
            if !announced { ready(source); announced = true }
            let report: LiveReport
            do { report = try session.run(status: status) } catch {
                throw IngestError(description: "\(path): \(error)")
            }
            archives.append(path)
            total.packets += report.packets
            total.files += report.files
            total.signal = report.signal
            total.statistics = report.statistics
            total.ingest.flows += report.ingest.flows
            total.ingest.bytesDelivered += report.ingest.bytesDelivered
            total.ingest.bytesStored += report.ingest.bytesStored
            total.ingest.gaps += report.ingest.gaps
            total.ingest.addEvidence(report.ingest)
            total.ingest.counters += report.ingest.counters
            total.ingest.files += report.ingest.files
            // the earlier side of each link made in this archive
            if let previous, !session.writer.continued.isEmpty {
                do {
                    try Self.linkBack(previous, session.writer.continued, in: name)
                } catch {
                    notice("\(previous): the links to the flows that went on in \(name) were not written: \(error)")
                }
            }
            continuations = [:]
            for (key, id) in session.openAtEnd where continuations[key] == nil { continuations[key] = "\(name):\(id)" }
            // a finished archive is one file (rollback journal), which also lets
            // retention see its readers; skipped while one holds it in WAL mode
            _ = try? ingestor.archive.connection.execute("PRAGMA journal_mode = DELETE")
            previous = path
            guard session.reachedPeriodEnd else { break }
        }
        return (total, archives)
    }

    /// Sets `continued_in` on the flows of `path` that went on in the archive `name`.
    static func linkBack(_ path: String, _ links: [(from: String, to: Int64)], in name: String) throws {
        let lock = try IngestLock(archivePath: path)
        defer { _ = lock }
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.transaction {
            let update = try connection.prepare("UPDATE flow SET continued_in = ? WHERE id = ?")
            for link in links {
                guard let colon = link.from.lastIndex(of: ":"), let id = Int64(link.from[link.from.index(after: colon)...]) else { continue }
                update.reset()
                try update.bind("\(name):\(link.to)", at: 1)
                try update.bind(id, at: 2)
                _ = try update.step()
            }
        }
    }

    /// Retention: while the interface's archives number more than `keepArchives`
    /// or weigh more than `maxArchiveBytes`, the oldest goes, whole: unless it is
    /// being written (its ingest lock is held) or read (SQLite's lock cannot be
    /// taken at once), in which case nothing more is removed until the next period.
    func removeOldArchives(current: String, interface: String, into archive: Archive, notice: (String) -> Void) throws {
        guard periods.keepArchives != nil || periods.maxArchiveBytes != nil else { return }
        let prefix = Session.filePrefix(interface)
        let names = directoryEntries(periods.directory).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".sqlite") }
        let currentName = current.split(separator: "/").last.map(String.init) ?? current
        var older = names.filter { $0 != currentName }.sorted()
        func bytes(_ name: String) -> Int {
            ["", "-wal", "-shm", "-journal"].reduce(0) { total, suffix in
                var st = stat()
                return total + (stat(periods.directory + "/" + name + suffix, &st) == 0 ? Int(st.st_size) : 0)
            }
        }
        var total = older.reduce(bytes(currentName)) { $0 + bytes($1) }
        while let oldest = older.first {
            let tooMany = periods.keepArchives.map { older.count + 1 > $0 } ?? false
            let tooBig = periods.maxArchiveBytes.map { total > $0 } ?? false
            guard tooMany || tooBig else { break }
            let path = periods.directory + "/" + oldest
            let size = bytes(oldest)
            let reason = tooMany ? "--keep-archives \(periods.keepArchives!)" : "--max-archive-bytes \(periods.maxArchiveBytes!)"
            guard let removed = try? Self.remove(path) else {
                notice("\(path): not removed (\(reason)): it is being written or read; retried at the next period")
                break
            }
            let insert = try archive.connection.prepare("""
                INSERT INTO archive_removed (path, archive_id, first_ts, last_ts, bytes, removed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            try insert.bind(path, at: 1)
            try insert.bind(removed.archiveID, at: 2)
            try insert.bind(removed.first, at: 3)
            try insert.bind(removed.last, at: 4)
            try insert.bind(size, at: 5)
            try insert.bind(Clock.nowNanoseconds(), at: 6)
            try insert.bind(reason, at: 7)
            _ = try insert.step()
            notice("removed \(path) (\(reason))")
            older.removeFirst()
            total -= size
        }
    }

    /// Removes one archive if nobody writes or reads it: its ingest lock taken, then
    /// SQLite's exclusive lock without waiting; the files go while both are held.
    static func remove(_ path: String) throws -> (archiveID: String?, first: Int64?, last: Int64?) {
        let lock = try IngestLock(archivePath: path)
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.execute("PRAGMA busy_timeout = 0")
        let mode = try connection.prepare("PRAGMA journal_mode = DELETE")
        guard try mode.step(), mode.text(0)?.lowercased() == "delete" else { throw QueryLikeError.busy }
        mode.reset()
        try connection.execute("BEGIN EXCLUSIVE")
        var id: String?, first: Int64?, last: Int64?
        if let s = try? connection.prepare("SELECT archive_id, first_ts, last_ts FROM archive_info"), (try? s.step()) == true {
            id = s.text(0)
            first = s.isNull(1) ? nil : s.int64(1)
            last = s.isNull(2) ? nil : s.int64(2)
        }
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(path + suffix) }
        try? connection.execute("ROLLBACK")
        unlink(lock.lockPath)
        return (id, first, last)
    }

    enum QueryLikeError: Error { case busy }
}

/// `YYYYMMDDTHHMMSSZ` for file names.
enum TimeText {
    static func compact(_ nanoseconds: Int64) -> String {
        var t = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(parts.tm_year + 1900, 4))\(pad(parts.tm_mon + 1, 2))\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2))\(pad(parts.tm_min, 2))\(pad(parts.tm_sec, 2))Z"
    }
}
