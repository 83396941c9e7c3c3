/// The summary `flowdb ingest` prints.
public struct IngestSummary {
    public var report: IngestReport
    public var seconds: Double
    public var archive: String

    public init(report: IngestReport, seconds: Double, archive: String) {
        self.report = report
        self.seconds = seconds
        self.archive = archive
    }

    public var text: String {
        let c = report.counters
        var ingested = 0, failed = 0, skipped = 0, read = 0
        for (_, outcome) in report.files {
            switch outcome {
            case .ingested: ingested += 1; read += 1
            case .failed(let captureID, _): failed += 1; read += captureID == nil ? 0 : 1
            case .skipped: skipped += 1
            }
        }
        if ingested == 0 && failed == 0 {
            return "nothing ingested: the archive \(archive) already holds all \(report.files.count) file(s)\n"
        }
        var out = "ingested \(ingested) of \(report.files.count) file(s) into \(archive)"
        if failed > 0 { out += ", \(failed) failed" }
        if skipped > 0 { out += ", \(skipped) skipped" }
        out += "\n"
        // nothing was read at all (every file missing or unreadable): no counts to show
        guard read > 0 else { return out }
        out += "packets:        \(c.packets) (TCP \(c.tcpPackets)"
        if c.udpPackets + c.icmpPackets > 0 { out += ", UDP \(c.udpPackets), ICMP \(c.icmpPackets)" }
        if c.truncatedPayloads > 0 { out += ", \(c.truncatedPayloads) with payload cut by the snaplen" }
        if c.tcpHeadersCut > 0 { out += ", \(c.tcpHeadersCut) with the header cut inside its options" }
        if c.tcpBadOptions > 0 { out += ", \(c.tcpBadOptions) with malformed options" }
        out += ")\n"
        let kinds = c.encapsulated.seen
        if !kinds.isEmpty {
            out += "encapsulations: " + kinds.map { "\($0.kind.name) \($0.packets)" }.joined(separator: ", ") + " (packets)\n"
        }
        if c.fragments > 0 {
            out += "fragments:      \(c.fragments) packets: \(c.datagramsReassembled) datagrams reassembled, \(c.fragmentsExpired) fragments expired, "
                + "\(c.fragmentOverlaps) overlaps with other bytes, \(c.oversizedDatagrams) datagrams over 65,535 bytes\n"
        }
        out += "skipped:        \(c.skipped) (non-IP \(c.nonIP), other IP protocols \(c.nonTCP), fragments \(c.fragments), malformed \(c.malformed), truncated \(c.truncated), link type not decoded \(c.unsupportedLink))\n"
        func states(_ list: [(state: String, flows: Int)]) -> String {
            list.map { "\($0.state) \($0.flows)" }.joined(separator: ", ")
        }
        let udp = report.udpStates.reduce(0) { $0 + $1.flows }, icmp = report.icmpStates.reduce(0) { $0 + $1.flows }
        out += "flows:          \(report.flows - udp - icmp)"
        if !report.connectionStates.isEmpty { out += " (" + states(report.connectionStates) + ")" }
        out += "\n"
        if udp > 0 { out += "UDP flows:      \(udp) (" + states(report.udpStates) + ")\n" }
        if icmp > 0 { out += "ICMP flows:     \(icmp)\n" }
        out += "bytes:          \(report.bytesDelivered) reassembled, \(report.bytesStored) stored\n"
        out += "gaps:           \(report.gaps)\n"
        out += "conflicts:      \(report.conflicts) overlaps with different bytes"
        if report.conflictsNotRecorded > 0 { out += ", \(report.conflictsNotRecorded) more past the bound of 1,000 rows per flow (counted in their flows)" }
        if report.overlapBytesUnchecked > 0 { out += " (\(report.overlapBytesUnchecked) overlapping bytes not compared)" }
        out += "\n"
        out += "anomalies:      \(report.anomalies)"
        if report.anomaliesNotRecorded > 0 { out += " (\(report.anomaliesNotRecorded) more past the bound of 1,000 per flow, counted only)" }
        out += "\n"
        let rate = seconds > 0 ? Double(report.inputBytes) / 1e6 / seconds : 0
        out += "time:           \(formatted(seconds)) s (\(Int(rate.rounded())) MB/s of capture)\n"
        return out
    }

    public func formatted(_ x: Double) -> String { Self.twoDecimals(x) }

    /// `x` with two decimals (no Foundation formatting).
    public static func twoDecimals(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
