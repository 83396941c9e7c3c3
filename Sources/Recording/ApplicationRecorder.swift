import Applications
import Digest
import Reassembly
import Store

/// Recognises HTTP, TLS and SSH in a flow's reassembled bytes, by content, and
/// turns what they say into rows of `http`, `tls` and `ssh` (schema/0007).
///
/// Until a flow's protocol is known, the first bytes of each direction are kept
/// (`window`, 4 KB; 32 KB of the server's side once TLS is seen, for its
/// certificates): an HTTP request line, an SSH identification line, or a TLS
/// ClientHello (at the start, or after a SOCKS, CONNECT or STARTTLS preamble)
/// decides it. HTTP is then parsed as it arrives; TLS and SSH are read from the
/// kept bytes once their hellos are there. All flows together keep at most
/// `budget` bytes: past it, flows still undecided are given up.
final class ApplicationState {
    enum Kind { case undecided, http, tls, ssh, dns, none }
    var kind = Kind.undecided
    /// The first bytes of each direction (while needed), and the time of each one's first byte.
    var prefix = PerDirection<[UInt8]>([])
    var firstByteTime = PerDirection<Int64?>(nil)
    /// A direction had a gap before its prefix was complete.
    var cut = PerDirection(false)
    /// A direction delivered more than its kept bytes.
    var truncated = PerDirection(false)
    var http: HTTPConnection?
    /// Capture time of each request's first byte, by depth.
    var requestTimes: [Int: Int64] = [:]
    /// Transactions already written.
    var httpWritten = 0
    var recorded = false
}

final class ApplicationRecorder {
    static let window = 4096
    static let tlsServerWindow = 32768
    static let serverFirstWindow = 65536
    /// DNS over TCP: the messages of each direction read (a zone transfer's first 64 KB).
    static let dnsWindow = 65536
    let budget: Int
    private(set) var held = 0

    init(budget: Int = 64 << 20) {
        self.budget = budget
    }

    /// A delivery of `flow` in direction `dir` (0: client to server).
    func delivered(_ flow: FlowState, dir: Int, sg: ScatterGather, length: Int, skip: Int, writer: ArchiveWriter) {
        if flow.app == nil {
            guard length > 0, !flow.applicationSeen else { return }
            flow.applicationSeen = true
            // A direction whose start was not captured is read from where it was:
            // a capture often begins mid-connection, at a message boundary.
            flow.app = ApplicationState()
        }
        guard let app = flow.app else { return }
        // A gap before anything of a direction was read is where it begins;
        // after, the bytes that follow cannot be placed.
        if skip != 0 {
            switch app.kind {
            case .http:
                // skip > 0: the gap's length, which the stream's offsets count too
                let length = skip > 0 ? skip : nil
                if dir == 0, (app.http?.client.offset ?? 0) > 0 { app.http?.clientGap(length: length) }
                if dir == 1, (app.http?.server.offset ?? 0) > 0 { app.http?.serverGap(length: length) }
            case .undecided, .tls, .ssh, .dns:
                if !app.prefix[dir].isEmpty { app.cut[dir] = true }
            case .none:
                break
            }
        }
        guard length > 0 else { return }
        switch app.kind {
        case .none:
            return
        case .http:
            feedHTTP(app, dir: dir, sg: sg, flow: flow)
            keepPrefix(app, dir: dir, sg: sg, limit: Self.window)      // for a CONNECT tunnel's TLS
            if let http = app.http, http.transactions.count - app.httpWritten > 1024 { writeHTTP(flow, app, writer, final: false) }
        case .undecided:
            let before = app.prefix[dir].count
            // The server's bytes delivered before any of the client's (a capture
            // begun mid-connection is delivered at its end) are kept longer, so that
            // an HTTP response is whole when its request arrives.
            let limit = dir == 1 && app.prefix[0].isEmpty ? Self.serverFirstWindow : Self.window
            keepPrefix(app, dir: dir, sg: sg, limit: limit)
            decide(flow, app, writer, current: (dir, before, sg))
        case .tls:
            guard !app.recorded else { return }
            keepPrefix(app, dir: dir, sg: sg, limit: dir == 1 ? Self.tlsServerWindow : Self.window)
            if tlsComplete(app) {
                writeTLS(flow, app, writer)
                release(app)        // nothing more is read from its bytes
            }
        case .dns:
            keepPrefix(app, dir: dir, sg: sg, limit: Self.dnsWindow)
        case .ssh:
            guard !app.recorded else { return }
            keepPrefix(app, dir: dir, sg: sg, limit: Self.window)
            if sshComplete(app) {
                writeSSH(flow, app, writer)
                release(app)
            }
        }
    }

    /// A stream of the flow completed: what is known is written.
    func completed(_ flow: FlowState, writer: ArchiveWriter) {
        guard let app = flow.app else { return }
        if app.kind == .undecided { decide(flow, app, writer, atEnd: true) }
        switch app.kind {
        case .http:
            app.http?.close()
            let tunnel = app.http?.transactions.contains { $0.request?.method == "CONNECT" } ?? false
            writeHTTP(flow, app, writer, final: true)
            if tunnel, !app.recorded {
                // TLS inside the tunnel: its hellos follow the CONNECT exchange
                app.prefix[0].withUnsafeBytes { b in
                    if TLS.findClientHello(in: b) != nil { writeTLS(flow, app, writer) }
                }
            }
        case .tls:
            if !app.recorded { writeTLS(flow, app, writer) }
        case .ssh:
            if !app.recorded { writeSSH(flow, app, writer) }
        case .dns:
            writeDNS(flow, app, writer)
        case .undecided, .none:
            break
        }
        release(app)
    }

    // MARK: deciding

    /// `current`: the delivery that brought the direction's newest bytes (the
    /// kept bytes from `before` on are its first ones), which HTTP then reads whole.
    private func decide(_ flow: FlowState, _ app: ApplicationState, _ writer: ArchiveWriter, atEnd: Bool = false,
                        current: (dir: Int, before: Int, sg: ScatterGather)? = nil) {
        let client = app.prefix[0], server = app.prefix[1]
        // A response seen before its request (a capture begun mid-connection, whose
        // directions were delivered at the end) waits for the request, so that
        // the two are paired; alone at the end, it is recorded alone.
        if client.isEmpty && server.starts(with: Array("HTTP/1.".utf8)) && !atEnd { return }
        if Self.looksLikeRequest(client) || (client.isEmpty && server.starts(with: Array("HTTP/1.".utf8))) {
            app.kind = .http
            var http = HTTPConnection()
            for dir in 0..<2 {
                let kept = app.prefix[dir]
                let earlier = current?.dir == dir ? current!.before : kept.count
                kept.withUnsafeBytes { b in
                    let part = UnsafeRawBufferPointer(rebasing: b[0..<earlier])
                    if dir == 0 { http.feedClient(part) } else { http.feedServer(part) }
                }
                if app.truncated[dir] && current?.dir != dir {
                    if dir == 0 { http.clientGap() } else { http.serverGap() }
                }
                if let (d, _, sg) = current, d == dir {
                    sg.forEachChunk { piece in if dir == 0 { http.feedClient(piece) } else { http.feedServer(piece) } }
                }
                if dir == 0 { noteRequestTimes(app, http: http, base: 0, time: { _ in app.firstByteTime[0] }) }
            }
            app.http = http
            // a CONNECT without a Host field names its host in its target (authority form)
            let first = http.transactions.first?.request
            writer.setApplication(flow, app: "http", host: first?.header("host") ?? (first?.method == "CONNECT" ? first?.uri : nil))
            return
        }
        if client.starts(with: Array("SSH-".utf8)) || server.starts(with: Array("SSH-".utf8)) {
            app.kind = .ssh
            writer.setApplication(flow, app: "ssh", host: nil)
            if sshComplete(app) || atEnd { writeSSH(flow, app, writer) }
            return
        }
        // DNS over TCP, on the ports Zeek reads it: length-prefixed messages
        if DNS.isPort(flow.key.sourcePort) || DNS.isPort(flow.key.destinationPort), client.count >= 2 {
            let first = 2 + (Int(client[0]) << 8 | Int(client[1]))
            if first >= 14 && client.count < first && !atEnd && !app.cut[0] { return }      // its first message is still coming
            if client.withUnsafeBytes({ !DNS.tcpMessages($0).isEmpty }) {
                app.kind = .dns
                return
            }
        }
        let hello = client.withUnsafeBytes { TLS.findClientHello(in: $0) }
        if let hello {
            app.kind = .tls
            writer.setApplication(flow, app: "tls", host: hello.hello.serverName)
            if tlsComplete(app) || atEnd { writeTLS(flow, app, writer) }
            return
        }
        // Bytes that begin neither a TLS record, nor SOCKS, nor a line of text
        // (HTTP, SSH, SMTP, IMAP, POP3, FTP before STARTTLS) are none of these.
        // A binary upgrade before TLS (PostgreSQL's SSLRequest, LDAP's StartTLS,
        // MySQL's SSL request, RDP's negotiation) waits for its ClientHello.
        if (!Self.plausible(client) || (client.isEmpty && !Self.plausible(server)))
            && !TLSPreamble.mayPrecedeTLS(client: client, server: server) {
            app.kind = .none
            release(app)
            return
        }
        // Given up once the client's first bytes are not recognised (the server's
        // alone decide nothing while the client's are still to come).
        if atEnd || client.count >= Self.window || (server.count >= Self.serverFirstWindow && !client.isEmpty) || held > budget
            || (app.cut[0] && app.cut[1]) {
            app.kind = .none
            release(app)
        }
    }

    /// Whether the first bytes could begin a protocol recognised here (or a
    /// preamble before TLS): a TLS record, SOCKS 4 or 5, or printable text.
    static func plausible(_ b: [UInt8]) -> Bool {
        guard let first = b.first else { return true }
        if first == 0x16 || first == 0x04 || first == 0x05 || TLS.mayBeginSSLv2Hello(b) { return true }
        return b.prefix(16).allSatisfy { ($0 >= 0x20 && $0 < 0x7f) || $0 == 0x0d || $0 == 0x0a || $0 == 0x09 }
    }

    /// An HTTP request line begins the bytes: a common method, a space, a target;
    /// or any other method token on a whole request line with its version
    /// ("PROPFIND /x HTTP/1.1", a custom method), which plain text protocols
    /// (SMTP's "EHLO host") do not have.
    static func looksLikeRequest(_ b: [UInt8]) -> Bool {
        var i = 0
        while i < b.count && i < 16 && b[i] >= 0x41 && b[i] <= 0x5a { i += 1 }
        if i >= 3, i < b.count, b[i] == 0x20, i + 1 < b.count, b[i + 1] != 0x20,
           ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH", "PROPFIND",
            "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT"].contains(String(decoding: b[0..<i], as: UTF8.self)) {
            return true
        }
        guard let end = b.prefix(HTTPDirectionParser.maxLine).firstIndex(of: 0x0a),
              let request = HTTPDirectionParser.requestLine(b[..<end]) else { return false }
        return request.version != "0.9"
    }

    // MARK: bytes

    private func keepPrefix(_ app: ApplicationState, dir: Int, sg: ScatterGather, limit: Int) {
        guard !app.cut[dir], app.prefix[dir].count < limit, held < budget else {
            app.truncated[dir] = true
            return
        }
        if app.firstByteTime[dir] == nil { app.firstByteTime[dir] = sg.captureInfo(at: 0).timestamp }
        var room = limit - app.prefix[dir].count
        let before = app.prefix[dir].count
        sg.forEachChunk { piece in
            let n = min(room, piece.count)
            if n < piece.count { app.truncated[dir] = true }
            guard n > 0 else { return }
            app.prefix[dir].append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[0..<n]))
            room -= n
        }
        held += app.prefix[dir].count - before
    }

    private func feedHTTP(_ app: ApplicationState, dir: Int, sg: ScatterGather, flow: FlowState) {
        guard var http = app.http else { return }
        let base = dir == 0 ? http.client.offset : http.server.offset
        sg.forEachChunk { piece in
            if dir == 0 { http.feedClient(piece) } else { http.feedServer(piece) }
        }
        if dir == 0 {
            noteRequestTimes(app, http: http, base: base) { offset in sg.captureInfo(at: Int(offset)).timestamp }
        }
        app.http = http
    }

    /// Times of the requests whose first byte was in the bytes just fed (from `base` on).
    private func noteRequestTimes(_ app: ApplicationState, http: HTTPConnection, base: Int64, time: (Int64) -> Int64?) {
        for t in http.transactions.reversed() {
            guard let r = t.request else { continue }
            if app.requestTimes[t.depth] != nil { break }
            if r.start >= base, let ts = time(r.start - base) { app.requestTimes[t.depth] = ts }
        }
    }

    /// The DNS messages kept of each direction, as `dns` rows. Over TCP the kept
    /// bytes carry no time of their own: a direction's messages take the time of its
    /// first byte.
    private func writeDNS(_ flow: FlowState, _ app: ApplicationState, _ writer: ArchiveWriter) {
        for dir in 0..<2 {
            let time = app.firstByteTime[dir] ?? 0
            app.prefix[dir].withUnsafeBytes { bytes in
                for (_, message) in DNS.tcpMessages(bytes) {
                    DNSRecorder.message(message, at: time, flow: flow, writer: writer)
                }
            }
        }
        DNSRecorder.finish(flow, writer: writer)
    }

    private func release(_ app: ApplicationState) {
        held -= app.prefix[0].count + app.prefix[1].count
        app.prefix = PerDirection([])
    }

    // MARK: TLS

    /// Whether the handshake shows all it will in the clear: the server's flight
    /// went on to encrypted records (and, for TLS 1.3, the client's too), or the
    /// kept bytes are full or cut.
    private func tlsComplete(_ app: ApplicationState) -> Bool {
        if app.prefix[1].count >= Self.tlsServerWindow || app.cut[1] { return true }
        guard let flight = app.prefix[1].withUnsafeBytes({ TLS.serverFlight(in: $0) }),
              flight.changeCipherSpec || flight.applicationData else { return false }
        guard flight.hello.version >= 0x0304 else { return true }
        if app.prefix[0].count >= Self.window || app.cut[0] { return true }
        guard let at = app.prefix[0].withUnsafeBytes({ TLS.findClientHello(in: $0)?.offset }) else { return true }
        return Self.hasEncryptedRecord(app.prefix[0], after: at)
    }

    private func writeTLS(_ flow: FlowState, _ app: ApplicationState, _ writer: ArchiveWriter) {
        app.recorded = true
        guard let (at, hello) = app.prefix[0].withUnsafeBytes({ TLS.findClientHello(in: $0) }) else { return }
        let flight = app.prefix[1].withUnsafeBytes { TLS.serverFlight(in: $0) }
        var row = Tables.tls.row()
        row.set("flow_id", flow.handle.id)
        row.set("ts", app.firstByteTime[0])
        row.set("server_name", hello.serverName)
        row.set("alpn_offered", hello.alpn.isEmpty ? nil
                : "[" + hello.alpn.map { JSONText.string(String(decoding: $0, as: UTF8.self)) }.joined(separator: ",") + "]")
        // JA3 and JA4 are defined over TLS ClientHello messages; an SSL 2.0 record
        // has none (tshark computes neither for it)
        if !hello.sslv2Record {
            row.set("ja3", MD5.hex(TLS.ja3String(hello)))
            row.set("ja4", TLS.ja4(hello) { String(SHA256.hex(Array($0.utf8)).prefix(12)) })
        }
        row.set("client_version", TLS.versionName(hello.offeredVersion))
        // what the client spoke before its ClientHello: a protocol's upgrade, a proxy's request
        row.set("preamble", at > 0 ? TLSPreamble.name(client: app.prefix[0][..<at], server: app.prefix[1]) : nil)
        row.set("resumed", false)
        row.set("established", false)
        if let flight {
            let s = flight.hello
            row.set("version", TLS.versionName(s.version))
            row.set("cipher", TLS.cipherSuiteNames[s.cipherSuite] ?? "0x" + String(s.cipherSuite, radix: 16))
            if let group = s.keyShareGroup ?? flight.keyExchangeGroup {
                row.set("curve", TLS.groupNames[group] ?? "0x" + String(group, radix: 16))
            }
            row.set("next_protocol", s.alpn.map { String(decoding: $0, as: UTF8.self) })
            row.set("ja3s", MD5.hex(TLS.ja3sString(s)))
            row.set("resumed", s.acceptedPSK || (!s.sessionID.isEmpty && s.sessionID == hello.sessionID))
            if s.version >= 0x0304 {
                // TLS 1.3 encrypts the rest of the handshake: established once both sides sent encrypted records
                row.set("established", flight.applicationData && Self.hasEncryptedRecord(app.prefix[0], after: at))
            } else {
                row.set("established", flight.changeCipherSpec)
            }
            if !flight.certificates.isEmpty {
                row.set("cert_chain_sha256", "[" + flight.certificates.map { "\"" + SHA256.hex($0) + "\"" }.joined(separator: ",") + "]")
                if let leaf = CertificateFields(der: flight.certificates[0]) {
                    row.set("subject", leaf.subject)
                    row.set("issuer", leaf.issuer)
                    row.set("serial", leaf.serial)
                    row.set("not_before", leaf.notBefore)
                    row.set("not_after", leaf.notAfter)
                }
            }
        }
        writer.addTLS(row)
    }

    /// Whether a record of type 23 (encrypted) follows the handshake record at `start`.
    static func hasEncryptedRecord(_ bytes: [UInt8], after start: Int) -> Bool {
        var p = start
        while p + 5 <= bytes.count {
            if bytes[p] == 23 { return true }
            guard bytes[p + 1] == 3 else { return false }
            p += 5 + (Int(bytes[p + 3]) << 8 | Int(bytes[p + 4]))
        }
        return false
    }

    // MARK: SSH

    private func sshComplete(_ app: ApplicationState) -> Bool {
        for dir in 0..<2 {
            let done = app.prefix[dir].withUnsafeBytes { b in
                SSH.identification(in: b).map { SSH.kexInit(in: b, from: $0.end) != nil } ?? false
            }
            if !done && !app.cut[dir] && app.prefix[dir].count < Self.window { return false }
        }
        return true
    }

    private func writeSSH(_ flow: FlowState, _ app: ApplicationState, _ writer: ArchiveWriter) {
        app.recorded = true
        var ids = PerDirection<SSHIdentification?>(nil)
        var kex = PerDirection<SSHKexInit?>(nil)
        for dir in 0..<2 {
            app.prefix[dir].withUnsafeBytes { b in
                ids[dir] = SSH.identification(in: b)
                kex[dir] = ids[dir].flatMap { SSH.kexInit(in: b, from: $0.end) }
            }
        }
        guard ids[0] != nil || ids[1] != nil else { return }
        var row = Tables.ssh.row()
        row.set("flow_id", flow.handle.id)
        row.set("client", ids[0]?.line)
        row.set("server", ids[1]?.line)
        row.set("version", (ids[1] ?? ids[0])?.protocolVersion)
        row.set("client_software", ids[0]?.software)
        row.set("server_software", ids[1]?.software)
        if let k = kex[0] {
            let text = SSH.hasshString(k)
            row.set("hassh_string", text)
            row.set("hassh", MD5.hex(text))
        }
        if let k = kex[1] {
            let text = SSH.hasshServerString(k)
            row.set("hassh_server_string", text)
            row.set("hassh_server", MD5.hex(text))
        }
        if let c = kex[0], let s = kex[1] {
            row.set("kex_alg", SSH.chosen(client: c.kex, server: s.kex))
            row.set("host_key_alg", SSH.chosen(client: c.hostKey, server: s.hostKey))
            row.set("cipher_alg", SSH.chosen(client: c.encryptionClientToServer, server: s.encryptionClientToServer))
            row.set("mac_alg", SSH.chosen(client: c.macClientToServer, server: s.macClientToServer))
            row.set("compression_alg", SSH.chosen(client: c.compressionClientToServer, server: s.compressionClientToServer))
        }
        writer.addSSH(row)
    }

    // MARK: HTTP

    private func writeHTTP(_ flow: FlowState, _ app: ApplicationState, _ writer: ArchiveWriter, final: Bool) {
        guard let http = app.http else { return }
        let all = http.transactions
        // Mid-flow, only transactions whose successor's response began are surely complete.
        let upTo = final ? all.count : max(app.httpWritten, all.count - 16)
        guard upTo > app.httpWritten else { return }
        for t in all[app.httpWritten..<upTo] {
            writer.addHTTP(Self.httpRow(flowID: flow.handle.id, t, ts: app.requestTimes[t.depth]))
            app.requestTimes[t.depth] = nil
        }
        // The parser forgets what was written; depths go on counting.
        app.http?.forget(upTo)
        app.httpWritten = 0
    }

    /// An HTTP transaction's row of `Tables.http`.
    static func httpRow(flowID: Int64, _ t: HTTPTransaction, ts: Int64?) -> RowValues {
        func headers(_ m: HTTPMessage?) -> String? {
            m.map { "[" + $0.headers.map { "[" + JSONText.string($0.name) + "," + JSONText.string($0.value) + "]" }
                .joined(separator: ",") + "]" }
        }
        let q = t.request, r = t.response
        var row = Tables.http.row()
        row.set("flow_id", flowID)
        row.set("trans_depth", t.depth)
        row.set("ts", ts)
        row.set("method", q?.method)
        row.set("host", q?.header("host"))
        row.set("uri", q?.uri)
        row.set("version", q?.version ?? r?.version)
        row.set("user_agent", q?.header("user-agent"))
        row.set("referrer", q?.header("referer"))
        row.set("origin", q?.header("origin"))
        // an HTTP/0.9 response has no status line: no code, no message
        let status = r.flatMap { $0.statusCode > 0 ? $0 : nil }
        row.set("status_code", status.map { Int($0.statusCode) })
        row.set("status_msg", status?.reason)
        row.set("informational", t.informational.isEmpty ? nil : "[" + t.informational.map(String.init).joined(separator: ",") + "]")
        row.set("request_content_type", q?.header("content-type"))
        row.set("response_content_type", r?.header("content-type"))
        row.set("request_headers", headers(q))
        row.set("response_headers", headers(r))
        for (prefix, message) in [("request_", q), ("response_", r)] {
            row.set(prefix + "body_len", message?.bodyLength ?? 0)
            row.set(prefix + "body_offset", message?.bodyStart)
            row.set(prefix + "body_wire_len", message?.bodyWireLength)
            row.set(prefix + "chunked", message?.chunked == true)
        }
        row.set("incomplete", q?.incomplete == true || r?.incomplete == true || r == nil)
        return row
    }
}
