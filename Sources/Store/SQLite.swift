import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by SQLite, with the statement that caused it.
public struct SQLiteError: Error, CustomStringConvertible, Equatable {
    public var code: Int32
    public var message: String
    public var sql: String?

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if let sql { text += " (in: \(sql.prefix(120)))" }
        return text
    }
}

/// A thin owner of one SQLite connection through SQLite's C API. flowdb talks to
/// SQLite directly (not through GRDB) because the ingest hot path binds integers
/// and BLOB ranges into prepared statements millions of times: the C API does
/// that without any allocation per row.
public final class SQLiteConnection {
    public let path: String
    let handle: OpaquePointer

    public enum Mode: Sendable { case readOnly, readWrite, readWriteCreate }

    /// Process-wide SQLite settings, applied once before the first connection:
    /// memory statistics off (they take a global mutex on every allocation; the
    /// BLOB insert rate of a plain C test rose from 450 to 610 MB/s without them).
    private static let configured: Bool = {
        _ = flowdb_sqlite_disable_memstatus()
        return true
    }()

    public init(path: String, mode: Mode = .readWriteCreate) throws(SQLiteError) {
        _ = Self.configured
        self.path = path
        var db: OpaquePointer?
        let flags: Int32 = switch mode {
        case .readOnly: SQLITE_OPEN_READONLY
        case .readWrite: SQLITE_OPEN_READWRITE
        case .readWriteCreate: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    deinit {
        sqlite3_progress_handler(handle, 0, nil, nil)
        deadline?.release()
        sqlite3_close_v2(handle)
    }

    /// The monotonic time (ns) past which statements fail with SQLITE_INTERRUPT.
    private var deadline: Unmanaged<DeadlineBox>?

    private final class DeadlineBox {
        let at: UInt64
        init(_ at: UInt64) { self.at = at }
    }

    /// Nanoseconds of the monotonic clock, the time base of `interrupt(after:)`.
    public static func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Throws SQLITE_INTERRUPT once `interrupt(after:)`'s time has passed: for loops
    /// of many short statements, each too short for SQLite to look at the clock.
    public func checkDeadline() throws(SQLiteError) {
        guard let deadline, Self.monotonicNanoseconds() > deadline.takeUnretainedValue().at else { return }
        throw SQLiteError(code: SQLITE_INTERRUPT, message: "interrupted", sql: nil)
    }

    /// Makes every statement stepped more than `nanoseconds` from now fail with
    /// SQLITE_INTERRUPT (a query is cancelled, not left running); nil: no limit.
    /// SQLite asks every 10,000 virtual machine steps.
    public func interrupt(after nanoseconds: UInt64?) {
        sqlite3_progress_handler(handle, 0, nil, nil)
        deadline?.release()
        deadline = nil
        guard let nanoseconds else { return }
        let box = Unmanaged.passRetained(DeadlineBox(Self.monotonicNanoseconds() &+ nanoseconds))
        deadline = box
        sqlite3_progress_handler(handle, 10_000, { context in
            guard let context else { return 0 }
            let box = Unmanaged<DeadlineBox>.fromOpaque(context).takeUnretainedValue()
            return SQLiteConnection.monotonicNanoseconds() > box.at ? 1 : 0
        }, box.toOpaque())
    }

    func error(_ code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, sql: sql)
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// The first column of the first row of a query, as an integer.
    public func scalar(_ sql: String, _ values: SQLiteValue...) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        for (i, v) in values.enumerated() { try statement.bind(v, at: Int32(i + 1)) }
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A prepared statement. Reset and reuse it; binding and stepping allocate nothing.
public final class Statement {
    let connection: SQLiteConnection
    let handle: OpaquePointer
    public let sql: String

    init(connection: SQLiteConnection, sql: String) throws(SQLiteError) {
        self.connection = connection
        self.sql = sql
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.error(rc, sql: sql) }
        handle = statement
    }

    deinit {
        sqlite3_finalize(handle)
    }

    @inline(__always)
    func check(_ rc: Int32) throws(SQLiteError) {
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    public func bind(_ value: Int, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, Int64(value)))
    }

    /// Binds text up to its first NUL, as a C string would (SQLite copies it).
    /// A native string's UTF-8 is bound where it lies: no C string is made for it
    /// (an allocation per bind on the writer thread, 500,000 per 100,000 flows).
    public func bind(_ value: String, at index: Int32) throws(SQLiteError) {
        var value = value
        let rc = value.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            return bindText(UnsafeRawBufferPointer(rebasing: raw[..<(raw.firstIndex(of: 0) ?? raw.count)]), at: index,
                            flowdb_sqlite_transient())
        }
        try check(rc)
    }

    /// Binds bytes that SQLite copies at once (the buffer may be reused afterwards).
    public func bind(bytes: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_blob64(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(bytes.count), flowdb_sqlite_transient()))
    }

    /// Binds bytes without copying them: they must stay valid and unchanged until
    /// the statement is stepped and reset (for large payload, one copy fewer).
    public func bind(borrowing bytes: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_blob64(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(bytes.count), flowdb_sqlite_static()))
    }

    /// Binds UTF-8 text, copied by SQLite.
    public func bind(text: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        try check(bindText(text, at: index, flowdb_sqlite_transient()))
    }

    /// Binds UTF-8 text without copying it, under the same rule as `bind(borrowing:at:)`.
    public func bind(borrowingText text: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        try check(bindText(text, at: index, flowdb_sqlite_static()))
    }

    private func bindText(_ text: UnsafeRawBufferPointer, at index: Int32, _ destructor: sqlite3_destructor_type?) -> Int32 {
        let start = text.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? UnsafePointer(bitPattern: 1)
        return sqlite3_bind_text64(handle, index, start, UInt64(text.count), destructor, UInt8(SQLITE_UTF8))
    }

    /// Binds `values` to parameters 1, 2, ...
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    /// Binds `value`, or NULL when there is none.
    public func bind(_ value: Int64?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    public func bind(_ value: Int?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    public func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds 1 or 0.
    public func bind(_ value: Bool, at index: Int32) throws(SQLiteError) {
        try bind(Int64(value ? 1 : 0), at: index)
    }

    public func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let v): try bind(v, at: index)
        case .real(let v): try check(sqlite3_bind_double(handle, index, v))
        case .text(let v): try bind(v, at: index)
        case .blob(let v):
            let rc = v.withUnsafeBytes { b in
                sqlite3_bind_blob64(handle, index, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(b.count), flowdb_sqlite_transient())
            }
            try check(rc)
        }
    }

    /// Steps once: true when a row is available, false when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Makes the statement ready to run again; bindings stay unless rebound.
    public func reset() {
        sqlite3_reset(handle)
    }

    public func clearBindings() {
        sqlite3_clear_bindings(handle)
    }

    public var columnCount: Int32 { sqlite3_column_count(handle) }

    public func columnName(_ i: Int32) -> String { String(cString: sqlite3_column_name(handle, i)) }

    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(handle, i) == SQLITE_NULL }

    public func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }

    public func int(_ i: Int32) -> Int { Int(sqlite3_column_int64(handle, i)) }

    public func double(_ i: Int32) -> Double { sqlite3_column_double(handle, i) }

    public func text(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, i) else { return nil }
        return String(cString: p)
    }

    /// The column's bytes, valid until the next step or reset.
    public func blob(_ i: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_blob(handle, i)
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i)))
    }

    /// The column as a value, for generic readers (tests, CSV/JSON output).
    public func value(_ i: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: .integer(int64(i))
        case SQLITE_FLOAT: .real(double(i))
        case SQLITE_TEXT: .text(text(i) ?? "")
        case SQLITE_BLOB: .blob(Array(blob(i)))
        default: .null
        }
    }
}
