/// The link-layer header types flowdb decodes, by the DLT number libpcap reports
/// (`pcap_datalink`). Any other link type is rejected before the first packet.
public enum LinkType: Sendable, Equatable {
    case ethernet        // DLT_EN10MB (1), with any stack of 802.1Q / 802.1ad tags
    case null            // DLT_NULL (0): 4-byte address family in the writer's byte order
    case loop            // DLT_LOOP (108): 4-byte address family, network byte order (OpenBSD)
    case raw             // DLT_RAW (12 or 14), LINKTYPE_RAW (101): bare IPv4 or IPv6
    case ipv4            // LINKTYPE_IPV4 (228)
    case ipv6            // LINKTYPE_IPV6 (229)
    case linuxCooked     // DLT_LINUX_SLL (113)
    case linuxCooked2    // DLT_LINUX_SLL2 (276)
    case ciscoHDLC       // DLT_C_HDLC (104): address, control, then an EtherType
    case nflog           // DLT_NFLOG (239): Linux netfilter log, the packet in a TLV
    /// Any other DLT: the file is read, its packets counted as skipped.
    case unsupported(Int32)

    public init(dlt: Int32) {
        switch dlt {
        case 1: self = .ethernet
        case 0: self = .null
        case 108: self = .loop
        case 12, 14, 101: self = .raw
        case 228: self = .ipv4
        case 229: self = .ipv6
        case 113: self = .linuxCooked
        case 276: self = .linuxCooked2
        case 104: self = .ciscoHDLC
        case 239: self = .nflog
        default: self = .unsupported(dlt)
        }
    }

    /// A short name for summaries and the archive (`capture.link_type_name`).
    public var name: String {
        switch self {
        case .ethernet: "ethernet"
        case .null: "bsd-loopback"
        case .loop: "openbsd-loopback"
        case .raw: "raw-ip"
        case .ipv4: "raw-ipv4"
        case .ipv6: "raw-ipv6"
        case .linuxCooked: "linux-sll"
        case .linuxCooked2: "linux-sll2"
        case .ciscoHDLC: "cisco-hdlc"
        case .nflog: "nflog"
        case .unsupported(let dlt): "unsupported (DLT \(dlt))"
        }
    }

    public var isSupported: Bool {
        if case .unsupported = self { return false }
        return true
    }
}
