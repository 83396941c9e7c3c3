/// TLS handshake messages read from one direction of a reassembled TCP stream:
/// the ClientHello and ServerHello, which travel in the clear in every version,
/// and what analysts fingerprint them by (JA3, JA3S, JA4).
///
/// Everything here is bounded by the bytes given: lengths are checked before
/// every read, no count from the wire sizes an allocation beyond what the
/// message holds, and a malformed message gives nil rather than a guess.

/// A TLS ClientHello, as far as fingerprints and analysts need it.
public struct TLSClientHello: Sendable, Equatable {
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3).
    public var legacyVersion: UInt16 = 0
    /// Cipher suites, extensions (types), and the extensions' contents that
    /// fingerprints use, in the order sent, GREASE values included.
    public var cipherSuites: [UInt16] = []
    public var extensions: [UInt16] = []
    public var serverName: String?
    public var alpn: [[UInt8]] = []
    public var supportedVersions: [UInt16] = []
    public var signatureAlgorithms: [UInt16] = []
    public var supportedGroups: [UInt16] = []
    public var ecPointFormats: [UInt8] = []
    public var sessionID: [UInt8] = []
    /// The hello came in SSL 2.0's record format (a scanner's or an old client's
    /// SSLv2-compatible hello, RFC 5246 appendix E.2): `cipherSuites` are its TLS
    /// suites (the 3-byte specs whose first byte is 0), `sslv2CipherKinds` its
    /// SSL 2.0 ones, and it has no extensions.
    public var sslv2Record = false
    public var sslv2CipherKinds: [UInt32] = []
    public init() {}

    /// The highest version offered: from supported_versions when present (TLS 1.3
    /// is only offered there), else `legacy_version`. GREASE values are ignored.
    public var offeredVersion: UInt16 {
        supportedVersions.filter { !TLS.isGREASE($0) }.max() ?? legacyVersion
    }
}

/// A TLS ServerHello.
public struct TLSServerHello: Sendable, Equatable {
    public var legacyVersion: UInt16 = 0
    public var cipherSuite: UInt16 = 0
    public var extensions: [UInt16] = []
    /// The version chosen through supported_versions (TLS 1.3), if any.
    public var selectedVersion: UInt16?
    /// The ALPN protocol chosen, if any.
    public var alpn: [UInt8]?
    public var sessionID: [UInt8] = []
    /// TLS 1.3: the group of the server's key share, and whether it accepted a
    /// pre-shared key (a resumption).
    public var keyShareGroup: UInt16?
    public var acceptedPSK = false
    public init() {}

    /// The version negotiated.
    public var version: UInt16 { selectedVersion ?? legacyVersion }
}

public enum TLS {
    /// Values reserved by RFC 8701 to keep implementations tolerant: 0x0a0a,
    /// 0x1a1a, ... 0xfafa. Fingerprints leave them out.
    @inlinable
    public static func isGREASE(_ v: UInt16) -> Bool {
        v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
    }

    /// The largest handshake message read (a ClientHello is a few hundred bytes
    /// to a few KB; RFC 8446 allows 2^24 - 1, which a stream need not be trusted with).
    public static let maxHandshake = 1 << 16

    /// The first handshake message of type `type` in the start of a stream
    /// (`bytes`: one direction from its first byte), reassembled across TLS
    /// records, or nil when the stream does not start with TLS handshake
    /// records or the message is cut. Records of other types before it end the search.
    public static func handshakeMessage(_ type: UInt8, in bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var message: [UInt8] = []
        var position = 0
        while position + 5 <= bytes.count {
            let contentType = bytes[position]
            let major = bytes[position + 1]
            let length = Int(bytes[position + 3]) << 8 | Int(bytes[position + 4])
            // handshake records of SSL 3.0 to TLS 1.3 (record version 3.x)
            guard contentType == 22, major == 3, length > 0, length <= 16384 + 2048 else { return nil }
            let start = position + 5
            let end = min(start + length, bytes.count)
            message.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            position = start + length
            // Is the first message whole?
            if message.count >= 4 {
                guard message[0] == type else { return nil }
                let needed = Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
                guard needed <= maxHandshake else { return nil }
                if message.count >= 4 + needed { return Array(message[0..<(4 + needed)]) }
            }
            if end < start + length { return nil }      // the stream ends inside the record
        }
        return nil
    }

    /// The ClientHello a client stream carries: at its start, or after a tunnel's
    /// or proxy's preamble (SOCKS, an HTTP CONNECT, a STARTTLS exchange) within
    /// its first `window` bytes. A candidate must be a whole handshake record
    /// whose message parses as a ClientHello; the first one is taken.
    public static func findClientHello(in bytes: UnsafeRawBufferPointer, window: Int = 16384) -> (offset: Int, hello: TLSClientHello)? {
        if let hello = sslv2ClientHello(bytes) { return (0, hello) }
        return find(1, in: bytes, window: window, parse: clientHello)
    }

    /// Whether the bytes may begin a ClientHello in SSL 2.0's record format: a
    /// 2-byte header with its high bit set, then message type 1 and a version of
    /// SSL 2.0 (0x0002) or SSL 3.0 to TLS 1.2 (3.x).
    public static func mayBeginSSLv2Hello(_ b: [UInt8]) -> Bool {
        guard let first = b.first, first & 0x80 != 0 else { return false }
        if b.count > 2, b[2] != 1 { return false }
        if b.count > 4 { return (b[3] == 0 && b[4] == 2) || (b[3] == 3 && b[4] <= 3) }
        if b.count > 3 { return b[3] == 0 || b[3] == 3 }
        return true
    }

    /// A ClientHello in SSL 2.0's record format at the start of a stream: the
    /// record's length, message type 1, version, the lengths of the cipher specs,
    /// session id and challenge, then those; nil unless every length adds up.
    public static func sslv2ClientHello(_ bytes: UnsafeRawBufferPointer) -> TLSClientHello? {
        guard bytes.count >= 11, bytes[0] & 0x80 != 0, bytes[2] == 1 else { return nil }
        let length = Int(bytes[0] & 0x7f) << 8 | Int(bytes[1])
        guard bytes.count >= 2 + length, length >= 9 else { return nil }
        var r = Reader(Array(bytes[2..<(2 + length)]))
        guard r.u8() == 1, let version = r.u16(), version == 0x0002 || version >> 8 == 3,
              let specLength = r.u16(), let sessionLength = r.u16(), let challengeLength = r.u16(),
              specLength % 3 == 0, 9 + Int(specLength) + Int(sessionLength) + Int(challengeLength) == length,
              (16...32).contains(challengeLength), sessionLength == 0 || sessionLength == 16 || sessionLength == 32
        else { return nil }
        var hello = TLSClientHello()
        hello.sslv2Record = true
        hello.legacyVersion = version
        for _ in 0..<(Int(specLength) / 3) {
            guard let kind = r.u8(), let low = r.u16() else { return nil }
            if kind == 0 { hello.cipherSuites.append(low) } else { hello.sslv2CipherKinds.append(UInt32(kind) << 16 | UInt32(low)) }
        }
        guard let session = r.take(Int(sessionLength)) else { return nil }
        hello.sessionID = session
        return hello
    }

    /// The ServerHello of a server stream, found as `findClientHello` finds the ClientHello.
    public static func findServerHello(in bytes: UnsafeRawBufferPointer, window: Int = 16384) -> (offset: Int, hello: TLSServerHello)? {
        find(2, in: bytes, window: window, parse: serverHello)
    }

    /// The first handshake record within `window` bytes whose message, of `type`, parses.
    static func find<Hello>(_ type: UInt8, in bytes: UnsafeRawBufferPointer, window: Int,
                            parse: ([UInt8]) -> Hello?) -> (offset: Int, hello: Hello)? {
        let end = min(bytes.count, window)
        var i = 0
        while i + 9 < end {
            if bytes[i] == 22, bytes[i + 1] == 3, bytes[i + 2] <= 4, bytes[i + 5] == type,
               let message = handshakeMessage(type, in: UnsafeRawBufferPointer(rebasing: bytes[i...])),
               let hello = parse(message) {
                return (i, hello)
            }
            i += 1
        }
        return nil
    }

    /// Parses a ClientHello handshake message (its 4-byte header included).
    public static func clientHello(_ message: [UInt8]) -> TLSClientHello? {
        var r = Reader(message)
        guard r.u8() == 1, let length = r.u24(), length == message.count - 4 else { return nil }
        var hello = TLSClientHello()
        guard let version = r.u16() else { return nil }
        hello.legacyVersion = version
        guard r.skip(32), let session = r.vector8() else { return nil }
        hello.sessionID = session
        guard let suites = r.vector16() else { return nil }
        var s = Reader(suites)
        while let suite = s.u16() { hello.cipherSuites.append(suite) }
        guard s.atEnd, let compression = r.u8(), r.skip(Int(compression)) else { return nil }
        if r.atEnd { return hello }      // no extensions (SSL 3.0 style)
        guard let extensions = r.vector16(), r.atEnd else { return nil }
        var e = Reader(extensions)
        while !e.atEnd {
            guard let type = e.u16(), let body = e.vector16() else { return nil }
            hello.extensions.append(type)
            var b = Reader(body)
            switch type {
            case 0:       // server_name: the first host_name entry
                guard let list = b.vector16() else { break }
                var l = Reader(list)
                while !l.atEnd {
                    guard let nameType = l.u8(), let name = l.vector16() else { break }
                    if nameType == 0 && hello.serverName == nil { hello.serverName = String(decoding: name, as: UTF8.self) }
                }
            case 16:      // application_layer_protocol_negotiation
                guard let list = b.vector16() else { break }
                var l = Reader(list)
                while !l.atEnd, let name = l.vector8() { hello.alpn.append(name) }
            case 43:      // supported_versions
                guard let list = b.vector8() else { break }
                var l = Reader(list)
                while let v = l.u16() { hello.supportedVersions.append(v) }
            case 13:      // signature_algorithms
                guard let list = b.vector16() else { break }
                var l = Reader(list)
                while let v = l.u16() { hello.signatureAlgorithms.append(v) }
            case 10:      // supported_groups
                guard let list = b.vector16() else { break }
                var l = Reader(list)
                while let v = l.u16() { hello.supportedGroups.append(v) }
            case 11:      // ec_point_formats
                guard let list = b.vector8() else { break }
                hello.ecPointFormats = list
            default:
                break
            }
        }
        return hello
    }

    /// Parses a ServerHello handshake message (its 4-byte header included).
    public static func serverHello(_ message: [UInt8]) -> TLSServerHello? {
        var r = Reader(message)
        guard r.u8() == 2, let length = r.u24(), length == message.count - 4 else { return nil }
        var hello = TLSServerHello()
        guard let version = r.u16(), r.skip(32), let session = r.vector8(),
              let suite = r.u16(), r.u8() != nil else { return nil }
        hello.legacyVersion = version
        hello.sessionID = session
        hello.cipherSuite = suite
        if r.atEnd { return hello }
        guard let extensions = r.vector16(), r.atEnd else { return nil }
        var e = Reader(extensions)
        while !e.atEnd {
            guard let type = e.u16(), let body = e.vector16() else { return nil }
            hello.extensions.append(type)
            var b = Reader(body)
            switch type {
            case 43: hello.selectedVersion = b.u16()
            case 51: hello.keyShareGroup = b.u16()
            case 41: hello.acceptedPSK = true
            case 16:
                if let list = b.vector16() {
                    var l = Reader(list)
                    hello.alpn = l.vector8()
                }
            default: break
            }
        }
        return hello
    }

    /// What the server's first flight shows in the clear.
    public struct ServerFlight: Sendable, Equatable {
        public var hello: TLSServerHello
        /// Certificates (DER) of a Certificate message, sent in the clear before TLS 1.3.
        public var certificates: [[UInt8]] = []
        /// The named group of an ECDHE ServerKeyExchange (before TLS 1.3).
        public var keyExchangeGroup: UInt16?
        /// A ChangeCipherSpec record followed the hello (before TLS 1.3: the
        /// handshake went on to its Finished).
        public var changeCipherSpec = false
        /// Application data records followed (the handshake completed).
        public var applicationData = false
    }

    /// The server's ServerHello and what follows it in the clear: the handshake
    /// messages of the records after it, until the first record of another type.
    public static func serverFlight(in bytes: UnsafeRawBufferPointer, window: Int = 65536) -> ServerFlight? {
        guard let (start, hello) = findServerHello(in: bytes, window: 16384) else { return nil }
        var flight = ServerFlight(hello: hello)
        var handshake: [UInt8] = []
        var position = start
        let end = min(bytes.count, start + window)
        while position + 5 <= end {
            let type = bytes[position]
            let length = Int(bytes[position + 3]) << 8 | Int(bytes[position + 4])
            guard bytes[position + 1] == 3, length <= 16384 + 2048 else { break }
            let bodyEnd = position + 5 + length
            switch type {
            case 22 where !flight.changeCipherSpec:
                handshake.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(position + 5)..<min(bodyEnd, bytes.count)]))
            case 20:
                flight.changeCipherSpec = true
            case 23:
                flight.applicationData = true
            default:
                break
            }
            if flight.applicationData || handshake.count > maxHandshake * 4 { break }
            position = bodyEnd
        }
        // Walk the handshake messages: ServerHello, Certificate, ServerKeyExchange, ...
        var r = Reader(handshake)
        while let type = r.u8(), let length = r.u24(), let body = r.take(length) {
            switch type {
            case 11 where hello.version < 0x0304:
                var b = Reader(body)
                if let n = b.u24(), let list = b.take(n) {
                    var l = Reader(list)
                    while let m = l.u24(), let der = l.take(m), flight.certificates.count < 16 { flight.certificates.append(der) }
                }
            case 12:
                var b = Reader(body)
                if b.u8() == 3 { flight.keyExchangeGroup = b.u16() }      // named_curve
            default:
                break
            }
        }
        return flight
    }

    // MARK: fingerprints

    /// The JA3 string of a ClientHello (its MD5 is the JA3 hash): version, cipher
    /// suites, extensions, supported groups and EC point formats, in decimal, in
    /// the order sent, without GREASE values.
    public static func ja3String(_ h: TLSClientHello) -> String {
        func list(_ values: [UInt16]) -> String {
            values.filter { !isGREASE($0) }.map { String($0) }.joined(separator: "-")
        }
        return "\(h.legacyVersion),\(list(h.cipherSuites)),\(list(h.extensions)),\(list(h.supportedGroups)),"
            + h.ecPointFormats.map { String($0) }.joined(separator: "-")
    }

    /// The JA3S string of a ServerHello: version, cipher suite, extensions.
    public static func ja3sString(_ h: TLSServerHello) -> String {
        "\(h.legacyVersion),\(h.cipherSuite)," + h.extensions.map { String($0) }.joined(separator: "-")
    }

    /// JA4 (FoxIO's TLS client fingerprint, BSD 3-Clause): its first part, and the
    /// two lists whose SHA-256 give the second and third parts. `sha256Prefix`
    /// returns the first 12 hex digits of a string's SHA-256 (kept out of this
    /// module, which imports nothing).
    public static func ja4(_ h: TLSClientHello, transport: Character = "t", sha256Prefix: (String) -> String) -> String {
        let parts = ja4Parts(h, transport: transport)
        let b = parts.ciphers.isEmpty ? "000000000000" : sha256Prefix(parts.ciphers)
        let c = parts.extensions.isEmpty ? "000000000000" : sha256Prefix(parts.extensions)
        return "\(parts.a)_\(b)_\(c)"
    }

    /// JA4_r: the JA4 parts before hashing.
    public static func ja4Raw(_ h: TLSClientHello, transport: Character = "t") -> String {
        let parts = ja4Parts(h, transport: transport)
        return "\(parts.a)_\(parts.ciphers)_\(parts.extensions)"
    }

    static func ja4Parts(_ h: TLSClientHello, transport: Character) -> (a: String, ciphers: String, extensions: String) {
        let version: String
        switch h.offeredVersion {
        case 0x0304: version = "13"
        case 0x0303: version = "12"
        case 0x0302: version = "11"
        case 0x0301: version = "10"
        case 0x0300: version = "s3"
        case 0x0200: version = "s2"
        case 0xfeff: version = "d1"
        case 0xfefd: version = "d2"
        case 0xfefc: version = "d3"
        default: version = "00"
        }
        let ciphers = h.cipherSuites.filter { !isGREASE($0) }
        let extensions = h.extensions.filter { !isGREASE($0) }
        func count(_ n: Int) -> String { n < 10 ? "0\(n)" : n > 99 ? "99" : String(n) }
        let sni: Character = extensions.contains(0) ? "d" : "i"
        var alpn = "00"
        if let first = h.alpn.first, let a = first.first, let z = first.last {
            func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
            if alnum(a) && alnum(z) {
                alpn = String(decoding: [a, z], as: UTF8.self)
            } else if a >= 0x80 || z >= 0x80 {
                // not ASCII: the reference implementation (whose output
                // ../shared/captures/ja4/expected holds) prints 99
                alpn = "99"
            } else {
                let hexA = hex8(a), hexZ = hex8(z)
                alpn = String(hexA.first!) + String(hexZ.last!)
            }
        }
        let a = "\(transport)\(version)\(sni)\(count(ciphers.count))\(count(extensions.count))\(alpn)"
        let cipherList = ciphers.sorted().map(hex16).joined(separator: ",")
        var extensionList = extensions.filter { $0 != 0 && $0 != 16 }.sorted().map(hex16).joined(separator: ",")
        if !extensionList.isEmpty, !h.signatureAlgorithms.isEmpty {
            extensionList += "_" + h.signatureAlgorithms.map(hex16).joined(separator: ",")
        }
        return (a, cipherList, extensionList)
    }

    static func hex16(_ v: UInt16) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(v >> 12)], digits[Int(v >> 8 & 15)], digits[Int(v >> 4 & 15)], digits[Int(v & 15)]],
                      as: UTF8.self)
    }

    static func hex8(_ v: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(v >> 4)], digits[Int(v & 15)]], as: UTF8.self)
    }

    /// A version's name as Zeek and tshark print it.
    public static func versionName(_ v: UInt16) -> String {
        switch v {
        case 0x0002: "SSLv2"
        case 0x0300: "SSLv3"
        case 0x0301: "TLSv1.0"
        case 0x0302: "TLSv1.1"
        case 0x0303: "TLSv1.2"
        case 0x0304: "TLSv1.3"
        default: "0x" + hex16(v)
        }
    }
}

/// Reads big-endian fields from a byte array, never past its end.
struct Reader {
    let bytes: [UInt8]
    var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }

    mutating func u8() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() -> UInt16? {
        guard position + 2 <= bytes.count else { return nil }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func u24() -> Int? {
        guard position + 3 <= bytes.count else { return nil }
        defer { position += 3 }
        return Int(bytes[position]) << 16 | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
    }

    mutating func skip(_ n: Int) -> Bool {
        guard n >= 0, position + n <= bytes.count else { return false }
        position += n
        return true
    }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, position + n <= bytes.count else { return nil }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    /// A vector with a one-byte length.
    mutating func vector8() -> [UInt8]? {
        let save = position
        guard let n = u8(), let v = take(Int(n)) else { position = save; return nil }
        return v
    }

    /// A vector with a two-byte length.
    mutating func vector16() -> [UInt8]? {
        let save = position
        guard let n = u16(), let v = take(Int(n)) else { position = save; return nil }
        return v
    }
}
