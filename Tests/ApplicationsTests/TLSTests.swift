import Foundation
import Testing
import TestSupport
import Applications
import Ingest
import Query
import Digest
import Store

/// The first bytes of each direction of every flow of a capture, reassembled by
/// an ingest into a temporary archive.
struct Streams {
    struct Flow { var client: String, clientPort: Int, server: String, serverPort: Int, bytes: [[UInt8]] }
    var flows: [Flow] = []

    init(_ capture: String, limit: Int = 1 << 16) throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let report = try Ingestor(path: db, options: IngestOptions()).run(paths: [capture])
        #expect(report.failures.isEmpty, "\(report.failures)")
        let archive = try Archive(path: db, create: false)
        let reader = try FlowReader(archive: archive)
        let (found, _) = try FlowQuery(archive: archive).flows(FlowFilter(), containing: nil, limit: nil)
        for f in found {
            var directions: [[UInt8]] = []
            for dir in 0..<2 {
                var bytes: [UInt8] = []
                try reader.writeStream(flowID: f.id, dir: dir, fillGaps: false) { piece in
                    if bytes.count < limit { bytes.append(contentsOf: piece.prefix(limit - bytes.count)) }
                }
                directions.append(bytes)
            }
            flows.append(Flow(client: f.clientIP, clientPort: f.clientPort, server: f.serverIP, serverPort: f.serverPort,
                              bytes: directions))
        }
    }
}

func sha256Prefix(_ text: String) -> String { String(SHA256.hex(Array(text.utf8)).prefix(12)) }

@Suite struct TLSTests {
    /// Every JA4 and SNI the reference implementation printed for the TLS-over-TCP
    /// captures of ../shared/captures/ja4 (expected/*.json) comes out the same
    /// from flowdb's reassembled client streams.
    /// The captures of ja4/ whose expected output holds a JA4 of TLS over TCP.
    static let withJA4: [String] = {
        let dir = Paths.capture("ja4/expected")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { name in
            guard name.hasSuffix(".json"), let data = FileManager.default.contents(atPath: dir + "/" + name),
                  let text = String(data: data, encoding: .utf8) else { return false }
            return text.contains("\"JA4.1\": \"t") || text.contains("\"JA4\": \"t")
        }.map { String($0.dropLast(5)) }.sorted()
    }()

    @Test func referenceCapturesArePresent() {
        #expect(Self.withJA4.count == 16, "\(Self.withJA4)")
        #expect(Self.withJA4 == Self.tcpJA4s.keys.sorted())
    }

    /// How many TCP connections with a JA4 each capture's expected output lists.
    static let tcpJA4s = [
        "badcurveball.pcap": 1, "browsers-x509.pcapng": 3, "chrome-cloudflare-quic-with-secrets.pcapng": 1,
        "http2-with-cookies.pcapng": 1, "https3-301-get.pcap": 1, "ipv6.pcapng": 1, "latest.pcapng": 5,
        "macos_tcp_flags.pcap": 1, "socks-https-example.pcap": 3, "ssh2.pcapng": 5, "tls-alpn-h2.pcap": 1,
        "tls-handshake.pcapng": 59, "tls-non-ascii-alpn.pcapng": 1, "tls-sni.pcapng": 59, "tls12.pcap": 1, "tls3.pcapng": 7,
    ]

    @Test(arguments: withJA4)
    func ja4AndSNIEqualTheReference(_ name: String) throws {
        let capture = Paths.capture("ja4/" + name)
        let expectedPath = Paths.capture("ja4/expected/" + name + ".json")
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: expectedPath))) as? [[String: Any]] ?? []
        // (client, client port, server, server port) -> (domain, JA4, JA4_r) of TCP streams with a JA4
        var expected: [String: (domain: String?, ja4: String, raw: String?)] = [:]
        for e in entries {
            guard let ja4 = e["JA4.1"] as? String ?? e["JA4"] as? String, ja4.hasPrefix("t"),
                  let src = e["src"] as? String, let dst = e["dst"] as? String,
                  let sp = e["srcport"] as? String, let dp = e["dstport"] as? String else { continue }
            expected["\(src) \(sp) \(dst) \(dp)"] = (e["domain"] as? String, ja4, e["JA4_r.1"] as? String ?? e["JA4_r"] as? String)
        }
        try #require(expected.count == Self.tcpJA4s[name], "\(name): TCP connections with a JA4 in expected/")
        var found: [String: (domain: String?, ja4: String, raw: String)] = [:]
        for f in try Streams(capture).flows {
            for (client, server, bytes) in [(f.client, f.clientPort, f.bytes[0]), ] as [(String, Int, [UInt8])] {
                _ = server
                guard let hello = bytes.withUnsafeBytes({ TLS.findClientHello(in: $0)?.hello }) else { continue }
                let key = "\(client) \(f.clientPort) \(f.server) \(f.serverPort)"
                found[key] = (hello.serverName, TLS.ja4(hello, sha256Prefix: sha256Prefix), TLS.ja4Raw(hello))
            }
        }
        for (key, e) in expected {
            let ours = found[key]
            #expect(ours?.ja4 == e.ja4, "\(name) \(key): JA4 \(ours?.ja4 ?? "none"), expected \(e.ja4)")
            if let raw = e.raw { #expect(ours?.raw == raw, "\(name) \(key): JA4_r") }
            #expect(ours?.domain == e.domain, "\(name) \(key): SNI \(ours?.domain ?? "none"), expected \(e.domain ?? "none")")
        }
    }
}

/// JA3 and JA3S (strings and MD5) of the first ClientHello and ServerHello of
/// every connection equal tshark's `tls.handshake.ja3*` fields, kept in
/// Tests/Fixtures/tls/tshark-hellos.tsv by scripts/tls-tshark-fields.sh.
@Suite struct TLSAgainstTshark {
    struct Hello { var sni: String, full: String, hash: String }

    static func tshark() throws -> [String: [String: (client: Hello?, server: Hello?)]] {
        var out: [String: [String: (client: Hello?, server: Hello?)]] = [:]
        let text = try String(contentsOfFile: Paths.fixture("tls/tshark-hellos.tsv"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 9 else { continue }
            let fromClient = f[1] == "1"
            let key = fromClient ? "\(f[2]) \(f[3]) \(f[4]) \(f[5])" : "\(f[4]) \(f[5]) \(f[2]) \(f[3])"
            var entry = out[f[0], default: [:]][key] ?? (nil, nil)
            let hello = Hello(sni: f[6], full: f[7], hash: f[8])
            if fromClient { if entry.client == nil { entry.client = hello } } else if entry.server == nil { entry.server = hello }
            out[f[0], default: [:]][key] = entry
        }
        return out
    }

    @Test func ja3AndJA3SEqualTshark() throws {
        let expected = try Self.tshark()
        #expect(expected.count == 16)
        var compared = 0, servers = 0
        for (name, connections) in expected.sorted(by: { $0.key < $1.key }) {
            let flows = try Streams(Paths.capture("ja4/" + name)).flows
            for f in flows {
                let key = "\(f.client) \(f.clientPort) \(f.server) \(f.serverPort)"
                guard let tshark = connections[key] else { continue }
                if let t = tshark.client {
                    let hello = f.bytes[0].withUnsafeBytes { TLS.findClientHello(in: $0)?.hello }
                    let ja3 = hello.map(TLS.ja3String)
                    #expect(ja3 == t.full, "\(name) \(key): JA3 \(ja3 ?? "none")")
                    #expect(ja3.map(MD5.hex) == t.hash, "\(name) \(key): JA3 hash")
                    #expect((hello?.serverName ?? "") == t.sni, "\(name) \(key): SNI")
                    compared += 1
                }
                if let t = tshark.server {
                    let hello = f.bytes[1].withUnsafeBytes { TLS.findServerHello(in: $0)?.hello }
                    let ja3s = hello.map(TLS.ja3sString)
                    #expect(ja3s == t.full, "\(name) \(key): JA3S \(ja3s ?? "none")")
                    #expect(ja3s.map(MD5.hex) == t.hash, "\(name) \(key): JA3S hash")
                    servers += 1
                }
            }
        }
        #expect(compared == 150 && servers == 90, "\(compared) ClientHellos, \(servers) ServerHellos compared")
    }
}

/// The same through a whole ingest: the archive's tls, http and ssh tables hold
/// what the reference implementation and tshark found.
@Suite struct ApplicationTablesTests {
    static func archive(_ capture: String) throws -> Archive {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.capture(capture)])
        return try Archive(path: db, create: false)
    }

    static func rows(_ a: Archive, _ sql: String) throws -> [[String]] {
        let s = try a.connection.prepare(sql)
        var out: [[String]] = []
        while try s.step() { out.append((0..<s.columnCount).map { s.text($0) ?? "" }) }
        return out
    }

    @Test(arguments: TLSTests.withJA4)
    func tlsTableHoldsTheReferenceJA4(_ name: String) throws {
        let a = try Self.archive("ja4/" + name)
        let expectedPath = Paths.capture("ja4/expected/" + name + ".json")
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: expectedPath))) as? [[String: Any]] ?? []
        var compared = 0
        for e in entries {
            guard let ja4 = e["JA4.1"] as? String ?? e["JA4"] as? String, ja4.hasPrefix("t"),
                  let src = e["src"] as? String, let sp = e["srcport"] as? String, let dst = e["dst"] as? String,
                  let dp = e["dstport"] as? String else { continue }
            let found = try Self.rows(a, """
                SELECT t.ja4, coalesce(t.server_name, ''), f.app FROM tls t JOIN flow f ON f.id = t.flow_id
                WHERE f.client_ip = '\(src)' AND f.client_port = \(sp) AND f.server_ip = '\(dst)' AND f.server_port = \(dp)
                """)
            #expect(found.first?[0] == ja4, "\(name) \(src):\(sp)")
            #expect(found.first?[1] == (e["domain"] as? String ?? ""), "\(name) \(src):\(sp)")
            #expect(found.first?[2] == "tls", "\(name) \(src):\(sp)")
            compared += 1
        }
        #expect(compared == TLSTests.tcpJA4s[name], "\(name): TCP JA4s compared")
    }

    @Test func httpAndSSHTables() throws {
        let http = try Self.archive("ja4/http1.pcapng")
        // tshark: 56 requests and 56 responses; one request's response and one response's request were not captured
        #expect(try Self.rows(http, "SELECT count(*), count(method), count(status_code) FROM http") == [["57", "56", "56"]])
        #expect(try Self.rows(http, "SELECT count(*), count(app_host) FROM flow WHERE app = 'http'") == [["56", "55"]])
        let first = try Self.rows(http, "SELECT method, host, uri, version, user_agent, status_code, request_body_len, response_body_len, request_content_type FROM http ORDER BY flow_id LIMIT 1")
        #expect(first == [["POST", "unifi:8080", "/inform", "1.1", "AirControl Agent v1.0", "200", "6419", "1448", "application/x-binary"]])
        let ssh = try Self.archive("ja4/ssh.pcapng")
        #expect(try Self.rows(ssh, "SELECT client, server, version, client_software, hassh, hassh_server, kex_alg, cipher_alg FROM ssh")
                == [["SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1", "2.0", "OpenSSH_7.6p1",
                     "06046964c022c6407d15a27b12a6a4fb", try SSHTests.serverHASSH(), "curve25519-sha256", "chacha20-poly1305@openssh.com"]])
    }
}

/// The query filters on what was said.
@Suite struct ApplicationQueryTests {
    @Test func filtersSelectByApplicationFields() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [
            Paths.capture("ja4/http1.pcapng"), Paths.capture("ja4/http1-with-cookies.pcapng"),
            Paths.capture("ja4/tls-handshake.pcapng"), Paths.capture("ja4/ssh.pcapng")])
        let archive = try Archive(path: db, create: false)
        func count(_ change: (inout FlowFilter) -> Void) throws -> Int {
            var f = FlowFilter()
            change(&f)
            return try FlowQuery(archive: archive).flows(f).flows.count
        }
        #expect(try count { $0.app = "ssh" } == 1)
        #expect(try count { $0.app = "tls" } == 59)
        #expect(try count { $0.app = "http" } == 57)
        // the capture's TLS connection to www.google.com, and its QUIC handshake with the same name
        #expect(try count { $0.sni = "WWW.GOOGLE.COM" } == 2)
        #expect(try count { $0.sni = "WWW.GOOGLE.COM"; $0.proto = "udp" } == 1)
        #expect(try count { $0.app = "quic" } == 20)
        #expect(try count { $0.httpHost = "localhost:8000" } == 1)
        #expect(try count { $0.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1" } == 54)
        #expect(try count { $0.uri = "inform" } == 26)
        #expect(try count { $0.method = "get"; $0.status = 200 } == 19)
        #expect(try count { $0.method = "POST"; $0.status = 404 } == 0)

        // The listings, like Zeek's logs
        let google = try FlowQuery(archive: archive).flows({ var f = FlowFilter(); f.sni = "www.google.com"; f.proto = "tcp"; return f }()).flows.map(\.id)
        let tls = try ApplicationLog.tls.rows(archive: archive, flowIDs: google)
        #expect(tls.count == 1)
        let line = ApplicationLog.tls.zeekLine(tls[0]).dropLast().split(separator: "\t", omittingEmptySubsequences: false)
        #expect(line.count == 17)
        #expect(Array(line[6...9]) == ["TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519", "www.google.com"])
        #expect(line[16] == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        #expect(ApplicationLog.tls.zeekHeader(openedAt: 0).contains("#path\tssl\n#open"))
        let http = try ApplicationLog.http.rows(archive: archive, flowIDs: try FlowQuery(archive: archive).flows({
            var f = FlowFilter(); f.httpHost = "localhost:8000"; return f }()).flows.map(\.id))
        #expect(http.count == 1)
        #expect(ApplicationLog.http.jsonLine(http[0]).contains(#""trans_depth":1,"method":"GET","host":"localhost:8000","uri":"/","referrer":"https://fake.example","version":"1.1","user_agent":"curl/8.1.2"#))
        #expect(ApplicationLog.http.csvHeader.hasPrefix("ts,flow_id,client_ip,client_port,server_ip,server_port,trans_depth,method,host,uri"))
        let ssh = try ApplicationLog.ssh.rows(archive: archive, flowIDs: try FlowQuery(archive: archive).flows({
            var f = FlowFilter(); f.app = "ssh"; return f }()).flows.map(\.id))
        #expect(ApplicationLog.ssh.table(ssh).split(separator: "\n").count == 2)
    }
}

/// Real HTTP and TLS made by scripts/make-app-traffic.sh (Tests/Fixtures/apps/app.pcap,
/// with the files the server served): the extracted objects are those files, byte
/// for byte, the gzip-chunked one included; the tables hold the exchanges made.
/// (`make app-check` compares every field with tshark and OpenSSL on the same capture.)
@Suite struct RealApplicationTrafficTests {
    @Test func objectsAreTheFilesServed() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.fixture("apps/app.pcap")])
        let archive = try Archive(path: db, create: false)
        let served = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Paths.fixture("apps/app.pcap.files.json")))) as? [[String: Any]] ?? []
        #expect(served.count == 4)
        let ids = try FlowQuery(archive: archive).flows({ var f = FlowFilter(); f.app = "http"; return f }()).flows.map(\.id)
        #expect(ids.count == 10)
        let count = try ObjectExtractor(archive: archive, directory: dir + "/objects", force: false).extract(flowIDs: ids)
        #expect(count == 7)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/objects/manifest.json"))) as? [String: Any]
        let objects = manifest?["objects"] as? [[String: Any]] ?? []
        #expect(objects.count == 13)
        for file in served {
            let sha = try #require(file["sha256"] as? String)
            #expect(objects.contains { $0["sha256"] as? String == sha }, "\(file["name"] ?? "") not extracted")
            let bytes = try [UInt8](contentsOf: dir + "/objects/" + sha)
            #expect(bytes.count == file["size"] as? Int && SHA256.hex(bytes) == sha)
        }
        // the chunked gzip response decodes to page.txt
        let page = served.first { $0["name"] as? String == "page.txt" }?["sha256"] as? String
        #expect(objects.contains { $0["uri"] as? String == "/gzip/page.txt" && $0["sha256"] as? String == page
            && $0["content_encoding"] as? String == "gzip" && $0["incomplete"] as? Bool == false })
        // each upload's response is the SHA-256 the server computed of the body it received
        let uploads = objects.filter { $0["uri"] as? String == "/upload" }
        #expect(uploads.count == 4)
        let requests = uploads.filter { $0["body"] as? String == "request" }, responses = uploads.filter { $0["body"] as? String == "response" }
        #expect(requests.count == 2 && responses.count == 2)
        for (request, response) in zip(requests, responses) {
            let text = try String(contentsOfFile: dir + "/objects/" + (response["sha256"] as? String ?? ""), encoding: .utf8)
            #expect(text == (request["sha256"] as? String ?? "") + "\n")
        }
        let tls = try ApplicationTablesTests.rows(archive, "SELECT count(*), count(subject), min(subject), min(issuer) FROM tls")
        #expect(tls == [["8", "3", "C=DE,O=Example GmbH,CN=server.flowdb.test", "O=flowdb,CN=flowdb test CA"]])
        #expect(try ApplicationTablesTests.rows(archive, "SELECT count(*), sum(informational IS NOT NULL) FROM http") == [["14", "1"]])
        // SSH to OpenSSH's sshd, and TLS after SMTP's STARTTLS
        let ssh = try ApplicationTablesTests.rows(archive, "SELECT client, kex_alg, hassh IS NOT NULL, hassh_server IS NOT NULL FROM ssh")
        #expect(ssh == [["SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "sntrup761x25519-sha512", "1", "1"]])
        let smtp = try ApplicationTablesTests.rows(archive, """
            SELECT f.app, t.server_name, t.version FROM tls t JOIN flow f ON f.id = t.flow_id WHERE f.server_port = 2525
            """)
        #expect(smtp == [["tls", "server.flowdb.test", "TLSv1.3"]])
    }
}

/// scripts/app-check.py where tshark is installed: every field of the http, tls
/// and ssh tables that tshark (and OpenSSL, for certificates) also reports agrees,
/// on the real-traffic fixture and the shared captures. (Without tshark, the
/// fixture-based suites above still compare with tshark's recorded output.)
@Suite struct TsharkAgreementTests {
    static let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: tshark, "tshark is not installed"))
    func everyFieldAgreesWithTshark() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flowdb").path
        let captures = [Paths.fixture("apps/app.pcap"), Paths.fixture("tls/starttls.pcap"), Paths.fixture("tls/sslv2-hello.pcap")] + ["browsers-x509.pcapng", "latest.pcapng", "tls-handshake.pcapng",
            "badcurveball.pcap", "socks-https-example.pcap", "http1.pcapng", "http1-with-cookies.pcapng", "https-connect.pcap",
            "tls12.pcap", "tls3.pcapng", "ssh.pcapng", "ssh2.pcapng", "ssh-r.pcap", "ipv6.pcapng", "v6.pcap"].map { Paths.capture("ja4/" + $0) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.repository + "/scripts/app-check.py", "--flowdb", binary] + captures
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let last = out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(process.terminationStatus == 0, "\(out)")
        let numbers = last.split(separator: " ").compactMap { Int($0.replacingOccurrences(of: ",", with: "")) }
        #expect(numbers.count == 2 && numbers[0] == numbers[1] && numbers[0] > 1500, "\(last)")
    }
}

/// TLS after a protocol's own upgrade (issue 25, item 8): real handshakes of
/// `openssl s_client -starttls PROTO`, and FreeRDP's client for RDP
/// (scripts/make-starttls-traffic.py). The binary upgrades (PostgreSQL, LDAP,
/// MySQL, RDP) were given up on before their ClientHello came; every one is now
/// recorded, with its preamble named.
@Suite struct TLSPreambleTests {
    @Test func everyUpgradeIsRecordedAndNamed() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.fixture("tls/starttls.pcap")])
        let archive = try Archive(path: db, create: false)
        let rows = try ApplicationTablesTests.rows(archive, """
            SELECT f.server_port, f.app, t.preamble, t.server_name, t.version FROM flow f LEFT JOIN tls t ON t.flow_id = f.id
            ORDER BY f.server_port
            """)
        #expect(rows == [
            ["10021", "tls", "ftp", "server.flowdb.test", "TLSv1.3"],
            ["10110", "tls", "pop3", "server.flowdb.test", "TLSv1.3"],
            ["10143", "tls", "imap", "server.flowdb.test", "TLSv1.3"],
            ["10389", "tls", "ldap", "server.flowdb.test", "TLSv1.3"],
            ["13306", "tls", "mysql", "server.flowdb.test", "TLSv1.3"],
            ["13389", "tls", "rdp", "127.0.0.1", "TLSv1.3"],      // FreeRDP names the host it was given
            ["15222", "tls", "xmpp", "server.flowdb.test", "TLSv1.3"],
            ["15432", "tls", "postgresql", "server.flowdb.test", "TLSv1.3"],
        ])
        // a handshake from the first byte has no preamble
        let direct = Paths.temporaryDirectory() + "/b.sqlite"
        _ = try Ingestor(path: direct, options: IngestOptions()).run(paths: [Paths.capture("ja4/tls12.pcap")])
        let plain = try ApplicationTablesTests.rows(try Archive(path: direct, create: false), "SELECT count(*), count(preamble) FROM tls")
        #expect(plain.first?[1] == "0" && plain.first?[0] != "0")
    }

    /// ClientHellos in SSL 2.0's record format (scripts/make-sslv2-hello-traffic.py,
    /// against `openssl s_server`): recorded with the version they offer; the
    /// SSLv2-compatible one that OpenSSL answered, with the server's side too.
    @Test func sslv2RecordHellosAreRecorded() throws {
        let db = Paths.temporaryDirectory() + "/v2.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.fixture("tls/sslv2-hello.pcap")])
        let rows = try ApplicationTablesTests.rows(try Archive(path: db, create: false), """
            SELECT f.app, t.client_version, t.version, t.cipher, t.ja3 IS NULL, t.ja4 IS NULL, t.subject
            FROM flow f JOIN tls t ON t.flow_id = f.id ORDER BY f.id
            """)
        #expect(rows == [
            ["tls", "TLSv1.2", "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", "1", "1", "O=flowdb test,CN=legacy.flowdb.test"],
            ["tls", "SSLv2", "", "", "1", "1", ""],
        ])
    }

    @Test func sslv2RecordParsing() throws {
        // version 3.3, specs: TLS 0x002f, SSL 2.0's 0x0700c0, no session, a 16-byte challenge
        let body: [UInt8] = [1, 3, 3, 0, 6, 0, 0, 0, 16, 0, 0, 0x2f, 7, 0, 0xc0] + [UInt8](repeating: 0xab, count: 16)
        let record = [0x80, UInt8(body.count)] + body
        let hello = try #require(record.withUnsafeBytes { TLS.findClientHello(in: $0) })
        #expect(hello.offset == 0 && hello.hello.sslv2Record && hello.hello.legacyVersion == 0x0303)
        #expect(hello.hello.cipherSuites == [0x002f] && hello.hello.sslv2CipherKinds == [0x0700c0])
        // lengths that do not add up, a challenge too short, a cut record: none
        var wrong = record
        wrong[1] += 1
        #expect(wrong.withUnsafeBytes { TLS.sslv2ClientHello($0) } == nil)
        var short = record
        short[10] = 8
        #expect(short.withUnsafeBytes { TLS.sslv2ClientHello($0) } == nil)
        #expect(Array(record.dropLast()).withUnsafeBytes { TLS.sslv2ClientHello($0) } == nil)
        #expect(TLS.mayBeginSSLv2Hello([0x80, 0x2e, 1, 3, 1]) && TLS.mayBeginSSLv2Hello([0x80]))
        #expect(!TLS.mayBeginSSLv2Hello([0x80, 0x2e, 2]) && !TLS.mayBeginSSLv2Hello([0x80, 0x2e, 1, 3, 4]))
    }

    @Test func preamblesByTheirBytes() {
        #expect(TLSPreamble.name(client: Array("EHLO me\r\nSTARTTLS\r\n".utf8), server: Array("220 mx\r\n".utf8)) == "smtp")
        #expect(TLSPreamble.name(client: Array("a1 CAPABILITY\r\na2 STARTTLS\r\n".utf8), server: Array("* OK\r\n".utf8)) == "imap")
        #expect(TLSPreamble.name(client: Array("CONNECT h:443 HTTP/1.1\r\n\r\n".utf8), server: []) == "http-connect")
        #expect(TLSPreamble.name(client: [5, 1, 0], server: [5, 0]) == "socks")
        #expect(TLSPreamble.name(client: [3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0], server: []) == "rdp")
        #expect(TLSPreamble.name(client: Array("HELLO\r\n".utf8), server: []) == "other")
        #expect(TLSPreamble.name(client: [UInt8](), server: Array("220 x\r\n".utf8)) == nil)
        #expect(!TLSPreamble.mayPrecedeTLS(client: [0, 1, 2, 3, 4, 5, 6, 7], server: []))
        #expect(TLSPreamble.mayPrecedeTLS(client: [0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f], server: []))
    }
}
