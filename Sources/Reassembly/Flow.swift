/// A network-layer address. IPv4 lives in the low 32 bits of `low`, with `high == 0`.
@frozen
public struct Address: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    @inlinable
    public init(high: UInt64, low: UInt64, isIPv6: Bool) {
        self.high = high
        self.low = low
        self.isIPv6 = isIPv6
    }

    /// An IPv4 address given as a host-order 32-bit value (`0x01020304` is 1.2.3.4).
    @inlinable
    public init(ipv4: UInt32) {
        self.init(high: 0, low: UInt64(ipv4), isIPv6: false)
    }
}

/// The 4-tuple of one TCP packet, oriented from its sender to its receiver, and
/// the zone it travels in: connections in different zones are different even with
/// the same addresses and ports (tenants of different tunnels). Zone 0 is the
/// untunnelled network; the engine only compares zones.
@frozen
public struct FlowKey: Hashable, Sendable {
    public var source: Address
    public var destination: Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var zone: UInt64

    @inlinable
    public init(source: Address, destination: Address, sourcePort: UInt16, destinationPort: UInt16, zone: UInt64 = 0) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.zone = zone
    }

    /// Five words into the (seeded, flood-resistant) hasher instead of eight
    /// fields: the connection table hashes every packet's key. A zone other than
    /// 0 adds a sixth.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        let family: UInt64 = (source.isIPv6 ? 1 << 32 : 0) | (destination.isIPv6 ? 1 << 33 : 0)
        hasher.combine(source.high)
        hasher.combine(source.low)
        hasher.combine(destination.high)
        hasher.combine(destination.low)
        hasher.combine(UInt64(sourcePort) << 16 | UInt64(destinationPort) | family)
        if zone != 0 { hasher.combine(zone) }
    }

    /// The same flow seen from the other end.
    @inlinable
    public var reversed: FlowKey {
        FlowKey(source: destination, destination: source, sourcePort: destinationPort, destinationPort: sourcePort, zone: zone)
    }
}

/// TCP header flags, with the bit values of the header (`fin` = 0x01 … `cwr` = 0x80, `ns` = 0x100).
@frozen
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
    public static let ns = TCPFlags(rawValue: 0x100)
}

/// One decoded TCP segment. `options` and `payload` borrow the capture buffer:
/// they are only valid for the duration of the call they are passed to.
@frozen
public struct TCPSegment {
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    /// Raw option bytes of the TCP header (everything after the fixed 20 bytes).
    public var options: UnsafeRawBufferPointer
    public var payload: UnsafeRawBufferPointer

    @inlinable
    public init(
        sequence: UInt32,
        acknowledgment: UInt32 = 0,
        flags: TCPFlags = [],
        window: UInt16 = 0,
        options: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) {
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.options = options
        self.payload = payload
    }
}

/// Capture metadata of one packet.
@frozen
public struct CaptureInfo: Sendable, Equatable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    public var captureLength: Int
    public var length: Int
    public var interfaceIndex: Int

    @inlinable
    public init(timestamp: Int64 = 0, captureLength: Int = 0, length: Int = 0, interfaceIndex: Int = 0) {
        self.timestamp = timestamp
        self.captureLength = captureLength
        self.length = length
        self.interfaceIndex = interfaceIndex
    }
}

/// Which half of a connection a segment belongs to. The half that carried the
/// first packet the assembler saw is `clientToServer`, which may be wrong when
/// the capture starts mid-connection or packets arrive out of order.
@frozen
public enum FlowDirection: Hashable, Sendable {
    case clientToServer
    case serverToClient

    @inlinable
    public var reversed: FlowDirection {
        self == .clientToServer ? .serverToClient : .clientToServer
    }
}
