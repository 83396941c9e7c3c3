import Foundation
import Testing
import TestSupport
import Applications

/// Every request and response tshark finds in the HTTP captures of ../shared
/// (Tests/Fixtures/http/tshark-http.tsv, by scripts/http-tshark-fields.sh) is
/// found by flowdb's HTTP parser over the reassembled streams, with the same
/// fields. (The two ARCNET captures are left out: flowdb does not decode ARCNET.)
@Suite struct HTTPTests {
    static let captures = ["ja4/http1.pcapng", "ja4/http1-with-cookies.pcapng", "ja4/http-empty-useragent.pcap",
                           "ja4/https-connect.pcap", "tcpdump-tests/ipv4_tcp_http_xml.pcap",
                           "tcpdump-tests/ipv4_tcp_http_xml_tso.pcap"]

    /// One message as tshark printed it: the fields compared.
    static func expected() throws -> [String: [String: (requests: [[String]], responses: [[String]])]] {
        var out: [String: [String: (requests: [[String]], responses: [[String]])]] = [:]
        let text = try String(contentsOfFile: Paths.fixture("http/tshark-http.tsv"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 15 else { continue }
            let isRequest = !f[5].isEmpty
            // keyed by the client's view
            let key = isRequest ? "\(f[1]) \(f[2]) \(f[3]) \(f[4])" : "\(f[3]) \(f[4]) \(f[1]) \(f[2])"
            var entry = out[f[0], default: [:]][key] ?? ([], [])
            if isRequest {
                entry.requests.append([f[5], f[6], f[7], f[8], f[9], f[10], f[14]])
            } else {
                entry.responses.append([f[7], f[11], f[12], f[13], f[14]])
            }
            out[f[0], default: [:]][key] = entry
        }
        return out
    }

    @Test func requestsAndResponsesEqualTshark() throws {
        let expected = try Self.expected()
        var requests = 0, responses = 0
        for name in Self.captures {
            let connections = try #require(expected[name], "\(name) not in the tshark fixture")
            var seen = 0
            for f in try Streams(Paths.capture(name), limit: 1 << 22).flows {
                let key = "\(f.client) \(f.clientPort) \(f.server) \(f.serverPort)"
                guard let t = connections[key] else { continue }
                seen += 1
                var http = HTTPConnection()
                f.bytes[0].withUnsafeBytes { http.feedClient($0) }
                f.bytes[1].withUnsafeBytes { http.feedServer($0) }
                http.close()
                let ours = http.transactions
                let ourRequests = ours.compactMap(\.request).map { m in
                    [m.method, m.uri, "HTTP/" + m.version, m.header("host") ?? "", m.header("user-agent") ?? "",
                     m.header("referer") ?? "", m.header("content-length") != nil ? String(m.bodyLength) : ""]
                }
                let ourResponses = ours.compactMap(\.response).map { m in
                    ["HTTP/" + m.version, String(m.statusCode), m.reason, m.header("content-type") ?? "",
                     m.header("content-length") != nil ? String(m.bodyLength) : ""]
                }
                // tshark gives no length for a chunked body; its chunks (http.chunk_size) were 300 and 0
                if key == "192.168.1.100 40978 104.18.20.64 80" {
                    #expect(ours.first?.response?.chunked == true && ours.first?.response?.bodyLength == 300)
                }
                #expect(ourRequests == t.requests, "\(name) \(key)")
                #expect(ourResponses == t.responses, "\(name) \(key)")
                requests += t.requests.count
                responses += t.responses.count
            }
            #expect(seen == connections.count, "\(name): \(seen) of \(connections.count) connections found")
        }
        #expect(requests == 60 && responses == 60, "\(requests) requests, \(responses) responses compared")
    }
}

/// The cases real captures rarely hold, on crafted exchanges; each fed whole and
/// one byte at a time, with the same result.
@Suite struct HTTPCraftedTests {
    static func run(_ client: String, _ server: String, byteByByte: Bool = false) -> [HTTPTransaction] {
        var http = HTTPConnection()
        let c = Array(client.utf8), s = Array(server.utf8)
        if byteByByte {
            for b in c { [b].withUnsafeBytes { http.feedClient($0) } }
            for b in s { [b].withUnsafeBytes { http.feedServer($0) } }
        } else {
            c.withUnsafeBytes { http.feedClient($0) }
            s.withUnsafeBytes { http.feedServer($0) }
        }
        http.close()
        return http.transactions
    }

    static func both(_ client: String, _ server: String) -> [HTTPTransaction] {
        let whole = run(client, server), bytes = run(client, server, byteByByte: true)
        #expect(whole == bytes)
        return whole
    }

    @Test func pipelinedKeepAliveWithHeadAnd304() {
        let t = Self.both(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"e\"\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n")
        #expect(t.map(\.depth) == [1, 2, 3])
        #expect(t.map { $0.request?.uri } == ["/a", "/b", "/c"])
        #expect(t.map { $0.response?.statusCode } == [200, 200, 304])
        #expect(t.map { $0.response?.bodyLength } == [5, 0, 0])       // HEAD: the length announced is not sent
        #expect(t.allSatisfy { $0.response?.incomplete == false })
    }

    @Test func continueChunkedAndTrailers() {
        let t = Self.both(
            "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nT: v\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        #expect(t.count == 1)
        #expect(t[0].informational == [100])
        #expect(t[0].request?.chunked == true && t[0].request?.bodyLength == 7)
        #expect(t[0].request?.bodyWireLength == Int64("4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nT: v\r\n\r\n".utf8.count))
        #expect(t[0].response?.statusCode == 201 && t[0].response?.bodyLength == 2)
        let requestHead = "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(t[0].request?.bodyStart == Int64(requestHead.utf8.count))
        #expect(t[0].response?.start == Int64("HTTP/1.1 100 Continue\r\n\r\n".utf8.count))
    }

    @Test func bodyDelimitedByTheClose() {
        let t = Self.both("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this")
        #expect(t[0].response?.bodyLength == 11 && t[0].response?.incomplete == false)
    }

    @Test func connectTunnelStopsParsing() {
        let t = Self.both("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\u{16}\u{3}\u{1}binary",
                          "HTTP/1.1 200 Connection established\r\n\r\n\u{16}\u{3}\u{3}more")
        #expect(t.count == 1)
        #expect(t[0].request?.method == "CONNECT" && t[0].response?.statusCode == 200)
    }

    @Test func cutBodyIsIncomplete() {
        var http = HTTPConnection()
        Array("GET / HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { http.feedClient($0) }
        Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this".utf8).withUnsafeBytes { http.feedServer($0) }
        http.serverGap()
        #expect(http.transactions[0].response?.incomplete == true)
        #expect(http.transactions[0].response?.bodyLength == 9)
        var closed = HTTPConnection()
        Array("GET / HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { closed.feedClient($0) }
        Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this".utf8).withUnsafeBytes { closed.feedServer($0) }
        closed.close()
        #expect(closed.transactions[0].response?.incomplete == true)
    }

    @Test func notHTTPIsNotParsed() {
        let t = Self.both("\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}", "SSH-2.0-x\r\n")
        #expect(t.isEmpty)
        var huge = HTTPConnection()
        let head = "GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 20000)
        Array(head.utf8).withUnsafeBytes { huge.feedClient($0) }
        #expect(huge.client.stopped && huge.transactions.isEmpty)
    }
}

/// HTTP that peers still parse (issue 25, item 7): any token as a method, targets
/// with spaces, HTTP/0.9, and the next message found again after a gap.
@Suite struct HTTPLeniencyTests {
    /// `server` with `gap` bytes missing after its first `cut` bytes.
    static func both(_ client: String, _ server: String, cut: Int? = nil, gap: Int = 0) -> [HTTPTransaction] {
        var http = HTTPConnection()
        Array(client.utf8).withUnsafeBytes { http.feedClient($0) }
        let bytes = Array(server.utf8)
        if let cut {
            bytes[..<cut].withUnsafeBytes { http.feedServer($0) }
            http.serverGap(length: gap)
            bytes[(cut + gap)...].withUnsafeBytes { http.feedServer($0) }
        } else {
            bytes.withUnsafeBytes { http.feedServer($0) }
        }
        http.close()
        return http.transactions
    }

    @Test func anyTokenIsAMethod() {
        let t = Self.both("PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\nX-Custom_1 /y HTTP/1.0\r\n\r\n",
                          "HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(t.map { $0.request?.method } == ["PROPFIND", "X-Custom_1"])
        #expect(t.map { $0.response?.statusCode } == [207, 200])
    }

    /// Zeek's reading: the method, the target up to the last " HTTP/", the version.
    @Test func targetWithSpaces() {
        let t = Self.both("GET /a b/../c HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1 HTTP/1.1\r\n\r\n",
                          "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        #expect(t.map { $0.request?.uri } == ["/a b/../c", "/x HTTP/1.1"])
        #expect(t.map { $0.request?.version } == ["1.1", "1.1"])
        #expect(t[0].request?.header("host") == "h")
        #expect(HTTPDirectionParser.requestLine(Array("GET  HTTP/1.1".utf8)) == nil)      // no target
        #expect(HTTPDirectionParser.requestLine(Array("G\"T / HTTP/1.1".utf8)) == nil)    // not a token
    }

    /// A request line alone, no version: the response has no status line and runs to the close.
    @Test func http09() {
        let t = Self.both("GET /old\r\n", "<html>old</html>")
        #expect(t.count == 1)
        #expect(t[0].request?.method == "GET" && t[0].request?.uri == "/old" && t[0].request?.version == "0.9")
        #expect(t[0].request?.headers.isEmpty == true && t[0].request?.bodyStart == 10)
        #expect(t[0].response?.version == "0.9" && t[0].response?.statusCode == 0)
        #expect(t[0].response?.bodyLength == 16 && t[0].response?.incomplete == false)
        // a server that answers a version-less request with a status line is read as such
        let newer = Self.both("GET /\r\n", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        #expect(newer[0].response?.statusCode == 400)
        // SMTP's greeting lines are not requests
        #expect(HTTPDirectionParser.requestLine(Array("EHLO mail.example".utf8)) == nil)
    }

    /// A gap inside the first response's body, shorter than what the body has
    /// left: the body goes on past it (incomplete), and so does parsing (it used to stop).
    @Test func gapInsideABodyKeepsTheFraming() {
        let client = "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123"
        let server = first + "456789" + "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc"
            + "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
        let t = Self.both(client, server, cut: first.utf8.count, gap: 4)
        #expect(t.count == 3)
        #expect(t.map { $0.response?.statusCode } == [200, 201, 202])
        #expect(t.map { $0.response?.incomplete } == [true, false, false])
        #expect(t.map { $0.response?.bodyLength } == [10, 3, 0])
        #expect(t[1].response?.start == Int64(first.utf8.count + 6))
    }

    /// A gap that runs past the end of a body into the next head: the responses
    /// after it are found again at their status lines, even where a body without a
    /// line end runs into one.
    @Test func responsesAfterAGapAreFound() {
        let client = "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n"
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123"
        let lost = "456789HTTP/1.1 201 Cre"
        let rest = "ated\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
            + "HTTP/1.1 203 OK\r\nContent-Length: 1\r\n\r\nz"
        let t = Self.both(client, first + lost + rest, cut: first.utf8.count, gap: lost.utf8.count)
        #expect(t.count == 4)
        // the 201's head was lost: its bytes are skipped; 202 and 203 follow in order,
        // paired with the requests in order (as Zeek pairs them)
        #expect(t.map { $0.response?.statusCode } == [200, 202, 203, nil])
        #expect(t[0].response?.incomplete == true && t[1].response?.incomplete == false)
        #expect(t[1].response?.start == Int64((first + lost + "ated\r\nContent-Length: 3\r\n\r\nabc").utf8.count))
        #expect(t[2].response?.bodyLength == 1)
    }

    @Test func requestsAfterAGapAreFound() {
        var http = HTTPConnection()
        let first = "POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\nfirst part"
        Array(first.utf8).withUnsafeBytes { http.feedClient($0) }
        http.clientGap(length: 200)      // past the body's end: its framing is lost
        Array("tail of the body\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n".utf8).withUnsafeBytes { http.feedClient($0) }
        #expect(http.transactions.map { $0.request?.uri } == ["/a", "/b"])
        #expect(http.transactions.map { $0.request?.incomplete } == [true, false])
        #expect(http.transactions[1].request?.header("host") == "h")
        // the head begins where its request line did, the gap counted
        #expect(http.transactions[1].request?.start == Int64(first.utf8.count + 200 + "tail of the body\r\n".utf8.count))
        // a gap of unknown length stops parsing, as before: offsets could not be trusted
        var unknown = HTTPConnection()
        Array(first.utf8).withUnsafeBytes { unknown.feedClient($0) }
        unknown.clientGap()
        Array("GET /b HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { unknown.feedClient($0) }
        #expect(unknown.transactions.count == 1 && unknown.client.stopped)
    }
}
