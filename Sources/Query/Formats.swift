import Store
/// Text renderings of flows and their content.
public enum Formats {
    // MARK: lists

    static func duration(_ f: FlowRecord) -> String {
        let micros = (f.lastTimestamp - f.firstTimestamp) / 1000
        let s = micros / 1_000_000, frac = micros % 1_000_000 / 1000
        return "\(s).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)s"
    }

    static func endpoint(_ ip: String, _ port: Int, _ version: Int) -> String {
        version == 6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// An aligned table: id, start, duration, client, server, bytes each way,
    /// packets, gaps, state (readable, then Zeek's code and history). Times are
    /// shown to the millisecond to fit a terminal. When a listed flow has an
    /// application protocol, APP and HOST (HTTP Host or TLS server name) follow.
    /// With `archives` (one name per flow), an ARCHIVE column comes first.
    public static func table(_ flows: [FlowRecord], archives: [String]? = nil) -> String {
        let withApps = flows.contains { $0.app != nil }
        let withProto = flows.contains { $0.proto != "tcp" }
        var header = ["ID", "START (UTC)", "DURATION"] + (withProto ? ["PROTO"] : [])
            + ["CLIENT", "SERVER", "C->S", "S->C", "PKTS", "GAPS", "STATE", "ZEEK", "HISTORY"]
            + (withApps ? ["APP", "HOST"] : [])
        var rows: [[String]] = flows.map { f in
            let iso = TimeParser.iso(f.firstTimestamp)
            let start = String(iso.prefix(23).map { $0 == "T" ? " " : $0 })
            return [String(f.id), start, duration(f)] + (withProto ? [f.proto] : []) + [endpoint(f.clientIP, f.clientPort, f.ipVersion),
                    endpoint(f.serverIP, f.serverPort, f.ipVersion), String(f.c2sBytes), String(f.s2cBytes),
                    String(f.packets), String(f.gaps), f.state, f.connState ?? "-", f.history.map { $0.isEmpty ? "-" : $0 } ?? "-"]
                + (withApps ? [f.app ?? "-", f.appHost ?? "-"] : [])
        }
        var right: Set<Int> = withProto ? [0, 2, 6, 7, 8, 9] : [0, 2, 5, 6, 7, 8]
        if let archives {
            header.insert("ARCHIVE", at: 0)
            rows = zip(archives, rows).map { [$0] + $1 }
            right = Set(right.map { $0 + 1 })
        }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return right.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    /// One JSON object per line; from several archives, `archive` (its file name) comes first.
    public static func jsonLine(_ f: FlowRecord, archive: String? = nil) -> String {
        "{" + (archive.map { "\"archive\":\(json($0))," } ?? "") + "\"id\":\(f.id),\"capture\":\(f.captureID),\"capture_path\":\(json(f.capturePath)),\"ip_version\":\(f.ipVersion),"
            + "\"client_ip\":\(json(f.clientIP)),\"client_port\":\(f.clientPort),\"server_ip\":\(json(f.serverIP)),\"server_port\":\(f.serverPort),"
            + "\"first_ts\":\(f.firstTimestamp),\"last_ts\":\(f.lastTimestamp),\"start\":\(json(TimeParser.iso(f.firstTimestamp))),"
            + "\"c2s_bytes\":\(f.c2sBytes),\"s2c_bytes\":\(f.s2cBytes),\"c2s_stored\":\(f.c2sStored),\"s2c_stored\":\(f.s2cStored),"
            + "\"packets\":\(f.packets),\"gaps\":\(f.gaps),\"state\":\(json(f.state)),\"complete\":\(f.complete),"
            + "\"conn_state\":\(f.connState.map(json) ?? "null"),\"history\":\(f.history.map(json) ?? "null"),"
            + "\"c2s_packets\":\(number(f.c2sPackets)),\"s2c_packets\":\(number(f.s2cPackets)),"
            + "\"c2s_ip_bytes\":\(number(f.c2sIPBytes)),\"s2c_ip_bytes\":\(number(f.s2cIPBytes)),"
            + "\"c2s_missed\":\(f.c2sMissed),\"s2c_missed\":\(f.s2cMissed),\"overlap_bytes\":\(f.overlapBytes),"
            + "\"encapsulation\":\(f.encapsulation.map(json) ?? "null"),"
            + "\"app\":\(f.app.map(json) ?? "null"),\"app_host\":\(f.appHost.map(json) ?? "null"),\"proto\":\(json(f.proto)),"
            + "\"community_id\":\(json(f.communityID))}\n"
    }

    static func number(_ n: Int?) -> String { n.map(String.init) ?? "null" }

    public static let csvHeader = "id,capture,client_ip,client_port,server_ip,server_port,first_ts,last_ts,start,c2s_bytes,s2c_bytes,packets,gaps,state,conn_state,history,app,app_host,proto,community_id\n"

    public static func csvLine(_ f: FlowRecord, archive: String? = nil) -> String {
        (archive.map { csv($0) + "," } ?? "") + [String(f.id), String(f.captureID), csv(f.clientIP), String(f.clientPort), csv(f.serverIP), String(f.serverPort),
         String(f.firstTimestamp), String(f.lastTimestamp), TimeParser.iso(f.firstTimestamp), String(f.c2sBytes),
         String(f.s2cBytes), String(f.packets), String(f.gaps), f.state, f.connState ?? "", csv(f.history ?? ""),
         f.app ?? "", csv(f.appHost ?? ""), f.proto, f.communityID].joined(separator: ",") + "\n"
    }

    /// A JSON string literal.
    public static func json(_ s: String) -> String { JSONText.string(s) }

    static func csv(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + String(s.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] }) + "\"" : s
    }

    // MARK: content

    /// A flow's deliveries of both directions in capture-time order, each
    /// direction keeping its stream order (a merge by first-byte time).
    static func interleaved(_ chunks: [ChunkRecord]) -> [ChunkRecord] {
        let a = chunks.filter { $0.dir == 0 }, b = chunks.filter { $0.dir == 1 }
        var out: [ChunkRecord] = []
        out.reserveCapacity(chunks.count)
        var i = 0, j = 0
        var lastA: Int64 = .min, lastB: Int64 = .min
        while i < a.count || j < b.count {
            let ta = i < a.count ? (a[i].tsFirst ?? lastA) : .max
            let tb = j < b.count ? (b[j].tsFirst ?? lastB) : .max
            // an exhausted side compares as .max, which a real time can equal (a
            // hostile capture's saturated timestamp): test exhaustion first
            if i < a.count && (j == b.count || ta < tb || (ta == tb && a[i].id < b[j].id)) {
                lastA = ta; out.append(a[i]); i += 1
            } else {
                lastB = tb; out.append(b[j]); j += 1
            }
        }
        return out
    }

    static func heading(_ f: FlowRecord, _ c: ChunkRecord) -> String {
        let (from, to) = c.dir == 0 ? (endpoint(f.clientIP, f.clientPort, f.ipVersion), endpoint(f.serverIP, f.serverPort, f.ipVersion))
                                    : (endpoint(f.serverIP, f.serverPort, f.ipVersion), endpoint(f.clientIP, f.clientPort, f.ipVersion))
        let time = c.tsFirst.map(TimeParser.iso) ?? "-"
        return "--- \(c.dir == 0 ? "client" : "server") \(from) -> \(to)  \(time)  offset \(c.streamOffset)  \(c.length) bytes"
    }

    static func gapLine(_ c: ChunkRecord) -> String? {
        if c.skip > 0 { return "[gap: \(c.skip) bytes missing at offset \(c.streamOffset - Int64(c.skip))]\n" }
        if c.skip < 0 { return "[gap: the start of this direction was not captured; offsets count from the first byte seen]\n" }
        return nil
    }

    /// Both directions interleaved, each delivery headed by direction, time and
    /// stream offset and rendered by `body` from its bytes; gaps and unstored bytes
    /// noted. The text goes to `write` a delivery at a time, and `bytes` reads each
    /// delivery's bytes when it is its turn, so a flow of any size takes little memory.
    static func follow(_ f: FlowRecord, _ deliveries: [ChunkRecord], bytes: (ChunkRecord) throws -> [UInt8],
                       write: (String) throws -> Void, body: (ChunkRecord, [UInt8]) -> String) rethrows {
        try write("=== flow \(f.id): \(endpoint(f.clientIP, f.clientPort, f.ipVersion)) -> \(endpoint(f.serverIP, f.serverPort, f.ipVersion))\n")
        for c in interleaved(deliveries) {
            if let gap = gapLine(c) { try write(gap) }
            guard c.length > 0 else { continue }
            try write(heading(f, c) + "\n" + body(c, try bytes(c)))
            if c.stored < c.length { try write("[not stored: \(c.length - c.stored) bytes at offset \(c.streamOffset + Int64(c.stored))]\n") }
        }
    }

    /// Wireshark-like "follow TCP stream": printable ASCII as is, newlines kept,
    /// every other byte escaped (\r, \t, \xNN).
    public static func ascii(_ f: FlowRecord, _ chunks: [ChunkRecord]) -> String {
        var out = ""
        writeAscii(f, chunks, bytes: { $0.bytes }) { out += $0 }
        return out
    }

    /// `ascii`, written a delivery at a time, reading bytes with `bytes`.
    public static func writeAscii(_ f: FlowRecord, _ deliveries: [ChunkRecord], bytes: (ChunkRecord) throws -> [UInt8],
                                  to write: (String) throws -> Void) rethrows {
        try follow(f, deliveries, bytes: bytes, write: write) { _, data in
            let text = escaped(data)
            return data.last == UInt8(ascii: "\n") ? text : text + "\n"
        }
    }

    public static func escaped(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        let digits = Array("0123456789abcdef".utf8)
        for b in bytes {
            switch b {
            case 0x0a: out.append(b)
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x20...0x7e: out.append(b)
            default: out += [0x5c, UInt8(ascii: "x"), digits[Int(b >> 4)], digits[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A hexdump of each delivery, with stream offsets, both directions interleaved.
    public static func hex(_ f: FlowRecord, _ chunks: [ChunkRecord]) -> String {
        var out = ""
        writeHex(f, chunks, bytes: { $0.bytes }) { out += $0 }
        return out
    }

    /// `hex`, written a delivery at a time, reading bytes with `bytes`.
    public static func writeHex(_ f: FlowRecord, _ deliveries: [ChunkRecord], bytes: (ChunkRecord) throws -> [UInt8],
                                to write: (String) throws -> Void) rethrows {
        try follow(f, deliveries, bytes: bytes, write: write) { c, data in hexdump(data, startingAt: c.streamOffset) }
    }

    public static func hexdump(_ bytes: [UInt8], startingAt offset: Int64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        var i = 0
        while i < bytes.count {
            let line = bytes[i..<min(i + 16, bytes.count)]
            let address = String(offset &+ Int64(i), radix: 16)
            out += Array((String(repeating: "0", count: max(0, 8 - address.count)) + address + "  ").utf8)
            for k in 0..<16 {
                if k < line.count {
                    let b = line[line.startIndex + k]
                    out += [digits[Int(b >> 4)], digits[Int(b & 15)], 0x20]
                } else {
                    out += [0x20, 0x20, 0x20]
                }
                if k == 7 { out.append(0x20) }
            }
            out += Array(" |".utf8)
            out += line.map { (0x20...0x7e).contains($0) ? $0 : UInt8(ascii: ".") }
            out += Array("|\n".utf8)
            i += 16
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
