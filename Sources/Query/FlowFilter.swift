import Connections
import Decoding
import Store

/// A range of addresses: one address, or a CIDR block, of either family.
/// Its bounds are 16-byte keys (IPv4 mapped into ::ffff:0:0/96), as `flow`
/// stores them in `client_ip_key` / `server_ip_key`.
public struct AddressRange: Sendable, Equatable {
    public var lower: [UInt8]
    public var upper: [UInt8]

    /// Parses `10.1.2.3`, `10.1.0.0/16`, `fd00::1`, `fd00::/8`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.isIPv6 ? 128 : 32
        var prefix = maximum
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(parts[1]), n <= maximum else { return nil }
            prefix = n
        }
        let bits = prefix + (address.isIPv6 ? 0 : 96)
        let key = address.bytes16
        lower = key
        upper = key
        for bit in bits..<128 {
            let byte = bit / 8, mask = UInt8(0x80) >> UInt8(bit % 8)
            lower[byte] &= ~mask
            upper[byte] |= mask
        }
    }
}

/// Which flows a query selects. Every field is a condition; all must hold.
public struct FlowFilter: Sendable, Equatable {
    public var port: Int?
    public var clientPort: Int?
    public var serverPort: Int?
    public var host: AddressRange?
    public var client: AddressRange?
    public var server: AddressRange?
    /// Nanoseconds since the epoch: the flow must overlap [since, until].
    public var since: Int64?
    public var until: Int64?
    /// The archive's longest flow (last_ts - first_ts), when known: with `since`, a
    /// flow that overlaps the window began at most this long before it, which
    /// bounds the `first_ts` range read. Set by the query from `flow_by_duration`.
    public var longestFlow: Int64?
    public var flowIDs: [Int64] = []
    public var captureID: Int64?
    public var capturePath: String?
    public var minBytes: Int?
    public var withGaps = false
    public var ended = false
    /// Zeek connection states (codes); the flow's must be one of them.
    public var connStates: [String] = []
    /// Text the flow's encapsulation chain must contain (`vxlan:4242`, `gre`, `192.0.2.10`).
    public var tunnel: String?
    /// The application protocol ('http', 'tls', 'ssh'); the TLS server name; an
    /// HTTP request's Host; a TLS client's JA3 or JA4 (all exact, names without case).
    public var app: String?
    public var sni: String?
    public var httpHost: String?
    public var ja3: String?
    public var ja4: String?
    /// HTTP transactions: a substring of the URI, the method, the status code.
    public var uri: String?
    public var method: String?
    public var status: Int?
    /// The transport: 'tcp', 'udp' or 'icmp'.
    public var proto: String?
    /// Flows whose DNS queries asked for one of these names (without case); a name
    /// `*.example.com` matches example.com and every name under it.
    public var dnsNames: [String] = []
    /// Flows with an anomaly of this name (Zeek's weird name: `SYN_with_data`, ...).
    public var anomaly: String?
    /// A Community ID (`1:...`), as Zeek, Suricata and Arkime log it.
    public var communityID: String?
    /// Set when the archive cannot hold what `proto` asks for (no match at all).
    var noMatch = false

    var usesApplications: Bool {
        !dnsNames.isEmpty || app != nil || sni != nil || httpHost != nil || ja3 != nil || ja4 != nil || uri != nil || method != nil || status != nil
    }

    public init() {}

    /// The Zeek codes a `--state` argument names: a code (`SF`, `rsto`) or a
    /// readable word of the `flows` view (`closed`, `reset`, `half-closed`, ...).
    public static func connStates(named text: String) -> [String]? {
        let upper = text.uppercased()
        if let code = ConnectionState(rawValue: upper) { return [code.rawValue] }
        let word = text.lowercased()
        let codes = ConnectionState.allCases.filter { $0.word == word }.map(\.rawValue)
        return codes.isEmpty ? nil : codes
    }

    /// The WHERE clause (fixed text with `?` placeholders) and its values, in order.
    /// No user text is ever part of the SQL.
    public func sql() -> (clause: String, values: [SQLiteValue]) {
        var terms: [String] = []
        var values: [SQLiteValue] = []
        if let port {
            terms.append("(f.client_port = ? OR f.server_port = ?)")
            values += [.integer(Int64(port)), .integer(Int64(port))]
        }
        if let clientPort { terms.append("f.client_port = ?"); values.append(.integer(Int64(clientPort))) }
        if let serverPort { terms.append("f.server_port = ?"); values.append(.integer(Int64(serverPort))) }
        if let host {
            terms.append("(f.client_ip_key BETWEEN ? AND ? OR f.server_ip_key BETWEEN ? AND ?)")
            values += [.blob(host.lower), .blob(host.upper), .blob(host.lower), .blob(host.upper)]
        }
        if let client { terms.append("f.client_ip_key BETWEEN ? AND ?"); values += [.blob(client.lower), .blob(client.upper)] }
        if let server { terms.append("f.server_ip_key BETWEEN ? AND ?"); values += [.blob(server.lower), .blob(server.upper)] }
        if let since {
            terms.append("f.last_ts >= ?")
            values.append(.integer(since))
            if let longest = longestFlow, longest >= 0 {
                let (earliest, overflow) = since.subtractingReportingOverflow(longest)
                if !overflow { terms.append("f.first_ts >= ?"); values.append(.integer(earliest)) }
            }
        }
        if let until { terms.append("f.first_ts <= ?"); values.append(.integer(until)) }
        if !flowIDs.isEmpty {
            terms.append("f.id IN (" + Array(repeating: "?", count: flowIDs.count).joined(separator: ", ") + ")")
            values += flowIDs.map { .integer($0) }
        }
        if let captureID { terms.append("f.capture_id = ?"); values.append(.integer(captureID)) }
        if let capturePath { terms.append("f.capture_id IN (SELECT id FROM capture WHERE path = ?)"); values.append(.text(capturePath)) }
        if let minBytes { terms.append("f.c2s_bytes + f.s2c_bytes >= ?"); values.append(.integer(Int64(minBytes))) }
        if withGaps { terms.append("f.gaps > 0") }
        if ended { terms.append("f.c2s_closed = 1 AND f.s2c_closed = 1") }
        if let tunnel { terms.append("instr(f.encapsulation, ?) > 0"); values.append(.text(tunnel)) }
        if let proto { terms.append("f.proto = ?"); values.append(.text(proto.lowercased())) }
        if let communityID { terms.append("f.community_id = ?"); values.append(.text(communityID)) }
        if let anomaly { terms.append("EXISTS (SELECT 1 FROM anomaly AS a WHERE a.flow_id = f.id AND a.name = ?)"); values.append(.text(anomaly)) }
        if !dnsNames.isEmpty {
            var names: [String] = []
            for name in dnsNames {
                if name.hasPrefix("*.") {
                    let base = String(name.dropFirst(2))
                    names.append("query = ? COLLATE NOCASE OR query LIKE ? ESCAPE '\\'")
                    let escaped = base.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_")
                    values += [.text(base), .text("%." + escaped)]
                } else {
                    names.append("query = ? COLLATE NOCASE")
                    values.append(.text(name))
                }
            }
            terms.append("f.id IN (SELECT flow_id FROM dns WHERE " + names.joined(separator: " OR ") + ")")
        }
        if noMatch { terms.append("0") }
        if let app { terms.append("f.app = ?"); values.append(.text(app.lowercased())) }
        if let sni {
            terms.append("f.id IN (SELECT flow_id FROM tls WHERE server_name = ? COLLATE NOCASE)")
            values.append(.text(sni))
        }
        if let httpHost {
            terms.append("f.id IN (SELECT flow_id FROM http WHERE host = ? COLLATE NOCASE)")
            values.append(.text(httpHost))
        }
        if let ja3 { terms.append("f.id IN (SELECT flow_id FROM tls WHERE ja3 = ?)"); values.append(.text(ja3.lowercased())) }
        if let ja4 { terms.append("f.id IN (SELECT flow_id FROM tls WHERE ja4 = ?)"); values.append(.text(ja4)) }
        if uri != nil || method != nil || status != nil {
            // one transaction must match them all
            var http: [String] = []
            if let uri { http.append("instr(uri, ?) > 0"); values.append(.text(uri)) }
            if let method { http.append("method = ?"); values.append(.text(method.uppercased())) }
            if let status { http.append("status_code = ?"); values.append(.integer(Int64(status))) }
            terms.append("f.id IN (SELECT flow_id FROM http WHERE \(http.joined(separator: " AND ")))")
        }
        if !connStates.isEmpty {
            terms.append("f.conn_state IN (" + Array(repeating: "?", count: connStates.count).joined(separator: ", ") + ")")
            values += connStates.map { .text($0) }
        }
        return (terms.isEmpty ? "1" : terms.joined(separator: " AND "), values)
    }
}

/// Parses the times analysts type: ISO 8601 (`2026-11-25T12:52:15Z`, with a
/// fraction, an offset like `+02:00`, or a date alone, taken as UTC midnight) or
/// Unix seconds (`1795611135`, `1795611135.27`). Returns nanoseconds since the epoch.
public enum TimeParser {
    public static func nanoseconds(_ text: String) -> Int64? {
        if let seconds = unixSeconds(text) { return seconds }
        if let ago = relative(text) { return ago }
        return iso8601(text)
    }

    /// `30s`, `15m`, `2h`, `7d`: that long before now (a sensor's recent traffic).
    static func relative(_ text: String, now: Int64 = Clock.nowNanoseconds()) -> Int64? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value >= 0,
              text.dropLast().allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let factor: Int64
        switch unit {
        case "s": factor = 1_000_000_000
        case "m": factor = 60_000_000_000
        case "h": factor = 3_600_000_000_000
        case "d": factor = 86_400_000_000_000
        default: return nil
        }
        let (span, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : now &- span
    }

    static func unixSeconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), parts[0].allSatisfy({ $0.isNumber || $0 == "-" }) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            fraction = Int64(digits + String(repeating: "0", count: 9 - digits.count))!
        }
        // Nanoseconds in an Int64 cover 1677-09-21 to 2262-04-11; anything outside is refused.
        let (product, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, carry) = product.addingReportingOverflow(parts[0].hasPrefix("-") ? -fraction : fraction)
        return overflow || carry ? nil : sum
    }

    static func iso8601(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= chars.count else { return nil }
            var n = 0
            for c in chars[range] { guard c >= 48 && c <= 57 else { return nil }; n = n * 10 + Int(c - 48) }
            return n
        }
        guard chars.count >= 10, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = daysFromCivil(year, month, day) * 86_400
        var nanos: Int64 = 0
        var i = 10
        if i < chars.count {
            guard chars[i] == UInt8(ascii: "T") || chars[i] == UInt8(ascii: " "),
                  chars.count >= i + 9, chars[i + 3] == UInt8(ascii: ":"), chars[i + 6] == UInt8(ascii: ":"),
                  let h = number(i + 1..<i + 3), let m = number(i + 4..<i + 6), let s = number(i + 7..<i + 9),
                  h < 24, m < 60, s < 61 else { return nil }
            seconds += Int64(h * 3600 + m * 60 + s)
            i += 9
            if i < chars.count && chars[i] == UInt8(ascii: ".") {
                var digits = 0
                i += 1
                while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                    if digits < 9 { nanos = nanos * 10 + Int64(chars[i] - 48); digits += 1 }
                    i += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<9 { nanos *= 10 }
            }
            if i < chars.count {
                if chars[i] == UInt8(ascii: "Z") && i == chars.count - 1 {
                    i += 1
                } else if chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-"), chars.count == i + 6,
                          chars[i + 3] == UInt8(ascii: ":"), let oh = number(i + 1..<i + 3), let om = number(i + 4..<i + 6) {
                    let offset = Int64(oh * 3600 + om * 60)
                    seconds += chars[i] == UInt8(ascii: "+") ? -offset : offset
                    i += 6
                } else {
                    return nil
                }
            }
        }
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, carry) = product.addingReportingOverflow(nanos)
        return overflow || carry ? nil : sum
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468)
    }

    /// ISO 8601 UTC text with microseconds, as the archive's views show times.
    public static func iso(_ nanoseconds: Int64) -> String {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let micros = (nanoseconds - seconds * 1_000_000_000) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int64, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(Int64(y), 4))-\(pad(Int64(m), 2))-\(pad(Int64(d), 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2)).\(pad(micros, 6))Z"
    }

    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }
}
