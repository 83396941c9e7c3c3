/// Per-capture packet counts by what the decoder made of each packet.
public struct DecodeCounters: Sendable, Equatable {
    public var packets = 0
    /// Captured bytes of all packet records.
    public var bytes = 0
    public var tcpPackets = 0
    /// TCP segments whose payload the capture cut short (delivered with the bytes that exist).
    public var truncatedPayloads = 0
    public var nonIP = 0
    public var nonTCP = 0
    public var fragments = 0
    public var malformed = 0
    public var truncated = 0
    public var unsupportedLink = 0

    public init() {}

    @inlinable
    public mutating func record(_ result: DecodeResult, capturedBytes: Int, payloadTruncated: Bool) {
        packets += 1
        bytes += capturedBytes
        switch result {
        case .tcp:
            tcpPackets += 1
            if payloadTruncated { truncatedPayloads += 1 }
        case .nonIP: nonIP += 1
        case .nonTCP: nonTCP += 1
        case .fragment: fragments += 1
        case .malformed: malformed += 1
        case .truncated: truncated += 1
        case .unsupportedLink: unsupportedLink += 1
        }
    }

    /// Packets that carried no TCP segment.
    public var skipped: Int { nonIP + nonTCP + fragments + malformed + truncated + unsupportedLink }

    public static func += (a: inout DecodeCounters, b: DecodeCounters) {
        a.packets += b.packets; a.bytes += b.bytes; a.tcpPackets += b.tcpPackets
        a.truncatedPayloads += b.truncatedPayloads; a.nonIP += b.nonIP; a.nonTCP += b.nonTCP
        a.fragments += b.fragments; a.malformed += b.malformed; a.truncated += b.truncated
        a.unsupportedLink += b.unsupportedLink
    }
}
