import Applications
import CompressNIO
import Foundation
import NIOCore
import Digest
import FileIO
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `query --extract-objects DIR`: every HTTP body of the selected flows (request
/// and response), with the transfer coding removed (chunked) and the content
/// coding too (gzip, deflate through zlib, by compress-nio; others are kept as
/// sent and named in the manifest), one file per object named by its SHA-256,
/// and `manifest.json`, like Wireshark's Export Objects. Files are written with
/// `Extractor`'s path safety (created only inside DIR, never through a symbolic
/// link, never over a file without `--force`).
///
/// Bodies are read from the stored stream of their direction, where the `http`
/// table says they lie; a body the capture cut, or whose bytes were not stored
/// (`--max-bytes-per-flow`), is extracted as far as it goes and marked incomplete.
/// Decoding stops at `maxDecoded` bytes (a small gzip can claim gigabytes).
public struct ObjectExtractor {
    let archive: Archive
    let files: Extractor
    public var maxDecoded = 256 << 20

    public init(archive: Archive, directory: String, force: Bool) throws {
        self.archive = archive
        files = Extractor(reader: try FlowReader(archive: archive), directory: directory, force: force, fillGaps: false)
    }

    /// For `objects(flowIDs:)` alone (the web API), which writes no file.
    public init(archive: Archive) throws {
        try self.init(archive: archive, directory: "", force: false)
    }

    /// One extracted body: its decoded bytes, their SHA-256, and its manifest entry (a JSON object).
    public struct Object: Sendable {
        public var sha256: String
        public var bytes: [UInt8]
        public var manifestEntry: String
    }

    struct Body {
        var flowID: Int64, depth: Int, isRequest: Bool
        var method: String?, host: String?, uri: String?, status: Int?
        var contentType: String?, contentEncoding: String?
        var offset: Int64, wireLength: Int64, chunked: Bool, incomplete: Bool
    }

    /// Extracts the bodies of `flowIDs` into the directory; returns how many objects were written.
    public func extract(flowIDs: [Int64]) throws -> Int {
        let directory = try files.openDirectory()
        defer { _ = Glibc.close(directory) }
        var written = Set<String>()
        var manifest: [String] = []
        try forEachObject(flowIDs: flowIDs) { object in
            manifest.append(object.manifestEntry)
            guard written.insert(object.sha256).inserted else { return }
            _ = try files.writeFile(object.sha256, in: directory) { fd in
                try object.bytes.withUnsafeBytes { try Extractor.write($0, to: fd, path: files.directory + "/" + object.sha256) }
            }
        }
        let text = "{\"objects\":[\n" + manifest.joined(separator: ",\n") + "\n]}\n"
        _ = try files.writeFile("manifest.json", in: directory) { fd in
            try Array(text.utf8).withUnsafeBytes { try Extractor.write($0, to: fd, path: files.directory + "/manifest.json") }
        }
        return written.count
    }

    /// Every HTTP body of `flowIDs`, in flow and transaction order, request before response.
    public func objects(flowIDs: [Int64]) throws -> [Object] {
        var out: [Object] = []
        try forEachObject(flowIDs: flowIDs) { out.append($0) }
        return out
    }

    /// Each HTTP body of `flowIDs` in turn, in flow and transaction order (one in memory at a time).
    public func forEachObject(flowIDs: [Int64], _ visit: (Object) throws -> Void) throws {
        guard archive.version >= 7 else {
            throw QueryError("--extract-objects: this archive records no HTTP (schema version \(archive.version)); `flowdb ingest` upgrades it")
        }
        let s = try archive.connection.prepare("""
            SELECT trans_depth, method, host, uri, status_code, request_content_type, response_content_type,
                   request_headers, response_headers, request_body_offset, request_body_wire_len, response_body_offset,
                   response_body_wire_len, request_chunked, response_chunked, incomplete
            FROM http WHERE flow_id = ? ORDER BY trans_depth
            """)
        var bodies: [Body] = []
        for id in flowIDs {
            s.reset()
            try s.bind(id, at: 1)
            while try s.step() {
                for isRequest in [true, false] {
                    let base: Int32 = isRequest ? 9 : 11
                    guard !s.isNull(base), s.int64(base + 1) > 0 else { continue }
                    let headers = s.text(isRequest ? 7 : 8) ?? "[]"
                    bodies.append(Body(flowID: id, depth: s.int(0), isRequest: isRequest, method: s.text(1), host: s.text(2),
                                       uri: s.text(3), status: s.isNull(4) ? nil : s.int(4),
                                       contentType: s.text(isRequest ? 5 : 6),
                                       contentEncoding: Self.header("content-encoding", in: headers),
                                       offset: s.int64(base), wireLength: s.int64(base + 1),
                                       chunked: s.int(isRequest ? 13 : 14) != 0, incomplete: s.int(15) != 0))
                }
            }
        }
        for b in bodies {
            var (wire, complete) = try read(flowID: b.flowID, dir: b.isRequest ? 0 : 1, from: b.offset, count: b.wireLength)
            var body = wire
            if b.chunked {
                let (dechunked, whole) = Self.dechunk(wire)
                body = dechunked
                complete = complete && whole
            }
            var decoded = body
            var encodingLeft: String?
            if let encoding = b.contentEncoding?.lowercased(), encoding != "identity" {
                if let algorithm: CompressionAlgorithm = encoding == "gzip" || encoding == "x-gzip" ? .gzip()
                    : encoding == "deflate" ? .zlib() : nil, let out = decode(body, algorithm) {
                    decoded = out.bytes
                    complete = complete && out.whole
                } else {
                    encodingLeft = encoding
                }
            }
            let sha = SHA256.hex(decoded)
            func j(_ s: String?) -> String { s.map(Formats.json) ?? "null" }
            try visit(Object(sha256: sha, bytes: decoded, manifestEntry: """
                {"flow_id":\(b.flowID),"trans_depth":\(b.depth),"body":"\(b.isRequest ? "request" : "response")",\
                "method":\(j(b.method)),"host":\(j(b.host)),"uri":\(j(b.uri)),"status_code":\(b.status.map(String.init) ?? "null"),\
                "content_type":\(j(b.contentType)),"content_encoding":\(j(b.contentEncoding)),\
                "encoding_not_removed":\(j(encodingLeft)),"wire_bytes":\(wire.count),"body_bytes":\(body.count),\
                "decoded_bytes":\(decoded.count),"sha256":"\(sha)","file":"\(sha)","incomplete":\(!complete || b.incomplete)}
                """))
        }
    }

    /// The stored bytes of a direction in [from, from + count), and whether all were there.
    func read(flowID: Int64, dir: Int, from start: Int64, count: Int64) throws -> ([UInt8], Bool) {
        let s = try archive.connection.prepare("""
            SELECT stream_offset, data FROM payload WHERE flow_id = ? AND dir = ?
              AND stream_offset < ? AND stream_offset + length(data) > ? ORDER BY stream_offset
            """)
        let end = start + count
        try s.bind(flowID, at: 1)
        try s.bind(dir, at: 2)
        try s.bind(end, at: 3)
        try s.bind(start, at: 4)
        var out: [UInt8] = []
        out.reserveCapacity(Int(min(count, 64 << 20)))
        var next = start
        var whole = true
        while try s.step() {
            let offset = s.int64(0)
            let data = s.blob(1)
            if offset > next { whole = false; break }      // a gap: the body stops here
            let a = Int(next - offset), z = Int(min(end, offset + Int64(data.count)) - offset)
            if a < z { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[a..<z])) }
            next = offset + Int64(z)
        }
        return (out, whole && next >= end)
    }

    /// The body without its chunked framing, and whether the last chunk was seen.
    static func dechunk(_ wire: [UInt8]) -> ([UInt8], Bool) {
        var out: [UInt8] = []
        var i = 0
        while i < wire.count {
            var lineEnd = i
            while lineEnd < wire.count && wire[lineEnd] != 0x0a { lineEnd += 1 }
            guard lineEnd < wire.count, let chunk = HTTPDirectionParser.chunkSize(wire[i...lineEnd]) else { return (out, false) }
            let size = Int(chunk)
            i = lineEnd + 1
            if size == 0 { return (out, true) }
            let take = min(size, wire.count - i)
            out.append(contentsOf: wire[i..<(i + take)])
            if take < size { return (out, false) }
            i += size
            while i < wire.count && (wire[i] == 0x0d || wire[i] == 0x0a) {
                i += 1
                if wire[i - 1] == 0x0a { break }
            }
        }
        return (out, false)
    }

    /// Decompresses with zlib, at most `maxDecoded` bytes; nil when the bytes do not
    /// decode (not of that format, cut, or larger than the limit).
    func decode(_ bytes: [UInt8], _ algorithm: CompressionAlgorithm) -> (bytes: [UInt8], whole: Bool)? {
        var input = ByteBufferAllocator().buffer(bytes: bytes)
        guard let output = try? input.decompress(with: algorithm, maxSize: maxDecoded) else { return nil }
        return (Array(output.readableBytesView), true)
    }

    /// A header's value from the JSON array of [name, value] pairs the http table stores.
    static func header(_ name: String, in json: String) -> String? {
        // The array was written by flowdb: ["name","value"] pairs with JSON escapes.
        guard let data = json.data(using: .utf8),
              let pairs = try? JSONDecoder().decode([[String]].self, from: data) else { return nil }
        return pairs.first { $0.count == 2 && $0[0].lowercased() == name }?[1]
    }
}
