/// HTTP/1.0 and 1.1 read from the two directions of a reassembled connection as
/// their bytes arrive: requests and responses, paired into transactions as Zeek's
/// http.log pairs them (keep-alive, pipelining, `100 Continue`, chunked bodies,
/// bodies delimited by the close, HEAD and 304 without bodies, CONNECT tunnels).
///
/// Bodies are not kept: a message records where its body lies in its direction's
/// stream, and how many body bytes it has after removing the chunked coding
/// (Zeek's `request_body_len` / `response_body_len`). Headers are bounded: a head
/// longer than `maxHead` bytes or with more than `maxHeaders` fields ends the
/// parsing of that direction, as does anything that is not HTTP.

/// One request or response.
public struct HTTPMessage: Sendable, Equatable {
    public var isRequest: Bool
    public var method = "", uri = "", version = ""
    public var statusCode = 0, reason = ""
    /// Header fields in order, names as sent.
    public var headers: [(name: String, value: String)] = []
    /// Stream offset of the message's first byte, and of its body's first byte.
    public var start: Int64 = 0
    public var bodyStart: Int64 = 0
    /// Body bytes on the wire (chunk framing included), and after removing the
    /// chunked coding.
    public var bodyWireLength: Int64 = 0
    public var bodyLength: Int64 = 0
    public var chunked = false
    /// A gap or the end of the capture cut it.
    public var incomplete = false

    /// The first value of a header field (names compared without case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }

    public static func == (a: HTTPMessage, b: HTTPMessage) -> Bool {
        a.isRequest == b.isRequest && a.method == b.method && a.uri == b.uri && a.version == b.version
            && a.statusCode == b.statusCode && a.reason == b.reason
            && a.headers.map { $0.name + ":" + $0.value } == b.headers.map { $0.name + ":" + $0.value }
            && a.start == b.start && a.bodyStart == b.bodyStart && a.bodyWireLength == b.bodyWireLength
            && a.bodyLength == b.bodyLength && a.chunked == b.chunked && a.incomplete == b.incomplete
    }
}

/// A request with its response (nil when none came), in request order.
public struct HTTPTransaction: Sendable, Equatable {
    /// 1-based position in the connection (Zeek's `trans_depth`).
    public var depth: Int
    public var request: HTTPMessage?
    public var response: HTTPMessage?
    /// Interim (1xx) responses before the final one.
    public var informational: [Int] = []
}

/// Parses one direction of HTTP/1.x as its bytes arrive.
public struct HTTPDirectionParser: Sendable {
    public static let maxHead = 64 * 1024
    public static let maxHeaders = 256

    enum State: Sendable, Equatable {
        case head
        case body(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkEnd            // the CR LF after a chunk's data
        case trailers
        case untilClose
        case opaque              // a tunnel, or not HTTP: bytes are ignored
    }

    let isRequest: Bool
    var state = State.head
    /// Bytes of the head or the line being read.
    var line: [UInt8] = []
    /// The stream offset of the next byte.
    public private(set) var offset: Int64 = 0
    /// The message being read (head parsed, body in progress).
    var current: HTTPMessage?
    /// Whether the direction stopped parsing (not HTTP, or past the limits).
    public private(set) var stopped = false

    public init(isRequest: Bool) {
        self.isRequest = isRequest
    }

    /// What the parser needs to know of the other side to frame a response's body.
    public typealias BodyRule = (_ response: HTTPMessage) -> ResponseBody
    public enum ResponseBody: Sendable { case none, normal, tunnel }

    /// Feeds bytes; `emit` receives each message when its head is parsed
    /// (`headParsed`) and when it ends.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, bodyRule: BodyRule,
                              head: (HTTPMessage) -> Void, end: (HTTPMessage) -> Void) {
        var i = 0
        let n = bytes.count
        while i < n {
            switch state {
            case .opaque:
                offset += Int64(n - i)
                return
            case .head:
                // Accumulate up to the blank line.
                let start = i
                while i < n {
                    let b = bytes[i]
                    line.append(b)
                    i += 1
                    // Empty lines between messages are allowed (RFC 9112 2.2).
                    if b == 0x0a && line.count <= 2 && (line.count == 1 || line[0] == 0x0d) {
                        line.removeAll(keepingCapacity: true)
                        continue
                    }
                    if b == 0x0a, line.count >= 2,
                       (line.count >= 4 && line[line.count - 4] == 0x0d && line[line.count - 3] == 0x0a && line[line.count - 2] == 0x0d)
                        || line[line.count - 2] == 0x0a {
                        break
                    }
                    if line.count > Self.maxHead { stop(); offset += Int64(n - start); return }
                }
                offset += Int64(i - start)
                guard let last = line.last, last == 0x0a, line.count >= 2,
                      line[line.count - 2] == 0x0a || (line.count >= 4 && line[line.count - 2] == 0x0d && line[line.count - 3] == 0x0a)
                else { continue }     // need more bytes
                let headLength = Int64(line.count)
                guard var message = parseHead(line) else { stop(); offset += Int64(n - i); return }
                line.removeAll(keepingCapacity: true)
                message.start = offset - headLength
                message.bodyStart = offset
                beginBody(&message, bodyRule: bodyRule)
                head(message)
                if case .head = state { end(message) } else { current = message }
            case .body(let remaining):
                let take = min(Int64(n - i), remaining)
                i += Int(take)
                offset += take
                current?.bodyWireLength += take
                current?.bodyLength += take
                if take == remaining { finishMessage(end) } else { state = .body(remaining: remaining - take) }
            case .untilClose:
                let take = Int64(n - i)
                i = n
                offset += take
                current?.bodyWireLength += take
                current?.bodyLength += take
            case .chunkSize, .chunkEnd, .trailers:
                let b = bytes[i]
                i += 1
                offset += 1
                current?.bodyWireLength += 1
                line.append(b)
                if line.count > 1024 { stop(); offset += Int64(n - i); return }
                guard b == 0x0a else { continue }
                let text = line
                line.removeAll(keepingCapacity: true)
                switch state {
                case .chunkSize:
                    guard let size = Self.chunkSize(text) else { stop(); offset += Int64(n - i); return }
                    state = size == 0 ? .trailers : .chunkData(remaining: size)
                case .chunkEnd:
                    state = .chunkSize
                default:        // trailers end at an empty line
                    if text.count <= 2 { finishMessage(end) }
                }
            case .chunkData(let remaining):
                let take = min(Int64(n - i), remaining)
                i += Int(take)
                offset += take
                current?.bodyWireLength += take
                current?.bodyLength += take
                state = take == remaining ? .chunkEnd : .chunkData(remaining: remaining - take)
            }
        }
    }

    /// The direction's bytes were interrupted (a gap): the message in progress is
    /// incomplete, and parsing stops (the framing is lost).
    public mutating func gap(end: (HTTPMessage) -> Void) {
        if var m = current {
            m.incomplete = true
            current = nil
            end(m)
        } else if !line.isEmpty, case .head = state {
            line.removeAll()
        }
        stop()
    }

    /// The direction ended: a body delimited by the close ends here; anything
    /// else in progress is incomplete.
    public mutating func close(end: (HTTPMessage) -> Void) {
        guard var m = current else { return }
        current = nil
        if state != .untilClose { m.incomplete = true }
        end(m)
        state = .opaque
    }

    mutating func stop() {
        stopped = true
        state = .opaque
        line = []
    }

    mutating func finishMessage(_ end: (HTTPMessage) -> Void) {
        if let m = current { end(m) }
        current = nil
        state = .head
    }

    mutating func beginBody(_ m: inout HTTPMessage, bodyRule: BodyRule) {
        if !isRequest {
            switch bodyRule(m) {
            case .none:
                state = .head
                return
            case .tunnel:
                state = .opaque
                return
            case .normal:
                break
            }
        }
        if let te = m.header("transfer-encoding"), te.lowercased().contains("chunked") {
            m.chunked = true
            state = .chunkSize
        } else if let cl = m.header("content-length") {
            guard let length = Int64(cl.trimmingCharacters(in: " \t")), length >= 0 else {
                state = .opaque
                stopped = true
                return
            }
            state = length == 0 ? .head : .body(remaining: length)
        } else {
            // A request without a length has no body; a response runs to the close.
            state = isRequest ? .head : .untilClose
        }
    }

    /// Request line or status line, then header fields.
    func parseHead(_ bytes: [UInt8]) -> HTTPMessage? {
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).map { l -> ArraySlice<UInt8> in
            l.last == 0x0d ? l.dropLast() : l
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first, lines.count - 1 <= Self.maxHeaders else { return nil }
        let parts = first.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: true)
        var m = HTTPMessage(isRequest: isRequest)
        if isRequest {
            guard parts.count == 3, parts[2].starts(with: Array("HTTP/".utf8)),
                  parts[0].allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || $0 == 0x2d || $0 == 0x5f }) else { return nil }
            m.method = String(decoding: parts[0], as: UTF8.self)
            m.uri = String(decoding: parts[1], as: UTF8.self)
            m.version = String(decoding: parts[2].dropFirst(5), as: UTF8.self)
        } else {
            guard parts.count >= 2, parts[0].starts(with: Array("HTTP/".utf8)),
                  parts[1].count == 3, let code = Int(String(decoding: parts[1], as: UTF8.self)) else { return nil }
            m.version = String(decoding: parts[0].dropFirst(5), as: UTF8.self)
            m.statusCode = code
            m.reason = parts.count > 2 ? String(decoding: parts[2], as: UTF8.self) : ""
        }
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: UInt8(ascii: ":")) else {
                // an obsolete continuation line joins the previous field
                if let f = l.first, f == 0x20 || f == 0x09, !m.headers.isEmpty {
                    m.headers[m.headers.count - 1].value += " " + String(decoding: l, as: UTF8.self).trimmingCharacters(in: " \t")
                    continue
                }
                return nil
            }
            let name = String(decoding: l[l.startIndex..<colon], as: UTF8.self)
            let value = String(decoding: l[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: " \t")
            m.headers.append((name, value))
        }
        return m
    }

    /// The size of a chunk-size line (hex, extensions after ';' ignored).
    public static func chunkSize<Line: Collection<UInt8>>(_ line: Line) -> Int64? {
        var value: Int64 = 0
        var digits = 0
        for b in line {
            let d: Int64
            switch b {
            case 0x30...0x39: d = Int64(b - 0x30)
            case 0x41...0x46: d = Int64(b - 0x41 + 10)
            case 0x61...0x66: d = Int64(b - 0x61 + 10)
            default:
                guard digits > 0, b == 0x3b || b == 0x0d || b == 0x0a || b == 0x20 || b == 0x09 else { return nil }
                return value
            }
            digits += 1
            guard digits <= 15 else { return nil }
            value = value * 16 + d
        }
        return digits > 0 ? value : nil
    }
}

/// Both directions of one connection, with requests and responses paired.
public struct HTTPConnection: Sendable {
    public var client = HTTPDirectionParser(isRequest: true)
    public var server = HTTPDirectionParser(isRequest: false)
    /// Transactions in request order; those whose response ended are complete.
    public private(set) var transactions: [HTTPTransaction] = []
    /// Index of the first transaction still waiting for its final response.
    var nextResponse = 0

    public init() {}

    /// Whether either direction looked like HTTP.
    public var isHTTP: Bool { !transactions.isEmpty }

    /// Drops the first `n` transactions (already recorded); depths go on counting.
    public mutating func forget(_ n: Int) {
        let k = min(n, transactions.count)
        transactions.removeFirst(k)
        nextResponse = max(0, nextResponse - k)
        forgotten += k
    }

    /// Transactions dropped by `forget`.
    var forgotten = 0

    public mutating func feedClient(_ bytes: UnsafeRawBufferPointer) {
        var added: [HTTPMessage] = []
        var ended: [HTTPMessage] = []
        client.feed(bytes, bodyRule: { _ in .normal }, head: { added.append($0) }, end: { ended.append($0) })
        for m in added { transactions.append(HTTPTransaction(depth: forgotten + transactions.count + 1, request: m)) }
        for m in ended { updateRequest(m) }
    }

    public mutating func feedServer(_ bytes: UnsafeRawBufferPointer) {
        var heads: [HTTPMessage] = []
        var ended: [HTTPMessage] = []
        let transactions = self.transactions
        var pending = nextResponse
        server.feed(bytes, bodyRule: { response in
            let request = pending < transactions.count ? transactions[pending].request : nil
            let method = request?.method ?? "GET"
            if response.statusCode >= 100 && response.statusCode < 200 { return .none }
            pending += 1
            if method == "HEAD" || response.statusCode == 204 || response.statusCode == 304 { return .none }
            if method == "CONNECT" && response.statusCode >= 200 && response.statusCode < 300 { return .tunnel }
            return .normal
        }, head: { heads.append($0) }, end: { ended.append($0) })
        for m in heads { attachResponseHead(m) }
        for m in ended { updateResponse(m) }
        if case .opaque = server.state, !server.stopped { client.state = .opaque }      // a tunnel both ways
    }

    public mutating func clientGap() {
        var ended: [HTTPMessage] = []
        client.gap { ended.append($0) }
        for m in ended { updateRequest(m) }
    }

    public mutating func serverGap() {
        var ended: [HTTPMessage] = []
        server.gap { ended.append($0) }
        for m in ended { updateResponse(m) }
    }

    /// The connection ended: bodies delimited by the close end; messages cut are incomplete.
    public mutating func close() {
        var ended: [HTTPMessage] = []
        client.close { ended.append($0) }
        for m in ended { updateRequest(m) }
        ended = []
        server.close { ended.append($0) }
        for m in ended { updateResponse(m) }
    }

    mutating func updateRequest(_ m: HTTPMessage) {
        if let i = transactions.lastIndex(where: { $0.request?.start == m.start }) { transactions[i].request = m }
    }

    mutating func attachResponseHead(_ m: HTTPMessage) {
        if m.statusCode >= 100 && m.statusCode < 200 {
            if nextResponse < transactions.count { transactions[nextResponse].informational.append(m.statusCode) }
            return
        }
        if nextResponse >= transactions.count {
            // a response without a request seen (the request was lost)
            transactions.append(HTTPTransaction(depth: forgotten + transactions.count + 1, request: nil))
        }
        transactions[nextResponse].response = m
        nextResponse += 1
    }

    mutating func updateResponse(_ m: HTTPMessage) {
        guard !(m.statusCode >= 100 && m.statusCode < 200) else { return }
        if let i = transactions.lastIndex(where: { $0.response?.start == m.start && $0.response?.statusCode == m.statusCode }) {
            transactions[i].response = m
        }
    }
}

extension String {
    /// The text without leading and trailing characters of `set` (ASCII only).
    func trimmingCharacters(in set: String) -> String {
        let drop = Set(set.utf8)
        let bytes = Array(utf8)
        var a = 0, z = bytes.count
        while a < z && drop.contains(bytes[a]) { a += 1 }
        while z > a && drop.contains(bytes[z - 1]) { z -= 1 }
        return String(decoding: bytes[a..<z], as: UTF8.self)
    }
}
