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
        case resync              // after a gap: lines are skipped up to a request or status line
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
            case .resync:
                if isRequest {
                    // Lines up to one that is a request line; what precedes it is lost.
                    let start = i
                    while i < n {
                        let b = bytes[i]
                        i += 1
                        if line.count < Self.maxLine { line.append(b) } else { line = [b] }
                        if b == 0x0a {
                            if Self.beginsMessage(line, isRequest: true) {
                                state = .head       // the head goes on from this line, kept in `line`
                                break
                            }
                            line.removeAll(keepingCapacity: true)
                        }
                    }
                    offset += Int64(i - start)
                } else {
                    // A status line wherever it starts: a body without a line end
                    // may come just before it. `line` carries the last bytes of the
                    // previous call, in case the pattern straddles two.
                    let carry = line.count
                    let window = line + Array(UnsafeRawBufferPointer(rebasing: bytes[i..<n]))
                    if let p = Self.statusLineStart(in: window) {
                        let skipped = max(0, p - carry)
                        line = p < carry ? Array(window[p..<carry]) : []
                        offset += Int64(skipped)
                        i += skipped
                        state = .head
                    } else {
                        offset += Int64(n - i)
                        i = n
                        line = Array(window.suffix(15))
                    }
                }
            case .head:
                // Accumulate up to the blank line.
                let start = i
                var simple = false
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
                    // An HTTP/0.9 request is its request line alone ("GET /"): no
                    // version, no header fields.
                    if b == 0x0a, isRequest, !line.dropLast().contains(0x0a), Self.isSimpleRequest(line) {
                        line.append(0x0a)      // as if the blank line followed
                        simple = true
                        break
                    }
                    if line.count > Self.maxHead { stop(); offset += Int64(n - start); return }
                }
                offset += Int64(i - start)
                guard let last = line.last, last == 0x0a, line.count >= 2,
                      line[line.count - 2] == 0x0a || (line.count >= 4 && line[line.count - 2] == 0x0d && line[line.count - 3] == 0x0a)
                else { continue }     // need more bytes
                // an HTTP/0.9 request's blank line was added here, not read
                let headLength = Int64(line.count - (simple ? 1 : 0))
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

    /// The direction's bytes were interrupted by a gap of `length` bytes (nil:
    /// unknown). Inside a body whose end is known past the gap (a length, a chunk,
    /// the close), the message goes on, incomplete, and so does parsing: the
    /// skipped bytes count as its body. Otherwise the message in progress ends
    /// incomplete, and the bytes after the gap are skipped up to one that begins a
    /// message (a request line at a line start; a status line anywhere), as Zeek and
    /// Suricata do. With no length, parsing stops: stream offsets would be wrong.
    public mutating func gap(length: Int? = nil, end: (HTTPMessage) -> Void) {
        if let length, length > 0, current != nil {
            let n = Int64(length)
            var within = true
            switch state {
            case .body(let remaining) where n < remaining: state = .body(remaining: remaining - n)
            case .chunkData(let remaining) where n < remaining: state = .chunkData(remaining: remaining - n)
            case .untilClose: break
            default: within = false
            }
            if within {
                offset += n
                current?.bodyWireLength += n
                current?.bodyLength += n
                current?.incomplete = true
                return
            }
        }
        if var m = current {
            m.incomplete = true
            current = nil
            end(m)
        }
        line.removeAll()
        guard let length else { stop(); return }
        offset += Int64(max(0, length))
        if case .opaque = state { return }
        state = .resync
    }

    /// The response to an HTTP/0.9 request: no status line, no header fields, the
    /// bytes up to the close. Begins one at the current offset.
    public mutating func beginUnframedResponse(head: (HTTPMessage) -> Void) {
        guard !isRequest, case .head = state, line.isEmpty else { return }
        var m = HTTPMessage(isRequest: false)
        m.version = "0.9"
        m.start = offset
        m.bodyStart = offset
        head(m)
        current = m
        state = .untilClose
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
            guard let request = Self.requestLine(first) else { return nil }
            (m.method, m.uri, m.version) = request
            if m.version == "0.9" { return lines.count == 1 ? m : nil }
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

    /// The longest line skipped while looking for a message after a gap.
    public static let maxLine = 8 * 1024

    /// A request line as Zeek reads one: a method (any token), the target, and
    /// the version after the last " HTTP/" (a target may hold spaces: attack
    /// traffic sends them); without a version, an HTTP/0.9 request ("GET /")
    /// whose version is "0.9". Nil when the line is not a request line.
    public static func requestLine<Line: Collection<UInt8>>(_ line: Line) -> (method: String, uri: String, version: String)? {
        var bytes = Array(line)
        while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
        guard let space = bytes.firstIndex(of: 0x20), space > 0, bytes[..<space].allSatisfy(isTokenByte) else { return nil }
        let method = String(decoding: bytes[..<space], as: UTF8.self)
        var rest = bytes[space...]      // from the space, so that an empty target shows
        let marker = Array(" HTTP/".utf8)
        if let at = lastRange(of: marker, in: rest) {
            let uri = rest[rest.startIndex..<at].drop { $0 == 0x20 }
            let version = rest[(at + marker.count)...]
            guard !uri.isEmpty, let major = version.first, major >= 0x30 && major <= 0x39 else { return nil }
            return (method, String(decoding: uri, as: UTF8.self), String(decoding: version, as: UTF8.self))
        }
        // HTTP/0.9: a method and a path, nothing else
        while rest.first == 0x20 { rest.removeFirst() }
        guard rest.first == UInt8(ascii: "/"), !rest.contains(0x20), rest.allSatisfy({ $0 > 0x20 && $0 < 0x7f }),
              ["GET", "HEAD", "POST"].contains(method) else { return nil }
        return (method, String(decoding: rest, as: UTF8.self), "0.9")
    }

    /// A request line without a version (HTTP/0.9), ended by its line feed.
    static func isSimpleRequest<Line: Collection<UInt8>>(_ line: Line) -> Bool {
        requestLine(line)?.version == "0.9"
    }

    /// Whether `line` (with its line feed) begins a message of this direction: a
    /// request line with a version, or a status line ("HTTP/1.1 200 ...").
    static func beginsMessage(_ line: [UInt8], isRequest: Bool) -> Bool {
        if isRequest {
            guard let request = requestLine(line) else { return false }
            return request.version != "0.9"
        }
        let status = Array("HTTP/".utf8)
        guard line.starts(with: status), let space = line.firstIndex(of: 0x20), line.count >= space + 4 else { return false }
        return line[(space + 1)...(space + 3)].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Where a status line ("HTTP/1.1 200") begins in `bytes`, if one does.
    static func statusLineStart(in bytes: [UInt8]) -> Int? {
        let prefix = Array("HTTP/".utf8)
        guard bytes.count >= 12 else { return nil }
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        for p in 0...(bytes.count - 12) where bytes[p] == 0x48 && bytes[p..<(p + 5)].elementsEqual(prefix) {
            if digit(bytes[p + 5]) && bytes[p + 6] == 0x2e && digit(bytes[p + 7]) && bytes[p + 8] == 0x20
                && digit(bytes[p + 9]) && digit(bytes[p + 10]) && digit(bytes[p + 11]) {
                return p
            }
        }
        return nil
    }

    /// RFC 9110's token characters.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// Where `needle` last begins in `haystack`.
    static func lastRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.endIndex - needle.count
        while i >= haystack.startIndex {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
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
        // an HTTP/0.9 request's response has no status line (unless the server
        // answers with a newer version anyway)
        if nextResponse < transactions.count, transactions[nextResponse].request?.version == "0.9",
           !bytes.starts(with: Array("HTTP/".utf8)) {
            server.beginUnframedResponse { heads.append($0) }
        }
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

    /// A gap of `length` bytes (nil: unknown) in the client's bytes.
    public mutating func clientGap(length: Int? = nil) {
        var ended: [HTTPMessage] = []
        client.gap(length: length) { ended.append($0) }
        for m in ended { updateRequest(m) }
    }

    /// A gap of `length` bytes (nil: unknown) in the server's bytes.
    public mutating func serverGap(length: Int? = nil) {
        var ended: [HTTPMessage] = []
        server.gap(length: length) { ended.append($0) }
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
