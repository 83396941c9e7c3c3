/// TCP ports on which a packet's sender is taken for the server when the
/// connection's first packet is not a SYN: the TCP ports that Zeek's default
/// protocol scripts register in `likely_server_ports` (FTP, SSH, Telnet, SMTP,
/// DNS, HTTP and proxies, TLS services, SMB, RDP, IRC, POP3, IMAP, LDAP,
/// Kerberos, DCE-RPC, MySQL, PostgreSQL, Redis, XMPP, MQTT, Modbus, DNP3, ...).
/// Zeek's own set depends on the scripts it loads; this one is fixed and listed
/// in docs/schema.md.
public enum LikelyServerPorts {
    public static let tcp: Set<UInt16> = [
        21, 2811,                                   // FTP
        22,                                         // SSH
        23,                                         // Telnet
        25, 587,                                    // SMTP
        53,                                         // DNS
        80, 81, 631, 1080, 3128, 8000, 8080, 8888,  // HTTP, proxies
        88,                                         // Kerberos
        110,                                        // POP3
        135,                                        // DCE-RPC endpoint mapper
        139, 445,                                   // SMB
        143,                                        // IMAP
        389, 3268,                                  // LDAP
        443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223,  // TLS
        502,                                        // Modbus
        1883,                                       // MQTT
        3306,                                       // MySQL
        3389,                                       // RDP
        5222, 5269,                                 // XMPP
        5432,                                       // PostgreSQL
        6379,                                       // Redis
        6666, 6667, 6668, 6669,                     // IRC
        20000,                                      // DNP3
    ]

    @inline(__always)
    public static func contains(_ port: UInt16) -> Bool { tcp.contains(port) }

    /// The UDP ports Zeek's default scripts register in `likely_server_ports`:
    /// those of its UDP analyzers and tunnels.
    public static let udp: Set<UInt16> = [
        53, 137, 5353, 5355,                        // DNS, NetBIOS names, mDNS, LLMNR
        67, 68,                                     // DHCP
        88,                                         // Kerberos
        123,                                        // NTP
        161, 162,                                   // SNMP
        443,                                        // QUIC
        500, 4500,                                  // IKE
        514,                                        // syslog
        1812, 1813,                                 // RADIUS
        2123, 2152,                                 // GTPv1
        3544,                                       // Teredo
        4789, 6081, 5072,                           // VXLAN, Geneve, AYIYA
        5060,                                       // SIP
    ]
}
