import Decoding

/// The text `flowdb inspect` prints for a survey.
public struct SurveyReport {
    public var survey: CaptureSurvey
    public var limit: Int

    public init(survey: CaptureSurvey, limit: Int) {
        self.survey = survey
        self.limit = limit
    }

    public var text: String {
        let c = survey.counters
        var out = ""
        out += "link types:        \(survey.linkTypes.joined(separator: ", "))\n"
        out += "packets:           \(c.packets) (\(c.bytes) captured bytes)\n"
        out += "TCP packets:       \(c.tcpPackets)"
        out += c.truncatedPayloads > 0 ? " (\(c.truncatedPayloads) with payload cut by the snaplen)\n" : "\n"
        if c.udpPackets + c.icmpPackets > 0 { out += "UDP, ICMP packets: \(c.udpPackets), \(c.icmpPackets)\n" }
        out += "skipped:           \(c.skipped) (non-IP \(c.nonIP), other IP protocols \(c.nonTCP), fragments \(c.fragments), malformed \(c.malformed), truncated \(c.truncated), link type not decoded \(c.unsupportedLink))\n"
        let kinds = survey.encapsulations
        if !kinds.isEmpty {
            out += "encapsulations:    " + kinds.map { "\($0.kind.name) \($0.packets)" }.joined(separator: ", ") + " (packets)\n"
        }
        out += "TCP connections:   \(survey.conversations.count) by 4-tuple\(kinds.contains { $0.kind.separatesTenants } ? " and tunnel" : "")\n"
        for conversation in survey.conversations.prefix(limit) {
            let t = survey.tallies[conversation]!
            out += "  \(Self.endpoint(conversation.a, conversation.aPort)) <-> \(Self.endpoint(conversation.b, conversation.bPort))"
            out += "  packets \(t.packets), payload bytes \(t.payloadBytes)\n"
        }
        if survey.conversations.count > limit {
            out += "  ... \(survey.conversations.count - limit) more (--limit N)\n"
        }
        return out
    }

    static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
