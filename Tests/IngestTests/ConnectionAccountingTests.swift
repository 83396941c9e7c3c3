import Foundation
import Testing
import TestSupport
import Store
@testable import Ingest

/// Crafted captures through the whole ingest: one flow per TCP connection, the
/// packets after a close counted on it for the close delay, Zeek's states.
@Suite struct ConnectionAccountingTests {
    struct P {
        var t: Double                 // seconds after the first packet
        var fromClient: Bool
        var seq: UInt32
        var ack: UInt32 = 0
        var flags: UInt8
        var payload = ""
        var clientPort: UInt16 = 40_001
    }

    static let syn: UInt8 = 0x02, ack: UInt8 = 0x10, fin: UInt8 = 0x01, rst: UInt8 = 0x04

    /// A classic pcap (Ethernet, IPv4, TCP without options): 10.1.0.1 (client) and 10.1.0.2:80.
    static func pcap(_ packets: [P]) -> [UInt8] {
        var out: [UInt8] = []
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func be16(_ v: UInt16, into a: inout [UInt8]) { withUnsafeBytes(of: v.bigEndian) { a += $0 } }
        func be32(_ v: UInt32, into a: inout [UInt8]) { withUnsafeBytes(of: v.bigEndian) { a += $0 } }
        le32(0xA1B2_C3D4)
        out += [2, 0, 4, 0]
        le32(0); le32(0); le32(65535); le32(1)
        let client: UInt32 = 0x0A01_0001, server: UInt32 = 0x0A01_0002
        for p in packets {
            let payload = Array(p.payload.utf8)
            var frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
            frame += [0x45, 0]
            be16(UInt16(40 + payload.count), into: &frame)
            frame += [0, 0, 0x40, 0, 64, 6, 0, 0]
            be32(p.fromClient ? client : server, into: &frame)
            be32(p.fromClient ? server : client, into: &frame)
            be16(p.fromClient ? p.clientPort : 80, into: &frame)
            be16(p.fromClient ? 80 : p.clientPort, into: &frame)
            be32(p.seq, into: &frame)
            be32(p.ack, into: &frame)
            frame += [0x50, p.flags, 0xFF, 0xFF, 0, 0, 0, 0]
            frame += payload
            let micros = UInt64(p.t * 1_000_000)
            le32(1_795_000_000 + UInt32(micros / 1_000_000))
            le32(UInt32(micros % 1_000_000))
            le32(UInt32(frame.count))
            le32(UInt32(frame.count))
            out += frame
        }
        return out
    }

    /// A connection from 40001 to 80: handshake, "GET" and "OK" each way, FINs, last ACK.
    static func connection(at t: Double, port: UInt16 = 40_001) -> [P] {
        [P(t: t, fromClient: true, seq: 1000, flags: syn, clientPort: port),
         P(t: t + 0.001, fromClient: false, seq: 5000, ack: 1001, flags: syn | ack, clientPort: port),
         P(t: t + 0.002, fromClient: true, seq: 1001, ack: 5001, flags: ack, clientPort: port),
         P(t: t + 0.003, fromClient: true, seq: 1001, ack: 5001, flags: ack, payload: "GET", clientPort: port),
         P(t: t + 0.004, fromClient: false, seq: 5001, ack: 1004, flags: ack, payload: "OK", clientPort: port),
         P(t: t + 0.005, fromClient: true, seq: 1004, ack: 5003, flags: fin | ack, clientPort: port),
         P(t: t + 0.006, fromClient: false, seq: 5003, ack: 1005, flags: fin | ack, clientPort: port),
         P(t: t + 0.007, fromClient: true, seq: 1005, ack: 5004, flags: ack, clientPort: port)]
    }

    struct Row: Equatable {
        var client: String, conn: String, history: String, c2s: Int, s2c: Int, bytes: Int
    }

    static func ingest(_ packets: [P], _ configure: (inout IngestOptions) -> Void = { _ in }) throws -> (rows: [Row], db: String) {
        let dir = Paths.temporaryDirectory()
        let capture = dir + "/crafted.pcap"
        try Data(pcap(packets)).write(to: URL(fileURLWithPath: capture))
        var options = IngestOptions()
        configure(&options)
        let db = dir + "/a.sqlite"
        _ = try Ingestor(archive: try Archive(path: db, create: true), options: options).run(paths: [capture])
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let s = try c.prepare("""
            SELECT client_ip || ':' || client_port, conn_state, history, c2s_packets, s2c_packets, c2s_bytes + s2c_bytes
            FROM flow ORDER BY id
            """)
        var rows: [Row] = []
        while try s.step() {
            rows.append(Row(client: s.text(0) ?? "", conn: s.text(1) ?? "", history: s.text(2) ?? "", c2s: s.int(3), s2c: s.int(4),
                            bytes: s.int(5)))
        }
        return (rows, db)
    }

    @Test func packetsAfterTheCloseBelongToTheConnection() throws {
        // The last ACK, then a retransmitted FIN from the server 2 s later.
        let packets = Self.connection(at: 0) + [P(t: 2, fromClient: false, seq: 5003, ack: 1005, flags: Self.fin | Self.ack)]
        let (rows, _) = try Self.ingest(packets)
        #expect(rows == [Row(client: "10.1.0.1:40001", conn: "SF", history: "ShADdFf", c2s: 5, s2c: 4, bytes: 5)])
        // With no close delay, each stream gopacket starts is a flow of its own, as
        // before: the last ACK opens one, which the FIN 2 s later joins.
        let (gopacket, _) = try Self.ingest(packets) { $0.recording.closeDelay = 0 }
        #expect(gopacket.map(\.conn) == ["SF", "SHR"])
        #expect(gopacket.map(\.history) == ["ShADdFf", "Af"])
    }

    /// Data after both FINs (within the delay) is kept, on the connection's flow:
    /// gopacket would deliver it to a new stream, which flowdb records there.
    @Test func lateDataIsStoredOnTheConnection() throws {
        let packets = Self.connection(at: 0) + [P(t: 1, fromClient: true, seq: 1005, ack: 5004, flags: Self.ack, payload: "LATE")]
        let (rows, db) = try Self.ingest(packets)
        #expect(rows.count == 1)
        #expect(rows[0].c2s == 6 && rows[0].bytes == 9)
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let s = try c.prepare("SELECT group_concat(CAST(data AS TEXT), '|') FROM (SELECT data FROM chunk WHERE dir = 0 AND length > 0 ORDER BY id)")
        #expect(try s.step() && s.text(0) == "GET|LATE")
        // Where the late bytes start is unknown to the engine (a new stream): recorded as a gap of unknown length.
        #expect(try c.scalar("SELECT count(*) FROM gap WHERE length IS NULL AND dir = 0") == 1)
    }

    /// After the close delay, a packet starts a new connection; a SYN always does.
    @Test func closeDelayAndPortReuse() throws {
        let late = Self.connection(at: 0) + [P(t: 6, fromClient: false, seq: 5003, ack: 1005, flags: Self.fin | Self.ack)]
        let (rows, _) = try Self.ingest(late)
        #expect(rows.map(\.conn) == ["SF", "SHR"])
        #expect(rows[1].client == "10.1.0.1:40001" && rows[1].history == "^f" && rows[1].s2c == 1)
        let (longer, _) = try Self.ingest(late) { $0.recording.closeDelay = 10_000_000_000 }
        #expect(longer.map(\.conn) == ["SF"])
        // A new SYN 1 s after the close: port reuse, a second connection.
        let reuse = Self.connection(at: 0) + Self.connection(at: 1)
        let (two, _) = try Self.ingest(reuse)
        #expect(two.map(\.conn) == ["SF", "SF"] && two.map(\.c2s) == [5, 5])
    }

    /// Connections that never carried a byte stay visible: a SYN scan and a refused attempt.
    @Test func attemptsWithoutBytesAreFlows() throws {
        let packets = [
            P(t: 0, fromClient: true, seq: 100, flags: Self.syn, clientPort: 50_000),
            P(t: 0.1, fromClient: true, seq: 200, flags: Self.syn, clientPort: 50_001),
            P(t: 0.101, fromClient: false, seq: 0, ack: 201, flags: Self.rst | Self.ack, clientPort: 50_001),
            P(t: 0.2, fromClient: true, seq: 300, flags: Self.syn, clientPort: 50_002),
            P(t: 0.201, fromClient: true, seq: 301, flags: Self.rst, clientPort: 50_002),
        ]
        let (rows, db) = try Self.ingest(packets)
        #expect(rows.map(\.conn) == ["S0", "REJ", "RSTOS0"])
        #expect(rows.map(\.history) == ["S", "Sr", "SR"])
        #expect(rows.map(\.bytes) == [0, 0, 0])
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let s = try c.prepare("SELECT group_concat(state, ',') FROM (SELECT state FROM flows ORDER BY id)")
        #expect(try s.step() && s.text(0) == "attempt,rejected,reset")
    }

    /// A capture that begins with the server's SYN-ACK (port 80 to 40001): Zeek
    /// takes the receiver for the originator, and so does the flow row; the bytes
    /// each side sent stay on its side.
    @Test func synAckFirstFlipsTheRoles() throws {
        let packets = Array(Self.connection(at: 0).dropFirst())
        let (rows, db) = try Self.ingest(packets)
        #expect(rows == [Row(client: "10.1.0.1:40001", conn: "SF", history: "^hADdFf", c2s: 4, s2c: 3, bytes: 5)])
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let s = try c.prepare("SELECT dir, CAST(data AS TEXT) FROM chunk WHERE length > 0 ORDER BY id")
        var seen: [String] = []
        while try s.step() { seen.append("\(s.int(0)):\(s.text(1) ?? "")") }
        // (gopacket queues the client's bytes until the end: their start was not seen)
        #expect(seen.sorted() == ["0:GET", "1:OK"])
    }
}
