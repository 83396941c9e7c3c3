/// What a connection spoke before its TLS ClientHello: the upgrade of a protocol
/// of its own (STARTTLS and its kin), a proxy's request, or nothing. Named as the
/// `tls.preamble` column names it; read from the bytes each side sent before the
/// ClientHello (the client's up to it, the server's first ones).
public enum TLSPreamble {
    /// PostgreSQL's SSLRequest: length 8, code 80877103.
    static let postgresSSLRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
    /// The OID of LDAP's StartTLS extended operation, as its request carries it.
    static let ldapStartTLS = Array("1.3.6.1.4.1.1466.20037".utf8)

    /// The protocol whose upgrade came before the ClientHello; nil when the client
    /// sent nothing before it. "other" when what came before is none of these.
    public static func name(client: some Collection<UInt8>, server: some Collection<UInt8>) -> String? {
        let c = Array(client.prefix(4096)), s = Array(server.prefix(4096))
        guard !c.isEmpty else { return nil }
        if let binary = binaryName(client: c, server: s) { return binary }
        let lines = c.split(separator: 0x0a).map { line -> String in
            String(decoding: line.last == 0x0d ? line.dropLast() : line, as: UTF8.self).uppercased()
        }
        let serverText = String(decoding: s.prefix(16), as: UTF8.self).uppercased()
        if lines.first?.hasPrefix("CONNECT ") == true { return "http-connect" }
        if lines.contains(where: { $0.contains("<STARTTLS") }) { return "xmpp" }
        if lines.contains("STLS") { return "pop3" }
        if lines.contains(where: { $0.hasPrefix("AUTH TLS") || $0.hasPrefix("AUTH SSL") }) { return "ftp" }
        if lines.contains(where: { $0.hasSuffix(" STARTTLS") }) { return "imap" }          // "a001 STARTTLS"
        if lines.contains("STARTTLS") {
            if serverText.hasPrefix("* OK") { return "imap" }
            return lines.contains { $0.hasPrefix("EHLO") || $0.hasPrefix("HELO") } ? "smtp" : "other"
        }
        return "other"
    }

    /// Preambles that are not lines of text.
    static func binaryName(client c: [UInt8], server s: [UInt8]) -> String? {
        if c.starts(with: postgresSSLRequest) { return "postgresql" }
        if c.first == 0x30, contains(c, ldapStartTLS) { return "ldap" }
        // MySQL: the server's greeting (sequence 0, protocol 10), the client's SSL request (sequence 1)
        if s.count > 4, s[3] == 0, s[4] == 0x0a, c.count > 4, c[3] == 1 { return "mysql" }
        // RDP: a TPKT (version 3) carrying an X.224 connection request
        if c.count > 5, c[0] == 3, c[1] == 0, c[5] & 0xf0 == 0xe0 { return "rdp" }
        if c.first == 4 || c.first == 5 { return "socks" }
        return nil
    }

    /// Whether the first bytes of a connection may be a binary preamble to TLS
    /// (so that the bytes are kept until its ClientHello comes).
    public static func mayPrecedeTLS(client: some Collection<UInt8>, server: some Collection<UInt8>) -> Bool {
        let c = Array(client.prefix(256)), s = Array(server.prefix(16))
        if c.isEmpty {
            // the server speaks first: MySQL's greeting
            return s.count > 4 && s[3] == 0 && s[4] == 0x0a
        }
        return binaryName(client: c, server: s) != nil
    }

    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
