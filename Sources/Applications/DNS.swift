/// DNS messages (RFC 1035), as they travel in a UDP datagram or, after a 2-byte
/// length, over TCP: the header's flags, the first question, and the answer
/// section rendered as Zeek's dns.log renders it.
///
/// Bounded by the bytes given: every length is checked before it is read, a name
/// follows at most 64 compression pointers, each pointing strictly backwards (no
/// loop, no forward reference), and stops at 255 bytes; a malformed message gives
/// nil, never a guess. Labels are kept byte for byte, a byte that is not printable
/// ASCII (or is a backslash) written as `\xHH`.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode: UInt8 = 0
    /// Authoritative answer, truncated, recursion desired, recursion available.
    public var aa = false, tc = false, rd = false, ra = false
    /// The three reserved bits after RA (AD and CD in DNSSEC's terms), as Zeek's `Z`.
    public var z: UInt8 = 0
    public var rcode: UInt8 = 0
    public var query: String?
    public var qtype: UInt16?
    public var qclass: UInt16?
    /// The answer section: each record's rendering (see `DNS.render`) and TTL.
    public var answers: [String] = []
    public var ttls: [UInt32] = []
    /// Records in the authority and additional sections.
    public var authorityCount = 0
    public var additionalCount = 0
    public init() {}

    /// A response that carries no record in any section (Zeek's `rejected`: a
    /// server that refused, failed or would not say).
    public var isRejected: Bool { isResponse && answers.isEmpty && authorityCount == 0 && additionalCount == 0 }
}

public enum DNS {
    /// Whether `port` is one Zeek's DNS analyzer reads: 53 (DNS), 137 (NetBIOS
    /// names), 5353 (mDNS), 5355 (LLMNR). Asked for every datagram.
    @inlinable
    public static func isPort(_ port: UInt16) -> Bool {
        port == 53 || port == 5353 || port == 137 || port == 5355
    }

    static let maxPointers = 64
    static let maxName = 255
    /// Records read per section (a message in a datagram holds far fewer).
    static let maxRecords = 512

    /// Parses one message (a UDP payload, or a TCP message without its length).
    /// `cut`: the capture cut the message short (its snaplen), so the answers
    /// read up to the cut are kept, and those after are not; without it, a
    /// record running past the end makes the message malformed.
    public static func parse(_ bytes: UnsafeRawBufferPointer, cut: Bool = false) -> DNSMessage? {
        guard bytes.count >= 12 else { return nil }
        var m = DNSMessage()
        m.id = be16(bytes, 0)
        let flags = be16(bytes, 2)
        m.isResponse = flags & 0x8000 != 0
        m.opcode = UInt8((flags >> 11) & 0x0f)
        m.aa = flags & 0x0400 != 0
        m.tc = flags & 0x0200 != 0
        m.rd = flags & 0x0100 != 0
        m.ra = flags & 0x0080 != 0
        m.z = UInt8((flags >> 4) & 0x07)
        m.rcode = UInt8(flags & 0x0f)
        let questions = Int(be16(bytes, 4)), answers = Int(be16(bytes, 6))
        let authority = Int(be16(bytes, 8)), additional = Int(be16(bytes, 10))
        guard questions <= maxRecords, answers <= maxRecords else { return nil }
        var offset = 12
        for i in 0..<questions {
            guard let (name, after) = readName(bytes, offset), after + 4 <= bytes.count else { return nil }
            if i == 0 {
                m.query = name
                m.qtype = be16(bytes, after)
                m.qclass = be16(bytes, after + 2)
            }
            offset = after + 4
        }
        for _ in 0..<answers {
            guard let (_, after) = readName(bytes, offset), after + 10 <= bytes.count else { return cut ? m : nil }
            let type = be16(bytes, after)
            let ttl = UInt32(be16(bytes, after + 4)) << 16 | UInt32(be16(bytes, after + 6))
            let length = Int(be16(bytes, after + 8))
            let data = after + 10
            guard data + length <= bytes.count else { return cut ? m : nil }
            guard let text = render(type: type, bytes, data, length) else { return nil }
            m.answers.append(text)
            m.ttls.append(ttl)
            offset = data + length
        }
        // the other sections are counted as far as they can be walked
        m.authorityCount = countRecords(bytes, &offset, authority)
        m.additionalCount = countRecords(bytes, &offset, additional)
        return m
    }

    /// Walks up to `count` records from `offset`; how many were whole.
    static func countRecords(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, _ count: Int) -> Int {
        var n = 0
        while n < min(count, maxRecords) {
            guard let (_, after) = readName(bytes, offset), after + 10 <= bytes.count else { break }
            let end = after + 10 + Int(be16(bytes, after + 8))
            guard end <= bytes.count else { break }
            offset = end
            n += 1
        }
        return n
    }

    /// The messages of one direction of a DNS-over-TCP stream: each after its
    /// 2-byte length; a message cut by the end (or unparseable) ends the list.
    public static func tcpMessages(_ bytes: UnsafeRawBufferPointer) -> [(offset: Int, message: DNSMessage)] {
        var out: [(Int, DNSMessage)] = []
        var i = 0
        while i + 2 <= bytes.count, out.count < maxRecords {
            let length = Int(be16(bytes, i))
            guard length >= 12, i + 2 + length <= bytes.count,
                  let m = parse(UnsafeRawBufferPointer(rebasing: bytes[(i + 2)..<(i + 2 + length)])) else { break }
            out.append((i, m))
            i += 2 + length
        }
        return out
    }

    /// A record's data as Zeek's dns.log shows it in `answers`: an address, a
    /// name (CNAME, NS, PTR, MX's exchange, SRV's target, SOA's primary server),
    /// `TXT <length> <string>` per string; any other type by its name in angle
    /// brackets. Nil when the data does not hold what its type needs.
    static func render(type: UInt16, _ bytes: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> String? {
        let end = start + length
        switch type {
        case 1:
            guard length == 4 else { return nil }
            return (0..<4).map { String(bytes[start + $0]) }.joined(separator: ".")
        case 28:
            guard length == 16 else { return nil }
            return ipv6Text((0..<8).map { be16(bytes, start + 2 * $0) })
        case 2, 5, 12:
            return readName(bytes, start, end: end)?.name
        case 6:
            return readName(bytes, start, end: end)?.name
        case 15:
            guard length >= 3 else { return nil }
            return readName(bytes, start + 2, end: end)?.name
        case 33:
            guard length >= 7 else { return nil }
            return readName(bytes, start + 6, end: end)?.name
        case 16:
            var parts: [String] = []
            var i = start
            while i < end {
                let n = Int(bytes[i])
                guard i + 1 + n <= end else { return nil }
                parts.append("TXT \(n) " + escaped(UnsafeRawBufferPointer(rebasing: bytes[(i + 1)..<(i + 1 + n)]), spaces: true))
                i += 1 + n
            }
            return parts.joined(separator: " ")
        default:
            return "<" + (typeNames[type] ?? String(type)) + ">"
        }
    }

    /// A (possibly compressed) name at `offset`, and where the bytes after it
    /// begin. Labels must end within `end` (a record's data), pointers may reach
    /// anywhere before them in the message.
    static func readName(_ bytes: UnsafeRawBufferPointer, _ offset: Int, end: Int? = nil) -> (name: String, after: Int)? {
        var labels: [String] = []
        var position = offset
        var after: Int?
        var jumps = 0
        var total = 0
        var limit = end ?? bytes.count
        while true {
            guard position < limit else { return nil }
            let length = Int(bytes[position])
            switch length & 0xc0 {
            case 0:
                if length == 0 {
                    return (labels.joined(separator: "."), after ?? position + 1)
                }
                guard position + 1 + length <= limit else { return nil }
                total += length + 1
                guard total <= maxName else { return nil }
                labels.append(escaped(UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<(position + 1 + length)])))
                position += 1 + length
            case 0xc0:
                guard position + 2 <= limit else { return nil }
                let target = Int(be16(bytes, position) & 0x3fff)
                // strictly backwards: no loop, no reference to what is not read yet
                guard target < position, jumps < maxPointers else { return nil }
                if after == nil { after = position + 2 }
                jumps += 1
                position = target
                limit = bytes.count
            default:
                return nil      // 0x40 and 0x80: extended and binary labels, obsolete
            }
        }
    }

    /// Bytes as text: printable ASCII as is (a space too, with `spaces`), anything
    /// else (and `\`) as `\xHH`.
    static func escaped(_ bytes: UnsafeRawBufferPointer, spaces: Bool = false) -> String {
        func plain(_ b: UInt8) -> Bool { (b > 0x20 || (spaces && b == 0x20)) && b < 0x7f && b != 0x5c }
        // the common case, a label of printable ASCII: one copy
        if bytes.allSatisfy(plain) { return String(decoding: bytes, as: UTF8.self) }
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            if plain(b) {
                out.append(b)
            } else {
                out += [0x5c, 0x78, digits[Int(b >> 4)], digits[Int(b & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 5952 text of an IPv6 address given as eight groups.
    static func ipv6Text(_ groups: [UInt16]) -> String {
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    @inline(__always)
    static func be16(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(p[offset]) << 8 | UInt16(p[offset + 1])
    }

    /// Record type names, as Zeek's `DNS::query_types` has them.
    public static let typeNames: [UInt16: String] = [
        1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL", 11: "WKS",
        12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY",
        28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME", 41: "OPT", 42: "APL",
        43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
        51: "NSEC3PARAM", 52: "TLSA", 55: "HIP", 59: "CDS", 60: "CDNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF",
        249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "*", 256: "URI", 257: "CAA",
    ]

    /// Class names, as Zeek's `DNS::classes` has them.
    public static let classNames: [UInt16: String] = [
        1: "C_INTERNET", 2: "C_CSNET", 3: "C_CHAOS", 4: "C_HESIOD", 254: "C_NONE", 255: "C_ANY",
    ]

    /// Response code names, as Zeek's `DNS::base_errors` has them.
    public static let rcodeNames: [UInt8: String] = [
        0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN",
        7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
    ]
}
