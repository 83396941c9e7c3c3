/// A layer that carried the innermost IP packet: a tunnel, a label or a tag.
public enum EncapsulationKind: UInt8, Sendable, CaseIterable {
    case vlan = 1
    case mpls
    case pppoe
    case vxlan
    case geneve
    case gre
    case erspan
    case ipInIP
    case gtpU
    case teredo
    case ayiya
    case pbb
    case vnTag
    case fabricPath
    /// An IEEE 802.11 data frame, as Aruba's access points and controllers carry
    /// them in GRE.
    case wlan

    /// The name in an encapsulation chain.
    public var name: String {
        switch self {
        case .vlan: "vlan"
        case .mpls: "mpls"
        case .pppoe: "pppoe"
        case .vxlan: "vxlan"
        case .geneve: "geneve"
        case .gre: "gre"
        case .erspan: "erspan"
        case .ipInIP: "ipip"
        case .gtpU: "gtpu"
        case .teredo: "teredo"
        case .ayiya: "ayiya"
        case .pbb: "pbb"
        case .vnTag: "vntag"
        case .fabricPath: "fabricpath"
        case .wlan: "wlan"
        }
    }

    /// Whether the layer's identifier separates tenants that may reuse the same
    /// inner addresses (a VXLAN or Geneve VNI, a GRE key, a PPPoE session): two
    /// connections under different identifiers are different connections. Labels
    /// and tags that differ by direction (MPLS, GTP-U TEIDs) or that SPAN ports
    /// set per direction (VLAN) are recorded but do not separate connections.
    public var separatesTenants: Bool {
        switch self {
        case .vxlan, .geneve, .gre, .pppoe, .pbb: true
        default: false
        }
    }
}

/// One layer of an encapsulation chain: its kind, its identifier where it has one
/// (VNI, GRE key, label, session, TEID, VLAN id), and, for a tunnel carried in IP,
/// the outer addresses.
public struct EncapsulationLayer: Sendable, Equatable {
    public var kind: EncapsulationKind
    public var id: UInt32?
    public var outerSource: IPAddress?
    public var outerDestination: IPAddress?
    /// A tunnel carried in UDP (VXLAN, Geneve, GTP-U, Teredo, AYIYA): the outer
    /// datagram's source and destination ports (source in the high half; 0 for
    /// other layers), and the length of the IP packet carrying it.
    public var outerPorts: UInt32 = 0
    public var outerIPLength: Int32 = 0

    /// The service Zeek names such a tunnel's own UDP connection by.
    public var udpService: String? {
        guard outerPorts != 0 else { return nil }
        switch kind {
        case .vxlan: return "vxlan"
        case .geneve: return "geneve"
        case .gtpU: return "gtpv1"
        case .teredo: return "teredo"
        case .ayiya: return "ayiya"
        default: return nil
        }
    }

    public init(kind: EncapsulationKind, id: UInt32? = nil, outerSource: IPAddress? = nil, outerDestination: IPAddress? = nil) {
        self.kind = kind
        self.id = id
        self.outerSource = outerSource
        self.outerDestination = outerDestination
    }

    /// `vxlan:4242 192.0.2.10>192.0.2.20`, `vlan:100`, `ipip 192.0.2.1>192.0.2.2`.
    public var text: String {
        var s = kind.name
        if let id { s += ":\(id)" }
        if let outerSource, let outerDestination { s += " \(outerSource)>\(outerDestination)" }
        return s
    }
}

/// The layers around a packet's innermost IP header, outermost first, at most
/// `Encapsulation.limit` of them. Stored inline: recording a chain allocates nothing.
public struct Encapsulation: Sendable, Equatable {
    /// The deepest nesting decoded; a packet with more layers is counted as malformed.
    public static let limit = 8

    private var layers: (EncapsulationLayer?, EncapsulationLayer?, EncapsulationLayer?, EncapsulationLayer?,
                         EncapsulationLayer?, EncapsulationLayer?, EncapsulationLayer?, EncapsulationLayer?)
        = (nil, nil, nil, nil, nil, nil, nil, nil)
    public private(set) var count = 0

    public init() {}

    /// Adds a layer; false when the chain is full.
    @discardableResult
    public mutating func append(_ layer: EncapsulationLayer) -> Bool {
        guard count < Self.limit else { return false }
        switch count {
        case 0: layers.0 = layer
        case 1: layers.1 = layer
        case 2: layers.2 = layer
        case 3: layers.3 = layer
        case 4: layers.4 = layer
        case 5: layers.5 = layer
        case 6: layers.6 = layer
        default: layers.7 = layer
        }
        count += 1
        return true
    }

    public mutating func removeAll() {
        count = 0
    }

    public subscript(index: Int) -> EncapsulationLayer {
        precondition(index >= 0 && index < count, "encapsulation layer out of range")
        switch index {
        case 0: return layers.0!
        case 1: return layers.1!
        case 2: return layers.2!
        case 3: return layers.3!
        case 4: return layers.4!
        case 5: return layers.5!
        case 6: return layers.6!
        default: return layers.7!
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// The chain as text, outermost first, layers separated by " / ".
    public var text: String {
        (0..<count).map { self[$0].text }.joined(separator: " / ")
    }

    /// A number that differs between tenants: 0 without tenant-separating layers,
    /// otherwise a mix of their kinds and identifiers (never of addresses, so both
    /// directions of a connection have the same). With `vlanAware`, VLAN ids count too.
    public func zone(vlanAware: Bool = false) -> UInt64 {
        guard count > 0 else { return 0 }
        var h: UInt64 = 0
        for i in 0..<count {
            let layer = self[i]
            guard layer.kind.separatesTenants || (vlanAware && layer.kind == .vlan) else { continue }
            let word = UInt64(layer.kind.rawValue) << 32 | UInt64(layer.id ?? 0xFFFF_FFFF)
            h = (h ^ word) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        return h
    }

    public static func == (a: Encapsulation, b: Encapsulation) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
