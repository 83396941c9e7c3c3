import Reassembly

/// A flow as it can be recognised in the next archive: its two endpoints in a
/// fixed order (so either side's packet finds it), its tenant zone and transport.
public struct ContinuationKey: Hashable, Sendable {
    var low: Address, lowPort: UInt16, high: Address, highPort: UInt16
    var zone: UInt64
    var transport: UInt8

    init(_ flow: FlowState) {
        let k = flow.key
        let first = (k.source.high, k.source.low, k.sourcePort) <= (k.destination.high, k.destination.low, k.destinationPort)
        (low, lowPort) = first ? (k.source, k.sourcePort) : (k.destination, k.destinationPort)
        (high, highPort) = first ? (k.destination, k.destinationPort) : (k.source, k.sourcePort)
        zone = k.zone
        transport = switch flow.datagram?.transport {
        case .udp: 17
        case .icmp: 1
        case nil: 6
        }
    }
}
