import Foundation
import Testing
import TestSupport
import Store
@testable import Ingest

/// A capture written here, with retransmissions that carry other bytes than the
/// first copy, ingested into an archive: the chunk rows show which copy won and
/// the overlap statistics gopacket reports.
@Suite struct CraftedOverlapTests {
    /// A classic pcap (Ethernet, IPv4, TCP without options) of `packets`, 1 ms apart.
    static func pcap(_ packets: [(fromClient: Bool, seq: UInt32, flags: UInt8, payload: String)]) -> [UInt8] {
        var out: [UInt8] = []
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func be16(_ v: UInt16, into a: inout [UInt8]) { withUnsafeBytes(of: v.bigEndian) { a += $0 } }
        func be32(_ v: UInt32, into a: inout [UInt8]) { withUnsafeBytes(of: v.bigEndian) { a += $0 } }
        le32(0xA1B2_C3D4)
        out += [2, 0, 4, 0]                   // version 2.4
        le32(0); le32(0); le32(65535); le32(1) // zone, sigfigs, snaplen, Ethernet
        let client: UInt32 = 0x0A01_0001, server: UInt32 = 0x0A01_0002
        for (index, p) in packets.enumerated() {
            let payload = Array(p.payload.utf8)
            var frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
            frame += [0x45, 0]
            be16(UInt16(40 + payload.count), into: &frame)
            frame += [0, 0, 0x40, 0, 64, 6, 0, 0]
            be32(p.fromClient ? client : server, into: &frame)
            be32(p.fromClient ? server : client, into: &frame)
            be16(p.fromClient ? 40_001 : 80, into: &frame)
            be16(p.fromClient ? 80 : 40_001, into: &frame)
            be32(p.seq, into: &frame)
            be32(0, into: &frame)
            frame += [0x50, p.flags, 0xFF, 0xFF, 0, 0, 0, 0]
            frame += payload
            le32(1_795_000_000)
            le32(UInt32(index * 1000))
            le32(UInt32(frame.count))
            le32(UInt32(frame.count))
            out += frame
        }
        return out
    }

    static let syn: UInt8 = 0x02, ack: UInt8 = 0x10, fin: UInt8 = 0x01

    @Test func firstCopyOfDeliveredBytesAndLastCopyInQueueAreStored() throws {
        let dir = Paths.temporaryDirectory()
        let capture = dir + "/overlap.pcap"
        try Self.pcap([
            (true, 1000, Self.syn, ""),
            (false, 5000, Self.syn | Self.ack, ""),
            (true, 1001, Self.ack, "hello world!"),         // 1001..<1013
            (true, 1007, Self.ack, "WORLD!MORE"),           // 6 bytes again, other content; 4 new
            (true, 1027, Self.ack, "AAAAAAAAAA"),           // queued behind a hole at 1017..<1027
            (true, 1027, Self.ack, "BBBBBBBBBB"),           // the same range again: replaces the queued copy
            (true, 1017, Self.ack, "0123456789"),           // fills the hole
            (true, 1037, Self.ack | Self.fin, ""),
            (false, 5001, Self.ack | Self.fin, ""),
        ]).write(to: capture)
        let db = dir + "/a.sqlite"
        let report = try IngestTests.ingest([capture], into: db)
        #expect(report.flows == 1 && report.gaps == 0)
        #expect(report.bytesDelivered == 36)

        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let rows = try c.prepare("""
            SELECT is_start, is_end, skip, length, CAST(data AS TEXT), queued_bytes, queued_packets,
                   overlap_bytes, overlap_packets
            FROM chunk WHERE dir = 0 ORDER BY id
            """)
        var got: [[SQLiteValue]] = []
        while try rows.step() { got.append((0..<9).map { rows.value($0) }) }
        func row(_ start: Int, _ end: Int, _ length: Int, _ text: String,
                 queued: (Int, Int) = (0, 0), overlap: (Int, Int) = (0, 0)) -> [SQLiteValue] {
            [.integer(Int64(start)), .integer(Int64(end)), .integer(0), .integer(Int64(length)), .text(text),
             .integer(Int64(queued.0)), .integer(Int64(queued.1)), .integer(Int64(overlap.0)), .integer(Int64(overlap.1))]
        }
        #expect(got == [
            row(1, 0, 0, ""),
            row(0, 0, 12, "hello world!"),
            row(0, 0, 4, "MORE", overlap: (6, 1)),
            row(0, 0, 20, "0123456789BBBBBBBBBB", queued: (20, 2), overlap: (10, 1)),
            row(0, 1, 0, ""),
        ])
        let content = try c.prepare("SELECT group_concat(CAST(data AS TEXT), '') FROM (SELECT data FROM chunk WHERE dir = 0 ORDER BY id)")
        #expect(try content.step())
        #expect(content.text(0) == "hello world!MORE0123456789BBBBBBBBBB")
        #expect(try c.scalar("SELECT c2s_bytes FROM flow") == 36)
        #expect(try c.scalar("SELECT count(*) FROM gap") == 0)
        let integrity = try c.prepare("PRAGMA integrity_check")
        #expect(try integrity.step() && integrity.text(0) == "ok")
    }
}
