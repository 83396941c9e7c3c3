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

    /// Five words into the hasher instead of eight fields (a zone other than 0
    /// adds a sixth). Used where a key is part of a larger hashed value;
    /// dictionaries keyed by `FlowKey` use `_rawHashValue(seed:)` below.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(source.high)
        hasher.combine(source.low)
        hasher.combine(destination.high)
        hasher.combine(destination.low)
        hasher.combine(portsAndFamily)
        if zone != 0 { hasher.combine(zone) }
    }

    /// The hash a `Dictionary` or `Set` of keys uses: every packet hashes its key
    /// into the connection table, and SipHash over five words was the largest
    /// single cost of a lookup (7% of the reassembly thread on 100,000 short
    /// flows). This is a folded 64×64→128-bit multiply of the words, keyed by
    /// secrets drawn once per process from the standard library's random hash
    /// seed (fixed under `SWIFT_DETERMINISTIC_HASHING`, like every other hash)
    /// and by the table's own seed. Without the secrets a sender cannot choose
    /// addresses and ports that collide, so the table keeps its flood
    /// resistance; it is the construction of Go's and Rust's fast map hashes,
    /// not a cryptographic one.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int {
        let keys = FlowKeyHashSecrets.shared
        var h = FlowKeyHashSecrets.fold(source.low ^ keys.0, destination.low ^ keys.1)
        h = FlowKeyHashSecrets.fold(h ^ portsAndFamily ^ keys.2, zone ^ UInt64(UInt(bitPattern: seed)) ^ keys.3)
        if source.high | destination.high != 0 {
            h = FlowKeyHashSecrets.fold(h ^ source.high ^ keys.0, destination.high ^ keys.2)
        }
        return Int(truncatingIfNeeded: h)
    }

    /// Ports and both address families in one word.
    @inlinable
    var portsAndFamily: UInt64 {
        (source.isIPv6 ? 1 << 32 : 0) | (destination.isIPv6 ? 1 << 33 : 0)
            | UInt64(sourcePort) << 16 | UInt64(destinationPort)
    }

    /// The same flow seen from the other end.
    @inlinable
    public var reversed: FlowKey {
        FlowKey(source: destination, destination: source, sourcePort: destinationPort, destinationPort: sourcePort, zone: zone)
    }
}

/// The per-process secrets of `FlowKey._rawHashValue(seed:)`.
@usableFromInline
enum FlowKeyHashSecrets {
    /// Four words taken from the standard library's per-process hash seed.
    @usableFromInline
    static let shared: (UInt64, UInt64, UInt64, UInt64) = {
        func secret(_ n: UInt64) -> UInt64 {
            var hasher = Hasher()
            hasher.combine(n)
            // an odd multiplier never folds a word to zero by itself
            return UInt64(UInt(bitPattern: hasher.finalize())) | 1
        }
        return (secret(0x9E37_79B9_7F4A_7C15), secret(0xC2B2_AE3D_27D4_EB4F), secret(0x1656_67B1_9E37_79F9),
                secret(0x27D4_EB2F_1656_67C5))
    }()

    /// The high and low halves of the full product, xored: every input bit
    /// reaches the low bits a table indexes by.
    @inlinable @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
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
    /// The packet's index in its capture file, where the caller knows it (else -1);
    /// gopacket has no such field. It tells which packet carried an overlap's bytes.
    public var packetIndex: Int

    @inlinable
    public init(timestamp: Int64 = 0, captureLength: Int = 0, length: Int = 0, interfaceIndex: Int = 0, packetIndex: Int = -1) {
        self.timestamp = timestamp
        self.captureLength = captureLength
        self.length = length
        self.interfaceIndex = interfaceIndex
        self.packetIndex = packetIndex
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
