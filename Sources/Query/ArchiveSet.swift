import Dispatch
import FileIO
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Several archives asked one question: each sensor's, or each period's. Every
/// archive is read on its own connection, in parallel; the results are merged in
/// time order, each row naming its archive by file name (its `id` is the
/// archive's own). An archive whose captures' time span misses the filter's
/// `since`/`until` is not searched.
public struct ArchiveSet: Sendable {
    /// The archives' paths, in the order given (a directory's in name order).
    public let paths: [String]

    /// Expands each argument: a directory stands for every archive in it (`*.sqlite`,
    /// not hidden), a file for itself. A name given twice counts once.
    public init(_ arguments: [String]) throws(QueryError) {
        var out: [String] = []
        for argument in arguments {
            // a name that is not there is an archive that is not there: opening it says so
            if isDirectory(argument) {
                let names = directoryEntries(argument).filter { $0.hasSuffix(".sqlite") && !$0.hasPrefix(".") }
                let base = argument.hasSuffix("/") ? argument : argument + "/"
                out += names.sorted().map { base + $0 }
            } else {
                out.append(argument)
            }
        }
        var seen = Set<String>()
        paths = out.filter { seen.insert($0).inserted }
    }

    /// Whether `arguments` (as `--db` takes them) name several archives: more than
    /// one, or a directory (whose archives may come and go). Flows are then `ARCHIVE:ID`.
    public static func namesSeveral(_ arguments: [String]) -> Bool {
        arguments.count > 1 || arguments.contains(where: isDirectory)
    }

    /// An archive's name in results: its file name.
    public static func name(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// One flow of one archive.
    public struct Row: Sendable {
        public var archive: String
        public var path: String
        public var flow: FlowRecord
    }

    /// The captures' time span of an archive (nil: no packet yet), read from its
    /// few `capture` rows, not its flows.
    static func span(_ archive: Archive) throws -> (Int64, Int64)? {
        let s = try archive.connection.prepare("SELECT min(first_ts), max(last_ts) FROM capture")
        guard try s.step(), !s.isNull(0), !s.isNull(1) else { return nil }
        return (s.int64(0), s.int64(1))
    }

    /// The flows of every archive matching `filter` (and `needle`), merged in time
    /// order (first packet; then archive and id). `flowRefs`, when given, name the
    /// flows by archive: only those archives are read, each for its own ids.
    /// `more` tells whether `limit` cut the list.
    public func flows(_ filter: FlowFilter, containing needle: [UInt8]? = nil, limit: Int? = nil,
                      flowRefs: [(archive: String, id: Int64)] = []) throws -> (rows: [Row], more: Bool, searched: Int) {
        let wanted = flowRefs.isEmpty ? nil : Dictionary(grouping: flowRefs, by: \.archive).mapValues { $0.map(\.id) }
        if let wanted {
            for name in wanted.keys where !paths.contains(where: { Self.name($0) == name }) {
                throw QueryError("--flow \(name):…: no archive of that name among those given")
            }
        }
        let targets = paths.filter { wanted == nil || wanted![Self.name($0)] != nil }
        let results = Results(count: targets.count)
        DispatchQueue.concurrentPerform(iterations: targets.count) { i in
            let path = targets[i]
            do {
                let archive = try Archive(path: path, create: false)
                var f = filter
                if let ids = wanted?[Self.name(path)] { f.flowIDs = ids }
                if f.since != nil || f.until != nil {
                    guard let (first, last) = try Self.span(archive) else { results.set(i, .success(([], false, false))); return }
                    if let since = f.since, last < since { results.set(i, .success(([], false, false))); return }
                    if let until = f.until, first > until { results.set(i, .success(([], false, false))); return }
                }
                let (found, more) = try FlowQuery(archive: archive).flows(f, containing: needle, limit: limit, byTime: true)
                results.set(i, .success((found.map { Row(archive: Self.name(path), path: path, flow: $0) }, more, true)))
            } catch let error as QueryError {
                results.set(i, .failure(QueryError("\(path): \(error.description)")))
            } catch {
                results.set(i, .failure(QueryError("\(path): \(error)")))
            }
        }
        var rows: [Row] = []
        var more = false, searched = 0
        for r in results.values {
            let (found, cut, wasSearched) = try r!.get()
            rows += found
            more = more || cut
            if wasSearched { searched += 1 }
        }
        rows.sort { ($0.flow.firstTimestamp, $0.archive, $0.flow.id) < ($1.flow.firstTimestamp, $1.archive, $1.flow.id) }
        if let limit, rows.count > limit {
            rows.removeLast(rows.count - limit)
            more = true
        }
        return (rows, more, searched)
    }

    /// Per-archive results, filled from the worker threads.
    private final class Results: @unchecked Sendable {
        private let lock = NSLockLike()
        private(set) var values: [Result<([Row], Bool, Bool), QueryError>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Result<([Row], Bool, Bool), QueryError>) {
            lock.locked { values[i] = value }
        }
    }
}

/// A pthread mutex (Foundation's NSLock without Foundation).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
