/// SSH from the start of each direction of a connection: the identification
/// line (RFC 4253 section 4.2) and the first binary packet, the key exchange
/// offer (SSH_MSG_KEXINIT, section 7.1), which travel in the clear; HASSH
/// (Salesforce's SSH fingerprint, BSD 3-Clause) is built from the latter.

/// An identification line, `SSH-protoversion-softwareversion SP comments`.
public struct SSHIdentification: Sendable, Equatable {
    /// The whole line without its CR LF.
    public var line: String
    public var protocolVersion: String
    public var software: String
    public var comments: String?
    /// Where the bytes after the line begin.
    public var end: Int
}

/// The algorithm lists of an SSH_MSG_KEXINIT, in the sender's order of preference.
public struct SSHKexInit: Sendable, Equatable {
    public var kex: [String] = []
    public var hostKey: [String] = []
    public var encryptionClientToServer: [String] = []
    public var encryptionServerToClient: [String] = []
    public var macClientToServer: [String] = []
    public var macServerToClient: [String] = []
    public var compressionClientToServer: [String] = []
    public var compressionServerToClient: [String] = []
    public init() {}
}

public enum SSH {
    /// The identification line within the first `window` bytes of a direction.
    /// A server may send other lines first (RFC 4253 4.2); lines are at most 255
    /// bytes. nil when none is found.
    public static func identification(in bytes: UnsafeRawBufferPointer, window: Int = 8192) -> SSHIdentification? {
        let end = min(bytes.count, window)
        var lineStart = 0
        while lineStart < end {
            var i = lineStart
            while i < end && bytes[i] != 0x0a && i - lineStart < 255 { i += 1 }
            guard i < end, bytes[i] == 0x0a else { return nil }      // no end of line within limits
            var lineEnd = i
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0d { lineEnd -= 1 }
            let line = Array(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd]))
            if line.starts(with: Array("SSH-".utf8)) {
                return parseLine(line, end: i + 1)
            }
            lineStart = i + 1
        }
        return nil
    }

    static func parseLine(_ line: [UInt8], end: Int) -> SSHIdentification? {
        let text = String(decoding: line, as: UTF8.self)
        let body = line.dropFirst(4)
        guard let dash = body.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        let version = String(decoding: body[body.startIndex..<dash], as: UTF8.self)
        let rest = body[(dash + 1)...]
        let space = rest.firstIndex(of: 0x20)
        let software = String(decoding: rest[rest.startIndex..<(space ?? rest.endIndex)], as: UTF8.self)
        let comments = space.map { String(decoding: rest[($0 + 1)...], as: UTF8.self) }
        return SSHIdentification(line: text, protocolVersion: version, software: software, comments: comments, end: end)
    }

    /// The SSH_MSG_KEXINIT in the first binary packets after `start` (the end of
    /// the identification line). Packets of other types before it are skipped
    /// (at most 8); packets are at most 35,000 bytes (RFC 4253 6.1).
    public static func kexInit(in bytes: UnsafeRawBufferPointer, from start: Int) -> SSHKexInit? {
        var position = start
        for _ in 0..<8 {
            guard position + 6 <= bytes.count else { return nil }
            let length = Int(bytes[position]) << 24 | Int(bytes[position + 1]) << 16 | Int(bytes[position + 2]) << 8
                | Int(bytes[position + 3])
            let padding = Int(bytes[position + 4])
            guard length >= padding + 2, length <= 35000, position + 4 + length <= bytes.count else { return nil }
            let payload = Array(UnsafeRawBufferPointer(rebasing: bytes[(position + 5)..<(position + 4 + length - padding)]))
            if payload.first == 20 { return parseKexInit(payload) }
            position += 4 + length
        }
        return nil
    }

    static func parseKexInit(_ payload: [UInt8]) -> SSHKexInit? {
        var r = Reader(payload)
        guard r.u8() == 20, r.skip(16) else { return nil }
        var lists: [[String]] = []
        for _ in 0..<10 {
            guard let n = r.u32(), let bytes = r.take(Int(n)) else { return nil }
            lists.append(bytes.isEmpty ? [] : bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) })
        }
        var k = SSHKexInit()
        k.kex = lists[0]
        k.hostKey = lists[1]
        k.encryptionClientToServer = lists[2]
        k.encryptionServerToClient = lists[3]
        k.macClientToServer = lists[4]
        k.macServerToClient = lists[5]
        k.compressionClientToServer = lists[6]
        k.compressionServerToClient = lists[7]
        return k
    }

    /// HASSH's string for a client's offer (its MD5 is the HASSH).
    public static func hasshString(_ k: SSHKexInit) -> String {
        [k.kex, k.encryptionClientToServer, k.macClientToServer, k.compressionClientToServer]
            .map { $0.joined(separator: ",") }.joined(separator: ";")
    }

    /// HASSHServer's string for a server's offer.
    public static func hasshServerString(_ k: SSHKexInit) -> String {
        [k.kex, k.encryptionServerToClient, k.macServerToClient, k.compressionServerToClient]
            .map { $0.joined(separator: ",") }.joined(separator: ";")
    }

    /// The algorithm RFC 4253 7.1 chooses: the first of the client's that the server also offers.
    public static func chosen(client: [String], server: [String]) -> String? {
        client.first { server.contains($0) }
    }
}

extension Reader {
    mutating func u32() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16 | UInt32(bytes[position + 2]) << 8
            | UInt32(bytes[position + 3])
    }
}
