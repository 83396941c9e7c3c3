import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport
import Ingest
import Store
@testable import Serve

/// The flowdb binary beside this test bundle: the API is checked against what the
/// command line prints for the same options.
let flowdbBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flowdb").path

func flowdb(_ arguments: [String]) throws -> (status: Int32, out: Data, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: flowdbBinary)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, o, String(decoding: e, as: UTF8.self))
}

/// One archive for the suite: real traffic with loss (the sample), real HTTP, TLS
/// and SSH (the application fixture), DNS and pings (the datagram sample), a VXLAN
/// capture, and the hostile capture.
enum ServedArchive {
    static let path: String = {
        let db = Paths.temporaryDirectory("flowdb-serve") + "/a.sqlite"
        let archive = try! Archive(path: db, create: true)
        _ = try! Ingestor(archive: archive, options: IngestOptions()).run(paths: [
            Paths.sample, Paths.fixture("apps/app.pcap"), Paths.repository + "/Samples/sample-dns.pcap",
            Paths.fixture("tunnels/vxlan.pcap"), Paths.fixture("serve/hostile-web.pcap"),
        ])
        return db
    }()
}

@Suite struct ServeAPITests {
    static func get(_ uri: String, _ options: ServeOptions = ServeOptions(archive: ServedArchive.path),
                    headers: HTTPFields = [:]) async throws -> TestResponse {
        let app = Application(router: Server.router(options))
        return try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: headers)
        }
    }

    static func text(_ r: TestResponse) -> String { String(buffer: r.body) }

    /// Every filter of `flowdb query`, by its name, against the command line's
    /// JSON for the same option: the same rows, byte for byte, in the same order.
    @Test func everyFilterAsTheCommandLine() async throws {
        let db = ServedArchive.path
        let first = try flowdb(["query", "--db", db, "--flow", "4", "--format", "json"])
        let communityID = (try JSONSerialization.jsonObject(with: first.out) as? [String: Any])?["community_id"] as? String ?? ""
        #expect(communityID.hasPrefix("1:"))
        let cases: [(api: String, cli: [String])] = [
            ("community-id=" + (communityID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""), ["--community-id", communityID]),
            ("port=9000", ["--port", "9000"]),
            ("client-port=45740", ["--client-port", "45740"]),
            ("server-port=53", ["--server-port", "53"]),
            ("host=10.77.0.2", ["--host", "10.77.0.2"]),
            ("client=10.66.0.0/16", ["--client", "10.66.0.0/16"]),
            ("server=10.66.0.53", ["--server", "10.66.0.53"]),
            ("since=2026-11-29T21:44:23Z", ["--since", "2026-11-29T21:44:23Z"]),
            ("until=2026-11-29T21:44:23Z", ["--until", "2026-11-29T21:44:23Z"]),
            ("flow=1&flow=3&flow=7", ["--flow", "1", "--flow", "3", "--flow", "7"]),
            ("capture=2", ["--capture", "2"]),
            ("contains=GET%20%2F", ["--contains", "GET /"]),
            ("contains-hex=48545450", ["--contains-hex", "48545450"]),
            ("min-bytes=90000", ["--min-bytes", "90000"]),
            ("ended=true", ["--ended"]),
            ("state=SF&state=reset", ["--state", "SF", "--state", "reset"]),
            ("tunnel=vxlan", ["--tunnel", "vxlan"]),
            ("proto=icmp", ["--proto", "icmp"]),
            ("app=ssh", ["--app", "ssh"]),
            ("sni=www.example.com", ["--sni", "www.example.com"]),
            ("http-host=www.example.com", ["--http-host", "www.example.com"]),
            ("ja3=2e22931a3f48b5c60a2aa0583d531797", ["--ja3", "2e22931a3f48b5c60a2aa0583d531797"]),
            ("ja4=t12d020300_08dfa304a768_4f3e98f48336", ["--ja4", "t12d020300_08dfa304a768_4f3e98f48336"]),
            ("uri=index", ["--uri", "index"]),
            ("method=POST", ["--method", "POST"]),
            ("status=200", ["--status", "200"]),
            ("dns=*.example", ["--dns-query", "*.example"]),
            ("dns-query=*.example", ["--dns-query", "*.example"]),
            ("port=9000&state=reset&proto=tcp", ["--port", "9000", "--state", "reset", "--proto", "tcp"]),
        ]
        for (api, cli) in cases {
            let r = try await Self.get("/api/flows?\(api)&limit=1000")
            let expected = try flowdb(["query", "--db", db, "--format", "json", "--limit", "0"] + cli)
            let lines = String(decoding: expected.out, as: UTF8.self).split(separator: "\n")
            #expect(expected.status == 0 && !lines.isEmpty, "\(cli) selects nothing: the case proves nothing")
            #expect(r.status == .ok, "\(api): \(Self.text(r))")
            #expect(Self.text(r) == "{\"total\":\(lines.count),\"total_exact\":true,\"offset\":0,\"limit\":1000,\"flows\":[\(lines.joined(separator: ","))]}\n", "\(api)")
        }
    }

    @Test func pagesWithTheTotal() async throws {
        let all = try flowdb(["query", "--db", ServedArchive.path, "--format", "json", "--limit", "0"])
        let lines = String(decoding: all.out, as: UTF8.self).split(separator: "\n")
        #expect(lines.count > 10)
        let r = try await Self.get("/api/flows?limit=4&offset=5")
        #expect(Self.text(r) == "{\"total\":\(lines.count),\"total_exact\":true,\"offset\":5,\"limit\":4,\"flows\":[\(lines[5..<9].joined(separator: ","))]}\n")
        let past = try await Self.get("/api/flows?offset=100000")
        #expect(Self.text(past) == "{\"total\":\(lines.count),\"total_exact\":true,\"offset\":100000,\"limit\":100,\"flows\":[]}\n")
    }

    /// Past `countUpTo` matches the count stops, and says it is a lower bound.
    @Test func theTotalIsBounded() throws {
        var api = ArchiveAPI(path: ServedArchive.path)
        api.countUpTo = 5
        for parameters in [[("limit", "3")], [("limit", "3"), ("contains", "HTTP")]] {
            let r = api.flows(parameters.map { (name: $0.0, value: $0.1) })
            let text = String(decoding: r.body, as: UTF8.self)
            #expect(text.hasPrefix("{\"total\":5,\"total_exact\":false,\"offset\":0,\"limit\":3,\"flows\":[{\"id\":"), "\(text.prefix(80))")
        }
        // dense matches are paged by walking the table in id order: the same rows as the command line's
        for filter in ["port=9000", "proto=tcp", "host=10.77.0.2"] {
            let (name, value) = (String(filter.split(separator: "=")[0]), String(filter.split(separator: "=")[1]))
            let page = api.flows([(name: name, value: value), (name: "limit", value: "4"), (name: "offset", value: "2")])
            let cli = try flowdb(["query", "--db", ServedArchive.path, "--\(name)", value, "--format", "json", "--limit", "0"])
            let lines = String(decoding: cli.out, as: UTF8.self).split(separator: "\n")
            #expect(lines.count > 6)
            #expect(String(decoding: page.body, as: UTF8.self)
                    == "{\"total\":6,\"total_exact\":false,\"offset\":2,\"limit\":4,\"flows\":[\(lines[2..<6].joined(separator: ","))]}\n", "\(filter)")
        }
        let far = api.flows([(name: "limit", value: "3"), (name: "offset", value: "9")])
        #expect(String(decoding: far.body, as: UTF8.self).hasPrefix("{\"total\":12,\"total_exact\":false,\"offset\":9,"))
        api.countUpTo = 100_000
        let all = api.flows([(name: "limit", value: "3")])
        #expect(String(decoding: all.body, as: UTF8.self).contains("\"total_exact\":true,"))
    }

    /// A query past its time is cancelled by SQLite and answered 503, not left running.
    @Test func aSlowQueryIsCancelled() {
        var api = ArchiveAPI(path: ServedArchive.path)
        api.timeLimit = 1      // ns: every statement is past it at SQLite's first check
        let r = api.flows([(name: "contains", value: "no such bytes anywhere")])
        #expect(r.status == 503)
        #expect(String(decoding: r.body, as: UTF8.self) == "the query ran longer than 0.0 s and was cancelled; narrow the filter\n")
        api.timeLimit = 5_000_000_000
        #expect(api.flows([(name: "contains", value: "no such bytes anywhere")]).status == 200)
    }

    @Test func badParametersAreOneLineReasons() async throws {
        let cases: [(String, Int, String)] = [
            ("/api/flows?port=abc", 400, "port: not a number in 0...65535: abc\n"),
            ("/api/flows?port=70000", 400, "port: not a number in 0...65535: 70000\n"),
            ("/api/flows?nosuch=1", 400, "nosuch: not a filter\n"),
            ("/api/flows?port=1&port=2", 400, "port: given more than once\n"),
            ("/api/flows?host=10.0.0.0/33", 400, "host: not an address or CIDR block: 10.0.0.0/33\n"),
            ("/api/flows?since=yesterday", 400, "since: not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): yesterday\n"),
            ("/api/flows?state=bogus", 400, "state: not a connection state: bogus (Zeek's S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH, or closed, reset, rejected, attempt, half-closed, open, midstream)\n"),
            ("/api/flows?proto=sctp", 400, "proto: one of tcp, udp, icmp\n"),
            ("/api/flows?contains=a&contains-hex=41", 400, "give contains or contains-hex, not both\n"),
            ("/api/flows?contains-hex=4", 400, "contains-hex: not hex bytes: 4\n"),
            ("/api/flows?limit=0", 400, "limit: a number in 1...1000, not 0\n"),
            ("/api/flows?limit=1001", 400, "limit: a number in 1...1000, not 1001\n"),
            ("/api/flows?offset=-1", 400, "offset: a number from 0, not -1\n"),
            ("/api/flows?with-gaps=maybe", 400, "with-gaps: true or false, not maybe\n"),
            ("/api/flows/999999", 404, "no flow 999999 in the archive\n"),
            ("/api/flows/999999/pcap", 404, "no flow 999999 in the archive\n"),
            ("/api/flows/1/stream", 400, "dir: client or server is needed\n"),
            ("/api/flows/1/stream?dir=both", 400, "dir: client or server, not both\n"),
            ("/api/flows/999999/stream?dir=client", 404, "no flow 999999 in the archive\n"),
            ("/api/flows/1/follow?after=x", 400, "after: a delivery id, not x\n"),
            ("/api/flows/1/objects/zz", 400, "an object is named by its SHA-256 in lower-case hex\n"),
            ("/api/flows/1/objects/" + String(repeating: "0", count: 64), 404, "flow 1 has no object \(String(repeating: "0", count: 64))\n"),
            ("/api/flows/abc", 404, "not a flow id\n"),
            ("/static/..%2F..%2Fetc%2Fpasswd", 404, "no such page\n"),
            ("/flows/abc", 404, "not a flow id\n"),
        ]
        for (uri, status, reason) in cases {
            let r = try await Self.get(uri)
            #expect(r.status.code == status, "\(uri): \(r.status)")
            #expect(Self.text(r) == reason, "\(uri)")
            #expect(r.headers[.contentType] == "text/plain; charset=utf-8")
            #expect(r.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self';") == true, "\(uri)")
        }
    }

    @Test func streamAndPcapAndObjectsAreTheCommandLinesBytes() async throws {
        let db = ServedArchive.path
        let dir = Paths.temporaryDirectory("flowdb-serve-out")
        for id in [1, 4, 6] {
            for side in ["client", "server"] {
                let r = try await Self.get("/api/flows/\(id)/stream?dir=\(side)")
                let raw = try flowdb(["query", "--db", db, "--flow", String(id), "--show", "raw", "--dir", side])
                #expect(r.status == .ok)
                #expect(Data(buffer: r.body) == raw.out && !raw.out.isEmpty, "flow \(id) \(side)")
                #expect(r.headers[.contentDisposition] == "attachment; filename=\"flow-\(id)-\(side).bin\"")
            }
            let pcap = try await Self.get("/api/flows/\(id)/pcap")
            let file = dir + "/f\(id).pcap"
            let exported = try flowdb(["query", "--db", db, "--flow", String(id), "--pcap", file])
            #expect(exported.status == 0, "\(exported.err)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(Data(buffer: pcap.body) == bytes)
            let custody = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file + ".custody.json"))) as? [String: Any]
            let record = custody?["flowdb_export"] as? [String: Any]
            #expect(pcap.headers[HTTPField.Name("X-Flowdb-Sha256")!] == record?["sha256"] as? String)
            #expect(record?["sha256"] as? String != nil)
            #expect(pcap.headers[.contentType] == "application/vnd.tcpdump.pcap")
            #expect(pcap.headers[.contentDisposition] == "attachment; filename=\"flow-\(id).pcap\"")
        }
        // HTTP bodies: the manifest and the files --extract-objects writes
        let httpFlows = try flowdb(["query", "--db", db, "--app", "http", "--format", "json", "--limit", "0"])
        var compared = 0
        for line in String(decoding: httpFlows.out, as: UTF8.self).split(separator: "\n") {
            let id = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? Int ?? 0
            let out = dir + "/objects-\(id)"
            _ = try flowdb(["query", "--db", db, "--flow", String(id), "--extract-objects", out])
            guard let manifest = try? String(contentsOfFile: out + "/manifest.json", encoding: .utf8) else { continue }
            let listed = try await Self.get("/api/flows/\(id)/objects")
            #expect(Self.text(listed) == manifest.replacingOccurrences(of: "\n", with: "") + "\n")
            let entries = (try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any])?["objects"] as? [[String: Any]] ?? []
            for entry in entries {
                let sha = entry["sha256"] as? String ?? ""
                let body = try await Self.get("/api/flows/\(id)/objects/\(sha)")
                #expect(Data(buffer: body.body) == (try Data(contentsOf: URL(fileURLWithPath: out + "/" + sha))))
                #expect(body.headers[.contentDisposition] == "attachment; filename=\"\(sha)\"")
                compared += 1
            }
        }
        #expect(compared >= 5, "only \(compared) objects compared")
    }

    @Test func aFlowWithItsRowsAndItsFollowPages() async throws {
        // flow 1 of the hostile capture's HTTP exchange: its http row, every column
        let ids = try flowdb(["query", "--db", ServedArchive.path, "--client-port", "40001", "--format", "json"])
        let line = String(decoding: ids.out, as: UTF8.self).split(separator: "\n").first ?? ""
        let id = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? Int ?? 0
        let r = try await Self.get("/api/flows/\(id)")
        let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
        let http = json?["http"] as? [[String: Any]]
        #expect(http?.count == 1)
        #expect(http?.first?["uri"] as? String == "/<script>window.__pwned=1</script>?q=%22%3E%3Cimg%20src=x%20onerror=window.__pwned=1%3E")
        #expect((json?["flow"] as? [String: Any])?["id"] as? Int == id)
        #expect(Self.text(r).contains("\"flow\":" + line + ","))
        // follow: pages of 3 deliveries, joined, are each direction's bytes
        var after = -1
        var bytes: [String: Data] = ["client": Data(), "server": Data()]
        var pages = 0
        while pages < 100 {
            let page = try await Self.get("/api/flows/6/follow?after=\(after)&limit=3")
            let p = try JSONSerialization.jsonObject(with: Data(buffer: page.body)) as? [String: Any]
            for d in p?["deliveries"] as? [[String: Any]] ?? [] {
                bytes[d["dir"] as? String ?? "", default: Data()].append(Data(base64Encoded: d["data"] as? String ?? "") ?? Data())
            }
            pages += 1
            guard let next = p?["next"] as? Int else { break }
            after = next
        }
        #expect(pages > 10)
        for side in ["client", "server"] {
            let raw = try flowdb(["query", "--db", ServedArchive.path, "--flow", "6", "--show", "raw", "--dir", side])
            #expect(bytes[side] == raw.out)
        }
    }

    @Test func theTokenIsCheckedOnEveryRequest() async throws {
        var options = ServeOptions(archive: ServedArchive.path)
        options.token = "a-token-of-thirty-two-characters"
        let none = try await Self.get("/api/flows", options)
        #expect(none.status == .unauthorized)
        #expect(Self.text(none) == "this server needs its token (Authorization: Bearer TOKEN, or ?token=TOKEN once)\n")
        let page = try await Self.get("/", options)
        #expect(page.status == .unauthorized)
        let wrong = try await Self.get("/api/flows", options, headers: [.authorization: "Bearer a-token-of-thirty-two-characterz"])
        #expect(wrong.status == .unauthorized)
        let short = try await Self.get("/api/flows", options, headers: [.authorization: "Bearer a-token"])
        #expect(short.status == .unauthorized)
        let bearer = try await Self.get("/api/flows?limit=1", options, headers: [.authorization: "Bearer a-token-of-thirty-two-characters"])
        #expect(bearer.status == .ok)
        #expect(bearer.headers[.setCookie] == nil)
        let query = try await Self.get("/?token=a-token-of-thirty-two-characters", options)
        #expect(query.status == .ok)
        #expect(query.headers[.setCookie] == "flowdb_token=a-token-of-thirty-two-characters; Path=/; HttpOnly; SameSite=Strict")
        let cookie = try await Self.get("/api/flows?limit=1", options, headers: [.cookie: "other=1; flowdb_token=a-token-of-thirty-two-characters"])
        #expect(cookie.status == .ok)
        #expect(Guard<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!Guard<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!Guard<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!Guard<BasicRequestContext>.constantTimeEqual(Array("".utf8), Array("a".utf8)))
    }

    /// Without a token the server is for loopback: a Host naming anything else (a
    /// name an attacker rebound to 127.0.0.1) is refused.
    @Test func loopbackHostsOnly() {
        for host in ["127.0.0.1:8080", "127.0.0.1", "localhost:9", "LOCALHOST", "[::1]:8080", "127.8.9.10:1"] {
            #expect(Guard<BasicRequestContext>.isLoopbackHost(host), "\(host)")
        }
        for host in ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "[::2]:80", "10.0.0.1:8080", "", "localhost.evil"] {
            #expect(!Guard<BasicRequestContext>.isLoopbackHost(host), "\(host)")
        }
        #expect(!Guard<BasicRequestContext>.isLoopbackHost(nil))
    }

    @Test func everyResponseForbidsScriptsFromElsewhere() async throws {
        for uri in ["/", "/flows/1", "/static/list.js", "/static/style.css", "/api/flows", "/api/flows/1", "/api/flows/1/pcap", "/nosuch"] {
            let r = try await Self.get(uri)
            #expect(r.headers[.contentSecurityPolicy] == "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'", "\(uri)")
            #expect(r.headers[.xContentTypeOptions] == "nosniff")
            #expect(r.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
        }
        // no inline script or style, no handler attribute, no remote origin in the pages
        for name in ["index.html", "flow.html"] {
            let html = String(decoding: Site.files[name]!.0, as: UTF8.self)
            #expect(!html.contains("<script>") && !html.contains(" on") && !html.contains("style=") && !html.contains("//"), "\(name)")
        }
        for name in ["common.js", "list.js", "flow.js"] {
            let js = String(decoding: Site.files[name]!.0, as: UTF8.self)
            #expect(!js.contains("innerHTML") && !js.contains("outerHTML") && !js.contains("insertAdjacentHTML")
                    && !js.contains("document.write") && !js.contains("eval("), "\(name)")
        }
    }

    /// A session of requests changes no byte of the archive and leaves no file beside it.
    @Test func readsWithoutWriting() async throws {
        let dir = Paths.temporaryDirectory("flowdb-serve-ro")
        let db = dir + "/a.sqlite"
        try FileManager.default.copyItem(atPath: ServedArchive.path, toPath: db)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let options = ServeOptions(archive: db)
        for uri in ["/api/flows", "/api/flows?contains=GET", "/api/summary?proto=tcp", "/api/flows/1", "/api/flows/1/follow",
                    "/api/flows/1/timeline", "/api/flows/1/stream?dir=server", "/api/flows/1/pcap", "/api/flows/12/objects", "/"] {
            let r = try await Self.get(uri, options)
            #expect(r.status == .ok, "\(uri)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.sqlite"])
    }

    @Test func summaryCountsTheFilteredFlows() async throws {
        let r = try await Self.get("/api/summary?proto=udp")
        let s = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
        let udp = try flowdb(["query", "--db", ServedArchive.path, "--proto", "udp", "--format", "json", "--limit", "0"])
        let count = String(decoding: udp.out, as: UTF8.self).split(separator: "\n").count
        let timeline = s?["timeline"] as? [[String: Any]] ?? []
        #expect(timeline.map { $0["flows"] as? Int ?? 0 }.reduce(0, +) == count)
        let mix = s?["mix"] as? [[String: Any]] ?? []
        #expect(mix.map { $0["flows"] as? Int ?? 0 }.reduce(0, +) == count)
        #expect(mix.allSatisfy { $0["proto"] as? String == "udp" })
        #expect((s?["talkers"] as? [[String: Any]])?.isEmpty == false)
    }

}

/// The browser check (`make browser-check`) when Chromium, its driver and Selenium are here.
@Suite struct BrowserTests {
    @Test func theViewerInChromium() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Paths.repository + "/scripts/browser-check.py", "--flowdb", flowdbBinary]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 2 { return }     // no Chromium or Selenium on this machine: skipped, as it says
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains(" passed, 0 failed"))
    }
}

/// `flowdb serve --db DIR`: many archives, flows named ARCHIVE:ID.
@Suite struct ServeManyArchivesTests {
    static let directory: String = {
        let dir = Paths.temporaryDirectory("flowdb-serve-many")
        for (name, captures) in [("one.sqlite", [Paths.sample]), ("two.sqlite", [Paths.repository + "/Samples/sample-dns.pcap", Paths.fixture("apps/app.pcap")])] {
            let archive = try! Archive(path: dir + "/" + name, create: true)
            _ = try! Ingestor(archive: archive, options: IngestOptions()).run(paths: captures)
        }
        return dir
    }()

    static func get(_ uri: String) async throws -> TestResponse {
        try await ServeAPITests.get(uri, ServeOptions(archives: [directory]))
    }

    @Test func listingsAreTheQuerysOverTheDirectory() async throws {
        for (api, cli) in [("", [String]()), ("port=53", ["--port", "53"]), ("proto=tcp&state=SF", ["--proto", "tcp", "--state", "SF"]),
                           ("since=2026-11-29", ["--since", "2026-11-29"])] {
            let r = try await Self.get("/api/flows?limit=1000&" + api)
            let q = try flowdb(["query", "--db", Self.directory, "--format", "json", "--limit", "0"] + cli)
            let lines = String(decoding: q.out, as: UTF8.self).split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(ServeAPITests.text(r) == "{\"total\":\(lines.count),\"total_exact\":true,\"offset\":0,\"limit\":1000,\"flows\":[\(lines.joined(separator: ","))]}\n", "\(api)")
        }
        let summary = try JSONSerialization.jsonObject(with: Data(buffer: try await Self.get("/api/summary").body)) as? [String: Any]
        let all = try flowdb(["query", "--db", Self.directory, "--format", "json", "--limit", "0"])
        #expect((summary?["mix"] as? [[String: Any]])?.reduce(0) { $0 + ($1["flows"] as? Int ?? 0) }
                == String(decoding: all.out, as: UTF8.self).split(separator: "\n").count)
    }

    @Test func oneFlowByArchiveAndID() async throws {
        let r = try await Self.get("/api/flows/two.sqlite:3")
        let flow = (try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])?["flow"] as? [String: Any]
        #expect(flow?["id"] as? Int == 3 && flow?["server_port"] as? Int == 53)
        let pcap = try await Self.get("/api/flows/two.sqlite:3/pcap")
        let file = Paths.temporaryDirectory() + "/x.pcap"
        _ = try flowdb(["query", "--db", Self.directory, "--flow", "two.sqlite:3", "--pcap", file])
        #expect(Data(buffer: pcap.body) == (try Data(contentsOf: URL(fileURLWithPath: file))))
        #expect(pcap.headers[.contentDisposition] == "attachment; filename=\"flow-two.sqlite-3.pcap\"")
        let stream = try await Self.get("/api/flows/one.sqlite:8/stream?dir=server")
        let raw = try flowdb(["query", "--db", Self.directory + "/one.sqlite", "--flow", "8", "--show", "raw", "--dir", "server"])
        #expect(Data(buffer: stream.body) == raw.out && raw.out.count == 150_000)
        for (uri, reason) in [("/api/flows/three.sqlite:1", "no archive three.sqlite is served\n"),
                              ("/api/flows/3", "not a flow (ARCHIVE:ID)\n"),
                              ("/api/flows/one.sqlite:999", "no flow 999 in the archive\n"),
                              ("/api/flows/..%2Fx.sqlite:1", "no archive ..%2Fx.sqlite is served\n")] {
            let e = try await Self.get(uri)
            #expect(e.status == .notFound && ServeAPITests.text(e) == reason, "\(uri): \(ServeAPITests.text(e))")
        }
        let page = try await Self.get("/flows/two.sqlite:3")
        #expect(page.status == .ok)
    }
}

/// The follow stream as each target read it (`policy=`): the command line's
/// `--show raw --policy` bytes, on the crafted evasion capture.
@Suite struct ServePolicyTests {
    static let path: String = {
        let db = Paths.temporaryDirectory("flowdb-serve-policy") + "/e.sqlite"
        let archive = try! Archive(path: db, create: true)
        _ = try! Ingestor(archive: archive, options: IngestOptions()).run(paths: [Paths.fixture("anomalies/evasion.pcap")])
        return db
    }()

    @Test func followAsEachTargetReadIt() async throws {
        let options = ServeOptions(archive: Self.path)
        for policy in ["", "first", "last", "linux", "bsd", "windows", "solaris", "macos"] {
            let r = try await ServeAPITests.get("/api/flows/9/follow?policy=\(policy)", options)
            #expect(r.status == .ok, "\(policy)")
            let page = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
            var client = Data()
            for d in page?["deliveries"] as? [[String: Any]] ?? [] where d["dir"] as? String == "client" {
                client.append(Data(base64Encoded: d["data"] as? String ?? "") ?? Data())
            }
            let cli = try flowdb(["query", "--db", Self.path, "--flow", "9", "--show", "raw", "--dir", "client"]
                                 + (policy.isEmpty ? [] : ["--policy", policy]))
            #expect(client == cli.out && client.count == 25, "\(policy): \(String(decoding: client, as: UTF8.self))")
        }
        let bad = try await ServeAPITests.get("/api/flows/9/follow?policy=vista", options)
        #expect(bad.status == .badRequest)
        #expect(ServeAPITests.text(bad) == "policy: one of first, last, linux, bsd, windows, solaris, macos, not vista\n")
    }
}
