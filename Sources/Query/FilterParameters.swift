/// The flow filters as words and values, the way both front ends take them: the
/// command line's options (`--port 443`) and the web API's parameters
/// (`?port=443`) have the same names and are read here, so a filter means the
/// same on both.
public struct FlowSelection: Sendable, Equatable {
    public var filter = FlowFilter()
    /// Bytes the flow's content must contain (`contains`, `contains-hex`).
    public var needle: [UInt8]?

    public init() {}

    /// The names taken, each once or (`repeatable`) many times; `with-gaps` and
    /// `ended` are switches (a value of `true`/`1` sets them, `false`/`0` not).
    public static let singleNames: Set<String> = [
        "port", "client-port", "server-port", "host", "client", "server", "since", "until", "capture",
        "contains", "contains-hex", "min-bytes", "with-gaps", "ended", "tunnel", "proto", "app", "sni",
        "http-host", "ja3", "ja4", "uri", "method", "status", "community-id", "anomaly",
    ]
    public static let repeatableNames: Set<String> = ["flow", "state", "dns-query"]

    /// Reads `parameters` (name, value) in order. A name not known, a repeated
    /// single one, or a value that does not parse is a `QueryError` naming the
    /// parameter as `prefix + name` (`--port` on the command line, `port` on the web).
    public init(_ parameters: [(name: String, value: String)], prefix: String = "") throws(QueryError) {
        var seen = Set<String>()
        var states: [String] = []
        var f = FlowFilter()
        for (name, value) in parameters {
            let option = prefix + name
            if Self.singleNames.contains(name) {
                guard seen.insert(name).inserted else { throw QueryError("\(option): given more than once") }
            } else if !Self.repeatableNames.contains(name) {
                throw QueryError("\(option): not a filter")
            }
            func number(_ range: ClosedRange<Int> = 0...Int.max) throws(QueryError) -> Int {
                guard let n = Int(value), range.contains(n) else { throw QueryError("\(option): not a number in \(range.lowerBound)...\(range.upperBound): \(value)") }
                return n
            }
            func address() throws(QueryError) -> AddressRange {
                guard let r = AddressRange(value) else { throw QueryError("\(option): not an address or CIDR block: \(value)") }
                return r
            }
            func time() throws(QueryError) -> Int64 {
                guard let t = TimeParser.nanoseconds(value) else {
                    throw QueryError("\(option): not a time between 1677-09-21 and 2262-04-11 (ISO 8601 or Unix seconds): \(value)")
                }
                return t
            }
            func flag() throws(QueryError) -> Bool {
                switch value.lowercased() {
                case "", "1", "true", "yes", "on": return true
                case "0", "false", "no", "off": return false
                default: throw QueryError("\(option): true or false, not \(value)")
                }
            }
            switch name {
            case "port": f.port = try number(0...65535)
            case "client-port": f.clientPort = try number(0...65535)
            case "server-port": f.serverPort = try number(0...65535)
            case "host": f.host = try address()
            case "client": f.client = try address()
            case "server": f.server = try address()
            case "since": f.since = try time()
            case "until": f.until = try time()
            case "flow":
                guard let id = Int64(value) else { throw QueryError("\(option): not a flow id: \(value)") }
                f.flowIDs.append(id)
            case "capture":
                if let id = Int64(value) { f.captureID = id } else { f.capturePath = value }
            case "contains":
                guard needle == nil else { throw QueryError("give \(prefix)contains or \(prefix)contains-hex, not both") }
                needle = Array(value.utf8)
            case "contains-hex":
                guard needle == nil else { throw QueryError("give \(prefix)contains or \(prefix)contains-hex, not both") }
                guard let bytes = Self.hexBytes(value) else { throw QueryError("\(option): not hex bytes: \(value)") }
                needle = bytes
            case "min-bytes": f.minBytes = try number()
            case "with-gaps": f.withGaps = try flag()
            case "ended": f.ended = try flag()
            case "state":
                guard let codes = FlowFilter.connStates(named: value) else {
                    throw QueryError("\(option): not a connection state: \(value) (Zeek's S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH, or closed, reset, rejected, attempt, half-closed, open, midstream)")
                }
                states.append(contentsOf: codes)
            case "tunnel": f.tunnel = value
            case "proto":
                guard ["tcp", "udp", "icmp"].contains(value.lowercased()) else { throw QueryError("\(option): one of tcp, udp, icmp") }
                f.proto = value.lowercased()
            case "app":
                guard ["http", "tls", "ssh"].contains(value.lowercased()) else { throw QueryError("\(option): one of http, tls, ssh") }
                f.app = value
            case "sni": f.sni = value
            case "http-host": f.httpHost = value
            case "ja3": f.ja3 = value
            case "ja4": f.ja4 = value
            case "uri": f.uri = value
            case "method": f.method = value
            case "status": f.status = try number(0...999)
            case "dns-query": f.dnsNames.append(value)
            case "anomaly": f.anomaly = value
            case "community-id":
                guard value.hasPrefix("1:"), value.count == 30 else {
                    throw QueryError("\(option): a Community ID v1 (1: and 28 base64 characters), not \(value)")
                }
                f.communityID = value
            default: break
            }
        }
        var codes: [String] = []
        for code in states where !codes.contains(code) { codes.append(code) }
        f.connStates = codes
        filter = f
    }

    /// `de:ad be:ef` → [0xde, 0xad, 0xbe, 0xef]; spaces and colons are ignored.
    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: ":") })
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[i]), let low = hexValue(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
