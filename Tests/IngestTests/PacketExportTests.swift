import Foundation
import Testing
import TestSupport
@testable import Query
@testable import Recording
@testable import Store
import Decoding
import Digest

/// The records of a pcap file (little-endian only, as the fixtures are): the
/// 24-byte file header and each record's 16-byte header with its data.
func pcapRecords(_ path: String) throws -> (header: [UInt8], records: [[UInt8]]) {
    let bytes = try [UInt8](contentsOf: path)
    var records: [[UInt8]] = []
    var i = 24
    while i + 16 <= bytes.count {
        let caplen = Int(bytes[i + 8]) | Int(bytes[i + 9]) << 8 | Int(bytes[i + 10]) << 16 | Int(bytes[i + 11]) << 24
        records.append(Array(bytes[i..<(i + 16 + caplen)]))
        i += 16 + caplen
    }
    #expect(i == bytes.count, "\(path): trailing bytes")
    return (Array(bytes.prefix(24)), records)
}

func sha256Hex(_ path: String) throws -> String {
    var sha = SHA256()
    sha.update(try [UInt8](contentsOf: path))
    return sha.hexDigest
}

/// Packet provenance: every flow's records, exported as pcap, are the capture's own.
@Suite struct PacketExportTests {
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
        try CommandLineTests.run(arguments, stdin: stdin)
    }

    static func flowIDs(_ db: String) throws -> [Int64] {
        let r = try run(["query", "--db", db, "--limit", "0", "--json"])
        #expect(r.status == 0, "\(r.err)")
        return r.out.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: #""id":"#) else { return nil }
            return Int64(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Exporting every flow one by one gives each packet record of the capture
    /// that carried TCP (or a fragment of a TCP datagram) exactly once, byte-identical.
    @Test(arguments: ["Samples/sample-loss.pcap", "Tests/Fixtures/port-reuse.pcap", "Tests/Fixtures/tunnels/ipv4-frag.pcap"])
    func exportsPartitionTheCapture(_ relative: String) throws {
        let capture = Paths.repository + "/" + relative
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite"
        let ingest = try Self.run(["ingest", "--quiet", "--db", db, capture])
        #expect(ingest.status == 0, "\(ingest.err)")
        let original = try pcapRecords(capture)
        var seen: [[UInt8]: Int] = [:]
        let ids = try Self.flowIDs(db)
        #expect(!ids.isEmpty)
        for id in ids {
            let out = dir + "/flow\(id).pcap"
            let r = try Self.run(["query", "--db", db, "--flow", "\(id)", "--pcap", out])
            #expect(r.status == 0, "\(r.err)")
            let exported = try pcapRecords(out)
            #expect(exported.header == original.header)
            for record in exported.records { seen[record, default: 0] += 1 }
        }
        // Which records carried TCP, by the archive's counters: the rest must be
        // exactly the records no flow may claim.
        let archive = try Archive(path: db, create: false)
        let tcp = try #require(try archive.connection.scalar("SELECT tcp_packets + skipped_fragments FROM capture"))
        let exportedCount = seen.values.reduce(0, +)
        #expect(exportedCount == Int(tcp), "\(relative): \(exportedCount) records exported, \(tcp) TCP records")
        #expect(seen.values.allSatisfy { $0 == 1 }, "a record was exported twice")
        let originals = Set(original.records)
        #expect(seen.keys.allSatisfy { originals.contains($0) }, "an exported record is not in the capture")
        let expected: [String: Int] = ["Samples/sample-loss.pcap": 830, "Tests/Fixtures/port-reuse.pcap": 40,
                                       "Tests/Fixtures/tunnels/ipv4-frag.pcap": 170]
        #expect(exportedCount == expected[relative])
    }

    /// scripts/pcap-partition-check.py (by hand on the generated real traffic) on
    /// the small real captures: loss, resets, port reuse, IPv4 fragments.
    @Test func partitionScriptOnSmallCaptures() throws {
        let captures = [Paths.sample, Paths.fixture("port-reuse.pcap"), Paths.fixture("tunnels/ipv4-frag.pcap")]
        let (status, lines) = try runScript("pcap-partition-check.py", ["--flowdb", flowdbBinary] + captures)
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.last == "3 passed, 0 failed")
        #expect(lines.contains { $0.hasPrefix("OK sample-loss.pcap: 830 records, 830 TCP records") && $0.contains("830 records exported, 0 missing, 0 extra") })
        #expect(lines.contains { $0.hasPrefix("OK ipv4-frag.pcap: 172 records, 170 TCP records") && $0.contains("170 records exported, 0 missing, 0 extra") })
    }

    /// One flow equals what `tshark -r CAP -Y 'tcp.stream eq 2' -w OUT -F pcap`
    /// wrote for the same connection (the second use of port 32988).
    @Test func oneFlowEqualsTsharksStream() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite", out = dir + "/flow3.pcap"
        _ = try Self.run(["ingest", "--quiet", "--db", db, Paths.fixture("port-reuse.pcap")])
        let r = try Self.run(["query", "--db", db, "--client-port", "32988", "--since", "2026-11-25T13:10:12Z", "--pcap", out])
        #expect(r.status == 0, "\(r.err)")
        let tshark = try pcapRecords(Paths.fixture("provenance/port-reuse-tcp-stream-2.pcap"))
        let ours = try pcapRecords(out)
        #expect(ours.records.count == 10)
        #expect(ours.records == tshark.records)
        #expect(ours.header == tshark.header)
    }

    /// A BPF filter skips records without renumbering them: the flow's packets
    /// export the same as without the filter, and its first packet keeps its index.
    @Test func filteredIngestKeepsRecordNumbers() throws {
        let dir = Paths.temporaryDirectory()
        let all = dir + "/all.sqlite", some = dir + "/some.sqlite"
        _ = try Self.run(["ingest", "--quiet", "--db", all, Paths.sample])
        _ = try Self.run(["ingest", "--quiet", "--db", some, "--filter", "tcp port 45788", Paths.sample])
        let a = try Self.run(["query", "--db", all, "--client-port", "45788", "--pcap", dir + "/a.pcap"])
        let b = try Self.run(["query", "--db", some, "--pcap", dir + "/b.pcap"])
        #expect(a.status == 0 && b.status == 0, "\(a.err) \(b.err)")
        let records = try pcapRecords(dir + "/b.pcap").records
        #expect(records.count == 184)
        #expect(records == (try pcapRecords(dir + "/a.pcap").records))
        let first = try Archive(path: some, create: false).connection.scalar("SELECT first_packet FROM flow")
        let unfiltered = try Archive(path: all, create: false).connection.scalar("SELECT first_packet FROM flow WHERE client_port = 45788")
        #expect(first == unfiltered && (first ?? 0) > 0)
        // the capture row names the filter its packets passed (and none without one)
        let filters = try [some, all].map { db -> String? in
            let s = try Archive(path: db, create: false).connection.prepare("SELECT filter FROM capture")
            _ = try s.step()
            return s.text(0)
        }
        #expect(filters == ["tcp port 45788", nil])
    }

    /// From a pcapng capture the same packets come out as nanosecond pcap records
    /// with the same times, lengths and bytes.
    @Test func pcapngSourceGivesTheSamePackets() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite", out = dir + "/flow3.pcap"
        _ = try Self.run(["ingest", "--quiet", "--db", db, Paths.fixture("provenance/port-reuse.pcapng")])
        let r = try Self.run(["query", "--db", db, "--flow", "3", "--pcap", out])
        #expect(r.status == 0, "\(r.err)")
        let ours = try pcapRecords(out)
        #expect(Array(ours.header.prefix(4)) == [0x4d, 0x3c, 0xb2, 0xa1])   // nanosecond magic
        #expect(ours.header[20] == 1)                                         // LINKTYPE_ETHERNET
        let tshark = try pcapRecords(Paths.fixture("provenance/port-reuse-tcp-stream-2.pcap"))
        #expect(ours.records.count == tshark.records.count)
        #expect(tshark.records.count == 10)
        for (a, b) in zip(ours.records, tshark.records) {
            func u32(_ r: [UInt8], _ i: Int) -> UInt32 { UInt32(r[i]) | UInt32(r[i + 1]) << 8 | UInt32(r[i + 2]) << 16 | UInt32(r[i + 3]) << 24 }
            #expect(u32(a, 0) == u32(b, 0))
            #expect(u32(a, 4) == u32(b, 4) * 1000)
            #expect(a[8...] == b[8...])
        }
    }

    /// The custody record names the archive, the flows, the source with its
    /// sha256 and how it was checked, and the sha256 of the pcap written.
    @Test func custodyRecordDescribesTheExport() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite", out = dir + "/two.pcap"
        _ = try Self.run(["ingest", "--quiet", "--db", db, Paths.sample])
        let r = try Self.run(["query", "--db", db, "--flow", "1", "--flow", "3", "--pcap", out])
        #expect(r.status == 0, "\(r.err)")
        let custody = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + ".custody.json")))
        let record = try #require((custody as? [String: Any])?["flowdb_export"] as? [String: Any])
        #expect(record["flows"] as? [Int] == [1, 3])
        #expect(record["packets"] as? Int == 72 + 113)
        #expect(record["sha256"] as? String == (try sha256Hex(out)))
        #expect(record["archive"] as? String == db)
        let sources = try #require(record["captures"] as? [[String: Any]])
        #expect(sources.count == 1)
        #expect(sources.first?["sha256"] as? String == (try sha256Hex(Paths.sample)))
        #expect(sources.first?["verified"] as? String == "sha256")
        #expect(sources.first?["packets"] as? Int == 185)
        // in capture order: flow 1's packets and flow 3's interleave as they were captured
        let frames = try pcapRecords(out).records
        let all = try pcapRecords(Paths.sample).records
        let positions = frames.map { f in all.firstIndex(of: f) ?? -1 }
        #expect(positions == positions.sorted() && !positions.contains(-1))
    }

    /// A capture that moved, was cut, or was replaced by another file of the same
    /// size is refused with a message naming it, and nothing is written.
    @Test func refusesCapturesThatAreNotTheOnesIngested() throws {
        let dir = Paths.temporaryDirectory()
        let db = dir + "/a.sqlite", out = dir + "/out.pcap", capture = dir + "/cap.pcap"
        let bytes = try [UInt8](contentsOf: Paths.sample)
        try bytes.write(to: capture)
        _ = try Self.run(["ingest", "--quiet", "--db", db, capture])
        let export = ["query", "--db", db, "--flow", "2", "--pcap", out]

        // moved
        let moved = dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: moved, withIntermediateDirectories: false)
        try FileManager.default.moveItem(atPath: capture, toPath: moved + "/cap.pcap")
        var r = try Self.run(export)
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("flowdb: capture 1 (\(capture)): the file is gone or moved (looked for \(capture)"), "\(r.err)")
        #expect(r.err.hasSuffix("; --capture-dir DIR finds it by its file name\n"))
        #expect(!Paths.exists(out))
        r = try Self.run(export + ["--capture-dir", moved])
        #expect(r.status == 0, "\(r.err)")
        #expect(try pcapRecords(out).records.count == 75)
        try FileManager.default.removeItem(atPath: out)
        try FileManager.default.removeItem(atPath: out + ".custody.json")
        try FileManager.default.moveItem(atPath: moved + "/cap.pcap", toPath: capture)

        // cut
        try Array(bytes.prefix(bytes.count - 100)).write(to: capture)
        r = try Self.run(export)
        #expect(r.status == 1)
        #expect(r.err == "flowdb: \(capture): \(bytes.count - 100) bytes, but capture 1 (\(capture)) had \(bytes.count) when ingested: it is not the file that was ingested (cut, extended or replaced)\n")
        #expect(!Paths.exists(out))

        // replaced by a file of the same size
        var other = bytes
        other[bytes.count / 2] ^= 0xff
        try other.write(to: capture)
        r = try Self.run(export)
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("flowdb: \(capture): sha256 \(try sha256Hex(capture)), but capture 1 (\(capture)) had \(try sha256Hex(Paths.sample)) when ingested: it is not the file that was ingested (same size, other bytes)"), "\(r.err)")
        #expect(!Paths.exists(out))
        // --no-verify checks the size only
        r = try Self.run(export + ["--no-verify"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try String(contentsOfFile: out + ".custody.json", encoding: .utf8).contains(#""verified":"size""#))

        // --extract checks the same way
        let extract = try Self.run(["query", "--db", db, "--flow", "2", "--extract", dir + "/objects"])
        #expect(extract.status == 1)
        #expect(extract.err.contains("same size, other bytes"))
        #expect(!Paths.exists(dir + "/objects"))
        try bytes.write(to: capture)
        let extracted = try Self.run(["query", "--db", db, "--flow", "2", "--extract", dir + "/objects"])
        #expect(extracted.status == 0, "\(extracted.err)")
        let manifest = try String(contentsOfFile: dir + "/objects/manifest.json", encoding: .utf8)
        #expect(manifest.contains(#""captures":[{"capture_id":1,"path":"\#(capture)","sha256":"\#(try sha256Hex(capture))","verified":"sha256"}]"#))
        // an existing pcap is kept unless --force
        r = try Self.run(export)
        #expect(r.status == 1 && r.err == "flowdb: \(out): exists; --force overwrites\n")
    }

    /// Standard input kept with --keep-stdin can be exported; without it the
    /// export says why it cannot.
    @Test func standardInputKeptOrNot() throws {
        let dir = Paths.temporaryDirectory()
        let sample = try Data(contentsOf: URL(fileURLWithPath: Paths.sample))
        let kept = dir + "/kept.pcap", db = dir + "/a.sqlite", db2 = dir + "/b.sqlite"
        var r = try Self.run(["ingest", "--quiet", "--db", db, "-", "--keep-stdin", kept], stdin: sample)
        #expect(r.status == 0, "\(r.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == sample)
        let archive = try Archive(path: db, create: false)
        let s = try archive.connection.prepare("SELECT path, stdin_kept, size, sha256 FROM capture")
        #expect(try s.step())
        let digest = try sha256Hex(Paths.sample)
        #expect(s.text(0) == kept && s.int(1) == 1 && s.int(2) == sample.count && s.text(3) == digest)
        r = try Self.run(["query", "--db", db, "--flow", "3", "--pcap", dir + "/f3.pcap"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try pcapRecords(dir + "/f3.pcap").records.count == 113)
        // an existing file is never overwritten by --keep-stdin
        r = try Self.run(["ingest", "--quiet", "--db", db2, "-", "--keep-stdin", kept], stdin: sample)
        #expect(r.status != 0 && r.err.contains("exists; flowdb keeps standard input only in a new file"))

        _ = try Self.run(["ingest", "--quiet", "--db", db2, "-"], stdin: sample)
        r = try Self.run(["query", "--db", db2, "--flow", "3", "--pcap", dir + "/g.pcap"])
        #expect(r.status == 1)
        #expect(r.err == "flowdb: capture 1 (-) was read from standard input and not kept; `flowdb ingest - --keep-stdin FILE` keeps such captures\n")
    }

    /// Rotated files: a connection that spans two files gets its packets from
    /// both, in order, and the blocks name each file.
    @Test func flowSpanningTwoFiles() throws {
        let dir = Paths.temporaryDirectory()
        let (header, records) = try pcapRecords(Paths.sample)
        let first = dir + "/part1.pcap", second = dir + "/part2.pcap", db = dir + "/a.sqlite"
        try (header + records[..<400].flatMap { $0 }).write(to: first)
        try (header + records[400...].flatMap { $0 }).write(to: second)
        let r = try Self.run(["ingest", "--quiet", "--db", db, first, second])
        #expect(r.status == 0, "\(r.err)")
        var all: [[UInt8]] = []
        for id in try Self.flowIDs(db) {
            let out = dir + "/flow\(id).pcap"
            let e = try Self.run(["query", "--db", db, "--flow", "\(id)", "--pcap", out])
            #expect(e.status == 0, "\(e.err)")
            all += try pcapRecords(out).records
        }
        #expect(all.count == records.count)
        #expect(Set(all) == Set(records))
        let archive = try Archive(path: db, create: false)
        let spanning = try archive.connection.scalar("SELECT count(*) FROM (SELECT flow_id FROM packet GROUP BY flow_id HAVING count(DISTINCT capture_id) = 2)")
        #expect(spanning ?? 0 >= 1)
        // its earlier file's block is a packet_block row, its last one on its row
        #expect(try archive.connection.scalar("SELECT count(*) FROM packet_block") == spanning)
        // the packet view gives the second file's indices from 0
        let firstOfSecond = try archive.connection.scalar("SELECT min(packet_index) FROM packet WHERE capture_id = 2")
        #expect(firstOfSecond == 0)
    }

    /// The block text and its parser agree, with negative steps (fragments
    /// listed after later packets) and a new block per capture.
    @Test func blockTextRoundTrip() throws {
        var b = PacketBlockBuilder()
        defer { b.deallocate() }
        let input = [RecordLocation(index: 10, offset: 1000), RecordLocation(index: 12, offset: 1300),
                     RecordLocation(index: 11, offset: 1150), RecordLocation(index: 4_000_000, offset: 5_000_000_000)]
        for r in input { b.append(captureID: 1, index: r.index, offset: r.offset) }
        #expect(b.accepts(captureID: 1, limit: 5))
        #expect(!b.accepts(captureID: 2, limit: 5))
        #expect(!b.accepts(captureID: 1, limit: 4))
        #expect(b.firstIndex == 10 && b.lastIndex == 4_000_000 && b.packets == 4)
        let text = b.take()
        #expect(String(decoding: text, as: UTF8.self) == "[[10,1000],[2,300],[-1,-150],[3999989,4999998850]]")
        var parsed: [RecordLocation] = []
        #expect(text.withUnsafeBytes { PacketExporter.parse($0, into: &parsed) })
        #expect(parsed == input)
        #expect(b.isEmpty && b.accepts(captureID: 2, limit: 1))
        for bad in ["[[1,2],[3]]", "[[1,x]]", "[[-5,0]]", "[[99999999999999999999,1]]"] {
            var out: [RecordLocation] = []
            #expect(!Array(bad.utf8).withUnsafeBytes { PacketExporter.parse($0, into: &out) }, "\(bad)")
        }
    }
}
