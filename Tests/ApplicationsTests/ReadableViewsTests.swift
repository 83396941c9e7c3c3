import Foundation
import Testing
import TestSupport
import Ingest
import Store

/// Migration 0010's views on the real HTTP, TLS and SSH of Tests/Fixtures/apps/app.pcap
/// (scripts/make-app-traffic.sh): `http_log`, `tls_log` and `ssh_log` show the
/// tables' rows with ISO 8601 times, the connection's endpoints and readable flags,
/// and `flows` shows each connection's application and host.
@Suite struct ReadableViewsTests {
    struct IngestFailed: Error { var failures: String }

    /// The archive, ingested once; each query opens it on its own connection.
    static let database: Result<String, any Error> = Result {
        let db = Paths.temporaryDirectory() + "/app.sqlite"
        let report = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.fixture("apps/app.pcap")])
        guard report.failures.isEmpty else { throw IngestFailed(failures: "\(report.failures)") }
        return db
    }

    /// Every row of a query, NULL shown as "NULL".
    static func rows(_ sql: String) throws -> [[String]] {
        let archive = try Archive(path: try database.get(), create: false)
        let s = try archive.connection.prepare(sql)
        var out: [[String]] = []
        while try s.step() { out.append((0..<s.columnCount).map { s.text($0) ?? "NULL" }) }
        return out
    }

    static func columns(_ view: String) throws -> [String] {
        try rows("SELECT name FROM pragma_table_info('\(view)')").map { $0[0] }
    }

    @Test func viewsHaveZeeksOrderThenTheTablesOtherColumns() throws {
        let id = ["flow_id", "client_ip", "client_port", "server_ip", "server_port"]
        #expect(try Self.columns("http_log") == ["ts"] + id + [
            "trans_depth", "method", "host", "uri", "referrer", "version", "user_agent", "origin",
            "request_body_len", "response_body_len", "status_code", "status_msg", "informational",
            "request_content_type", "response_content_type", "request_headers", "response_headers",
            "request_body_offset", "request_body_wire_len", "response_body_offset", "response_body_wire_len",
            "request_chunked", "response_chunked", "incomplete"])
        #expect(try Self.columns("tls_log") == ["ts"] + id + [
            "version", "cipher", "curve", "server_name", "resumed", "next_protocol", "established",
            "cert_chain_sha256", "subject", "issuer", "client_version", "alpn_offered", "ja3", "ja3s", "ja4",
            "serial", "not_before", "not_after", "preamble"])
        #expect(try Self.columns("ssh_log") == ["ts"] + id + [
            "version", "client", "server", "cipher_alg", "mac_alg", "compression_alg", "kex_alg", "host_key_alg",
            "hassh", "hassh_server", "hassh_string", "hassh_server_string", "client_software", "server_software"])
        // every column of each table is shown (flow_id once)
        for (view, table) in [("http_log", "http"), ("tls_log", "tls"), ("ssh_log", "ssh"), ("dns_log", "dns")] {
            let tableColumns = try Self.columns(table)
            #expect(tableColumns.count > 10)
            #expect(Set(tableColumns).subtracting(try Self.columns(view)).isEmpty, "\(view) lacks a column of \(table)")
        }
    }

    @Test func httpLogShowsEachTransaction() throws {
        #expect(try Self.rows("SELECT count(*), count(DISTINCT flow_id) FROM http_log") == [["14", "10"]])
        #expect(try Self.rows("SELECT * FROM http_log WHERE flow_id = 1 AND trans_depth = 1") == [[
            "2026-11-29T21:44:22.804507Z", "1", "10.77.0.2", "47290", "10.77.0.1", "8080",
            "1", "GET", "10.77.0.1:8080", "/page.txt", "http://referrer.example/", "1.1", "flowdb-test/1.0", "NULL",
            "0", "5101", "200", "OK", "NULL", "NULL", "text/plain",
            #"[["Host","10.77.0.1:8080"],["User-Agent","flowdb-test/1.0"],["Accept","*/*"],["Referer","http://referrer.example/"]]"#,
            #"[["Server","SimpleHTTP/0.6 Python/3.11.7"],["Date","Sun, 29 Nov 2026 21:44:22 GMT"],["Content-type","text/plain"],["Content-Length","5101"],["Last-Modified","Sun, 29 Nov 2026 21:44:20 GMT"]]"#,
            "125", "0", "188", "5101", "no", "no", "no"]])
        // the flags, where they are set: a chunked gzip response, a chunked upload
        // after a 100 Continue on the one before, the CONNECT whose tunnel is TLS
        #expect(try Self.rows("""
            SELECT flow_id, method, uri, status_code, informational, request_chunked, response_chunked, incomplete
            FROM http_log WHERE informational IS NOT NULL OR 'yes' IN (request_chunked, response_chunked, incomplete)
            ORDER BY flow_id
            """) == [
            ["6", "GET", "/gzip/page.txt", "200", "NULL", "no", "yes", "no"],
            ["7", "POST", "/upload", "201", "[100]", "no", "no", "no"],
            ["8", "POST", "/upload", "201", "NULL", "yes", "no", "no"],
            ["10", "CONNECT", "server.flowdb.test:8443", "200", "NULL", "no", "no", "yes"],
        ])
    }

    @Test func tlsLogShowsEachHandshake() throws {
        #expect(try Self.rows("SELECT count(*), sum(resumed = 'yes'), sum(resumed = 'no'), sum(established = 'yes') FROM tls_log")
                == [["8", "5", "3", "8"]])
        #expect(try Self.rows("SELECT * FROM tls_log WHERE flow_id = 12") == [[
            "2026-11-29T21:44:25.145121Z", "12", "10.77.0.2", "54806", "10.77.0.1", "8443",
            "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "x25519", "server.flowdb.test", "no", "http/1.1", "yes",
            #"["60e6b264be98758e9792cca71a1165116d6068424e47ae5df359f83054c1ddda","60e6b264be98758e9792cca71a1165116d6068424e47ae5df359f83054c1ddda","9ee0de736c8d90e02533601a3bf1d25a8a9fac2dc05d47757e171378f856dc6d"]"#,
            "C=DE,O=Example GmbH,CN=server.flowdb.test", "O=flowdb,CN=flowdb test CA",
            "TLSv1.2", #"["h2","http/1.1"]"#,
            "87b9bfc7da97115ed2276737b09f8d74", "6aea764ee67f71caf3dc723118906199", "t12d2807h2_d943125447b4_a44c6288192a",
            "38CDD9EB88094EABC0BC305E9FF27217FC51A91A", "2026-11-29T21:44:20.000000Z", "2026-12-29T21:44:20.000000Z",
            "NULL"]])
        // the TLS after SMTP's STARTTLS: TLS 1.3, resumed by a pre-shared key, no certificate in the clear
        #expect(try Self.rows("""
            SELECT ts, server_port, version, resumed, established, subject, not_after, preamble FROM tls_log WHERE flow_id = 18
            """) == [["2026-11-29T21:44:26.436138Z", "2525", "TLSv1.3", "yes", "yes", "NULL", "NULL", "smtp"]])
    }

    @Test func sshLogShowsTheConnection() throws {
        let rows = try Self.rows("""
            SELECT ts, flow_id, client_ip, client_port, server_ip, server_port, version, client, server,
                   cipher_alg, mac_alg, compression_alg, kex_alg, host_key_alg, hassh, hassh_server,
                   client_software, server_software
            FROM ssh_log
            """)
        #expect(rows == [[
            "2026-11-29T21:44:25.950437Z", "17", "10.77.0.2", "34018", "10.77.0.1", "2222", "2.0",
            "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
            "chacha20-poly1305@openssh.com", "umac-64-etm@openssh.com", "none", "sntrup761x25519-sha512", "ssh-ed25519",
            "472b5de333ad665af5cbf10ff892c4df", "425d29fe50d8e4f5e37efb6e24bcf660", "OpenSSH_9.2p1", "OpenSSH_9.2p1"]])
        // ts is the connection's start, as `flows` prints it
        #expect(try Self.rows("SELECT start FROM flows WHERE id = 17") == [["2026-11-29T21:44:25.950437Z"]])
        #expect(try Self.rows("SELECT hassh_string LIKE 'sntrup761x25519-sha512,%;none,zlib@openssh.com,zlib' FROM ssh_log")
                == [["1"]])
    }

    @Test func flowsShowTheApplicationAfterTheEarlierColumns() throws {
        #expect(try Self.columns("flows") == ["id", "start", "duration", "client", "server", "c2s_bytes", "s2c_bytes",
                                              "packets", "gaps", "state", "conn_state", "history", "missed",
                                              "overlap_bytes", "encapsulation", "capture_id", "app", "app_host", "proto",
                                              "community_id", "overlap_conflicts"])
        #expect(try Self.rows("SELECT app, count(*), count(app_host) FROM flows GROUP BY app ORDER BY app")
                == [["http", "10", "10"], ["ssh", "1", "0"], ["tls", "7", "7"]])
        #expect(try Self.rows("SELECT id, server, app, app_host FROM flows WHERE id IN (1, 10, 11, 17) ORDER BY id") == [
            ["1", "10.77.0.1:8080", "http", "10.77.0.1:8080"],
            ["10", "10.77.0.1:3128", "http", "server.flowdb.test:8443"],
            ["11", "10.77.0.1:8443", "tls", "server.flowdb.test"],
            ["17", "10.77.0.1:2222", "ssh", "NULL"],
        ])
    }
}
