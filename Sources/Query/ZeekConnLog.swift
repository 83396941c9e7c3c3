#if canImport(Glibc)
import Glibc
#endif

/// Flows as a Zeek `conn.log` in Zeek's tab-separated format: the header lines
/// (`#separator`, `#fields`, `#types`, ...), one line per flow, and `#close`, so
/// that `zeek-cut` and the tools built on Zeek logs read it unchanged.
///
/// `service` is the protocol recognised in the flow's bytes (http, ssl, ssh).
/// What flowdb cannot know, it leaves unset (`-`) as Zeek does by default:
/// local_orig/local_resp (no Site::local_nets),
/// tunnel parents. `community_id` is the field Zeek's community-id policy script
/// adds at the end of conn.log. `orig_bytes`/`resp_bytes` are the bytes reassembled plus the
/// bytes in known gaps (Zeek counts by sequence numbers, which includes gaps).
public enum ZeekConnLog {
    public static let fields = [
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
        "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
        "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto", "community_id",
    ]
    public static let types = [
        "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
        "count", "count", "string", "bool", "bool", "count", "string",
        "count", "count", "count", "count", "set[string]", "count", "string",
    ]

    /// The header, with `#open` at `now` (seconds since the epoch, shown in local time as Zeek does).
    public static func header(openedAt now: Int) -> String {
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
            + "#open\t\(wallClock(now))\n#fields\t\(fields.joined(separator: "\t"))\n#types\t\(types.joined(separator: "\t"))\n"
    }

    public static func footer(closedAt now: Int) -> String {
        "#close\t\(wallClock(now))\n"
    }

    /// One conn.log line.
    public static func line(_ f: FlowRecord) -> String {
        let duration = f.lastTimestamp - f.firstTimestamp
        // Zeek leaves duration and the byte counts unset for a connection of one instant.
        let timed = duration > 0
        let unset = "-"
        let cells: [String] = [
            time(f.firstTimestamp),
            uid(flowID: f.id),
            f.clientIP, String(f.clientPort), f.serverIP, String(f.serverPort),
            f.proto, f.app.map { $0 == "tls" ? "ssl" : $0 } ?? unset,
            timed ? time(duration) : unset,
            timed ? String(f.c2sBytes + f.c2sMissed) : unset,
            timed ? String(f.s2cBytes + f.s2cMissed) : unset,
            f.connState.map(escaped) ?? unset,
            unset, unset,
            String(f.proto == "tcp" ? f.c2sMissed + f.s2cMissed : 0),
            f.history.map { $0.isEmpty ? unset : escaped($0) } ?? unset,
            f.c2sPackets.map(String.init) ?? unset, f.c2sIPBytes.map(String.init) ?? unset,
            f.s2cPackets.map(String.init) ?? unset, f.s2cIPBytes.map(String.init) ?? unset,
            unset, Self.ipProto(f),
            f.communityID.isEmpty ? unset : f.communityID,
        ]
        return cells.joined(separator: "\t") + "\n"
    }

    /// The IP protocol number (Zeek's `ip_proto`).
    static func ipProto(_ f: FlowRecord) -> String {
        switch f.proto {
        case "udp": "17"
        case "icmp": f.ipVersion == 6 ? "58" : "1"
        default: "6"
        }
    }

    /// Seconds with six decimals, rounded to the microsecond, from nanoseconds.
    static func time(_ nanoseconds: Int64) -> String {
        let micros = nanoseconds >= 0 ? (nanoseconds + 500) / 1000 : -((-nanoseconds + 500) / 1000)
        let negative = micros < 0
        let magnitude = negative ? UInt64(-(micros + 1)) + 1 : UInt64(micros)
        let fraction = String(magnitude % 1_000_000)
        return (negative ? "-" : "") + String(magnitude / 1_000_000) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// A Zeek-style uid that stays the same for a flow id: "C" and two base-62
    /// numbers (digits, then lower case, then upper case; least significant digit
    /// first), drawn from the id by a fixed mixing function.
    public static func uid(flowID: Int64) -> String {
        var state = UInt64(bitPattern: flowID)
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        func base62(_ value: UInt64) -> [UInt8] {
            var v = value, out: [UInt8] = []
            repeat {
                out.append(alphabet[Int(v % 62)])
                v /= 62
            } while v > 0
            return out
        }
        let high = next() >> 32, low = next()
        return "C" + String(decoding: base62(high) + base62(low), as: UTF8.self)
    }

    /// Zeek's escaping for a string field: the separator and non-printable bytes
    /// as \xNN, and a value that would read as unset or empty made distinct.
    static func escaped(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            if byte == 0x09 || byte < 0x20 || byte >= 0x7f || byte == UInt8(ascii: "\\") {
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        if out == "-" { return "\\x2d" }
        if out == "(empty)" { return "\\x28empty)" }
        return out
    }

    /// `YYYY-MM-DD-HH-MM-SS` in local time.
    static func wallClock(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))-"
            + "\(pad(parts.tm_hour, 2))-\(pad(parts.tm_min, 2))-\(pad(parts.tm_sec, 2))"
    }
}
