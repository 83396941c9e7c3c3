#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLite

/// A failure to open or migrate an archive.
public enum ArchiveError: Error, CustomStringConvertible {
    case missing(path: String)
    case newerSchema(path: String, found: Int, supported: Int)
    case notAnArchive(path: String, reason: String)
    case sqlite(path: String, SQLiteError)

    public var description: String {
        switch self {
        case let .missing(path):
            "\(path): no such archive (create one with `flowdb ingest --db \(path) CAPTURE`)"
        case let .newerSchema(path, found, supported):
            "\(path): archive schema version \(found) is newer than this flowdb supports (\(supported)); use a newer flowdb"
        case let .notAnArchive(path, reason):
            "\(path): not a flowdb archive: \(reason)"
        case let .sqlite(path, error):
            "\(path): \(error)"
        }
    }
}

/// One migration: a file of schema/, numbered by its name's leading digits.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    /// Every migration embedded from schema/*.sql, in order.
    public static let all: [Migration] = EmbeddedSchema.files.map { file in
        let digits = file.name.prefix { $0.isNumber }
        let base = file.name.hasSuffix(".sql") ? String(file.name.dropLast(4)) : file.name
        return Migration(version: Int(digits) ?? 0, name: base, sql: file.sql)
    }
}

/// A flowdb archive: a SQLite database holding the schema of schema/*.sql.
public final class Archive {
    /// The schema version this build creates and reads.
    public static var schemaVersion: Int { Migration.all.last?.version ?? 0 }

    /// The oldest schema version read without upgrading it (`flowdb query` opens
    /// archives read-only). Queries read what each version has: 0004's connection
    /// columns are left unset on older archives; `flowdb ingest` upgrades an archive.
    public static let oldestReadableVersion = 1

    public let path: String
    public let connection: SQLiteConnection
    /// The archive's schema version once opened (after any upgrade).
    public private(set) var version = 0

    /// Opens the archive at `path`. With `create`, a missing file is created with
    /// mode 0600 (captures hold secrets) and the schema is applied or upgraded;
    /// without it, a missing file is an error and the archive is only read.
    public init(path: String, create: Bool) throws(ArchiveError) {
        self.path = path
        let exists = access(path, F_OK) == 0
        if !exists {
            guard create else { throw .missing(path: path) }
            try Self.createAtomically(path)
        }
        do {
            // The file exists now (created above, or by another process): it is opened,
            // never created, so a dangling symbolic link in its place is an error.
            connection = try SQLiteConnection(path: path, mode: create ? .readWrite : .readOnly)
            try connection.execute("PRAGMA foreign_keys = ON")
            let version = try Self.userVersion(connection)
            if version > Self.schemaVersion {
                throw ArchiveError.newerSchema(path: path, found: version, supported: Self.schemaVersion)
            }
            if version == 0, try connection.scalar("SELECT count(*) FROM sqlite_schema") ?? 0 > 0 {
                throw ArchiveError.notAnArchive(path: path, reason: "it is a SQLite database with other tables")
            }
            if version > 0 || !create {
                guard try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'schema_migration'") == 1 else {
                    throw ArchiveError.notAnArchive(path: path, reason: "it has no schema_migration table")
                }
            }
            self.version = version
            if create && version < Self.schemaVersion {
                try migrate(from: version)
                self.version = Self.schemaVersion
            } else if !create && version < Self.oldestReadableVersion {
                throw ArchiveError.notAnArchive(path: path, reason: "schema version \(version) is older than this flowdb reads (\(Self.oldestReadableVersion)); run `flowdb ingest` on it to upgrade")
            }
        } catch let error as ArchiveError {
            throw error
        } catch let error as SQLiteError {
            if error.code & 0xff == SQLITE_NOTADB {
                throw .notAnArchive(path: path, reason: error.message)
            }
            throw .sqlite(path: path, error)
        } catch {
            throw .notAnArchive(path: path, reason: "\(error)")
        }
    }

    /// A new archive appears whole or not at all: the schema is written into a
    /// private temporary file beside it (`PATH.creating-PID`, mode 0600), which is
    /// then published with `link`, never `rename`: if a file appeared at `path`
    /// meanwhile, it is kept (and opened) rather than replaced. Temporary files left
    /// by processes that are gone (killed while creating) are removed first.
    static func createAtomically(_ path: String) throws(ArchiveError) {
        func failure(_ code: Int32) -> ArchiveError {
            .sqlite(path: path, SQLiteError(code: SQLITE_CANTOPEN, message: "cannot create the archive: \(String(cString: strerror(code)))", sql: nil))
        }
        removeAbandonedTemporaries(path)
        let temporary = path + ".creating-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure(errno) }
        close(fd)
        do {
            let connection = try SQLiteConnection(path: temporary, mode: .readWrite)
            // 16 KB pages: on 1M flows, --host 10.1.0.0/16 took 179 ms with 64 KB pages,
            // 86 ms with 16 KB, 71 ms with 4 KB; ingest of 1.1 GB: 3.51 s (64 KB) vs
            // 3.59 s (16 KB), medians of 3 on tmpfs. Payload writes favour large pages,
            // random flow lookups small ones.
            try connection.execute("PRAGMA page_size = 16384")
            try migrate(connection, from: 0)
        } catch {
            unlink(temporary)
            throw .sqlite(path: path, (error as? SQLiteError) ?? SQLiteError(code: SQLITE_ERROR, message: "\(error)", sql: nil))
        }
        let published = link(temporary, path) == 0
        let code = errno
        unlink(temporary)
        // EEXIST: another process created `path` first; the caller opens that one.
        guard published || code == EEXIST else { throw failure(code) }
    }

    /// Removes `PATH.creating-PID` files beside `path` whose process no longer exists.
    static func removeAbandonedTemporaries(_ path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + ".creating-"
        guard let stream = opendir(directory) else { return }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }

    static func userVersion(_ connection: SQLiteConnection) throws(SQLiteError) -> Int {
        Int(try connection.scalar("PRAGMA user_version") ?? 0)
    }

    /// Applies every migration newer than `version`, each in its own transaction.
    func migrate(from version: Int) throws {
        try Self.migrate(connection, from: version)
    }

    static func migrate(_ connection: SQLiteConnection, from version: Int) throws {
        // A migration that rebuilds a table (0013) drops the old one while other
        // tables' rows still reference it: foreign keys are checked after, not during
        // (SQLite's procedure for changing a table's definition). The pragma is
        // ignored inside a transaction, hence here.
        try connection.execute("PRAGMA foreign_keys = OFF")
        defer { try? connection.execute("PRAGMA foreign_keys = ON") }
        for migration in Migration.all where migration.version > version {
            try connection.transaction {
                try connection.execute(migration.sql)
                let record = try connection.prepare("INSERT INTO schema_migration(version, name, applied_at) VALUES (?, ?, ?)")
                try record.bind(migration.version, at: 1)
                try record.bind(migration.name, at: 2)
                try record.bind(Clock.nowNanoseconds(), at: 3)
                try record.step()
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}

/// Wall-clock time in nanoseconds since the Unix epoch.
public enum Clock {
    public static func nowNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
