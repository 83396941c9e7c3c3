import Query
import Store

/// One direction's stored payload runs in stream order, read one at a time
/// (the bytes `query --show raw` writes, without --fill-gaps).
final class StreamRuns {
    let archive: Archive
    let statement: Statement

    init(api: ArchiveAPI, path: String, flow id: Int64, dir: Int) throws {
        archive = try api.open(path, timeLimited: false)
        statement = try archive.connection.prepare("SELECT data FROM payload WHERE flow_id = ? AND dir = ? ORDER BY stream_offset")
        try statement.bind(id, at: 1)
        try statement.bind(dir, at: 2)
    }

    func next() throws -> [UInt8]? {
        guard try statement.step() else { return nil }
        return Array(statement.blob(0))
    }
}
