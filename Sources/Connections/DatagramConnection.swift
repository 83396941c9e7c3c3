/// A UDP or ICMP flow as Zeek's conn.log counts it: which sides sent, the
/// `conn_state` that follows, UDP's history letters, and who the originator is.
///
/// Zeek's rules (base/protocols/conn and its UDP and ICMP analyzers): a UDP flow is
/// `SF` once both sides sent a datagram, `S0` while only the originator did, `SHR`
/// when only the responder did; an ICMP flow is always `OTH`. UDP's history has
/// `D` for the originator's first datagram and `d` for the responder's; ICMP has
/// none.
public struct DatagramConnection: Sendable, Equatable {
    public enum Transport: UInt8, Sendable {
        case udp, icmp

        /// As Zeek's conn.log spells it.
        public var name: String { self == .udp ? "udp" : "icmp" }
    }

    public let transport: Transport
    public private(set) var originatorSent = false
    public private(set) var responderSent = false

    public init(_ transport: Transport) {
        self.transport = transport
    }

    /// Accounts for one datagram or message.
    public mutating func observe(fromOriginator: Bool) {
        if fromOriginator { originatorSent = true } else { responderSent = true }
    }

    public var state: ConnectionState {
        guard transport == .udp else { return .oth }
        switch (originatorSent, responderSent) {
        case (true, true): return .sf
        case (true, false): return .s0
        case (false, true): return .shr
        case (false, false): return .oth
        }
    }

    /// `D`, `Dd`, `d`, or nil (ICMP, or nothing seen).
    public var history: String? {
        guard transport == .udp else { return nil }
        let letters = (originatorSent ? "D" : "") + (responderSent ? "d" : "")
        return letters.isEmpty ? nil : letters
    }

    /// Whether Zeek takes the receiver of a flow's first datagram as the
    /// originator: it comes from a likely service port to one that is not.
    public static func responderSentFirst(sourcePort: UInt16, destinationPort: UInt16) -> Bool {
        LikelyServerPorts.udp.contains(sourcePort) && !LikelyServerPorts.udp.contains(destinationPort)
    }

    /// Whether an ICMP message answers one (an echo reply, a timestamp, address
    /// mask or information reply, ICMPv6's echo reply): the first message of a flow
    /// being an answer, its receiver is the originator.
    public static func isICMPAnswer(type: UInt8, isIPv6: Bool) -> Bool {
        isIPv6 ? type == 129 : [0, 14, 16, 18].contains(type)
    }

    /// The type of the request an ICMP echo reply answers (and of a request, itself).
    public static func icmpRequestType(_ type: UInt8, isIPv6: Bool) -> UInt8 {
        if isIPv6 { return type == 129 ? 128 : type }
        switch type {
        case 0: return 8
        case 14: return 13
        case 16: return 15
        case 18: return 17
        default: return type
        }
    }
}
