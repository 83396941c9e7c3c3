import Decoding
import Digest
import Store

/// The Community ID of a flow's row, written with it; and the backfill of the
/// rows an archive held before migration 0015.
enum FlowCommunityID {
    static func of(_ f: FlowRow, with hasher: CommunityID.Hasher) -> String {
        let proto: UInt8 = switch f.proto {
        case .tcp: 6
        case .udp: 17
        case .icmp: f.isIPv6 ? 58 : 1
        }
        return hasher.v1(source: .init(high: f.client.high, low: f.client.low, isIPv6: f.isIPv6),
                         destination: .init(high: f.server.high, low: f.server.low, isIPv6: f.isIPv6),
                         proto: proto, sourcePort: f.clientPort, destinationPort: f.serverPort)
    }

    /// Gives every row without a Community ID its own (rows of an archive upgraded
    /// from before 0015), in one transaction; returns how many.
    @discardableResult
    static func backfill(_ connection: SQLiteConnection) throws -> Int {
        guard try connection.scalar("SELECT count(*) FROM (SELECT 1 FROM flow WHERE community_id IS NULL LIMIT 1)") == 1 else { return 0 }
        var done = 0
        let hasher = CommunityID.Hasher()
        try connection.transaction {
            let rows = try connection.prepare("""
                SELECT id, ip_version, client_ip, client_port, server_ip, server_port, proto FROM flow WHERE community_id IS NULL
                """)
            let update = try connection.prepare("UPDATE flow SET community_id = ? WHERE id = ?")
            while try rows.step() {
                guard let client = IPAddress(rows.text(2) ?? ""), let server = IPAddress(rows.text(4) ?? ""),
                      let proto = CommunityID.protocolNumber(rows.text(6) ?? "tcp", isIPv6: rows.int(1) == 6) else { continue }
                update.reset()
                try update.bind(hasher.v1(source: client.wireBytes, destination: server.wireBytes, proto: proto,
                                               sourcePort: UInt16(truncatingIfNeeded: rows.int(3)),
                                               destinationPort: UInt16(truncatingIfNeeded: rows.int(5))), at: 1)
                try update.bind(rows.int64(0), at: 2)
                _ = try update.step()
                done += 1
            }
        }
        return done
    }
}

/// For the ingest layer: rows of an upgraded archive get their Community IDs.
public enum CommunityIDBackfill {
    @discardableResult
    public static func run(_ connection: SQLiteConnection) throws -> Int { try FlowCommunityID.backfill(connection) }
}
