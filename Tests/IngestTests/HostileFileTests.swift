import Foundation
import Testing
import TestSupport
import Store

/// The crafted captures of Tests/Fixtures/hostile (scripts/make-hostile.py), each
/// ingested by the flowdb binary into a fresh archive: the exact outcome, and an
/// archive that stays consistent and queryable.
@Suite struct HostileFileTests {
    /// What ingesting one file must give.
    struct Expected: CustomTestStringConvertible, Sendable {
        var file: String
        /// nil: ingested (exit 0); else the stderr line after "flowdb: PATH: " (exit 1).
        var error: String?
        /// Packets recorded in the capture row; nil: no capture row at all.
        var packets: Int?
        var tcpPackets = 0
        var flows = 0
        var bytes = 0
        var firstTimestamp: Int64?
        var testDescription: String { file }
    }

    /// The first 10 records of Samples/sample-loss.pcap: two connections carrying 216 + 16 bytes.
    static let sampleStart: Int64 = 1_795_611_135_270_787_000

    static let cases: [Expected] = [
        Expected(file: "empty.pcap", error: "cannot open capture: truncated dump file; tried to read 4 file header bytes, only got 0"),
        Expected(file: "garbage.pcap", error: "cannot open capture: unknown file format"),
        Expected(file: "header-only.pcap", packets: 0),
        Expected(file: "truncated-record.pcap",
                 error: "packet 9 at byte offset 1075: truncated dump file; tried to read 66 captured bytes, only got 33",
                 packets: 9, tcpPackets: 9, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "truncated-record-header.pcap",
                 error: "packet 9 at byte offset 1033: truncated dump file; tried to read 16 header bytes, only got 7",
                 packets: 9, tcpPackets: 9, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "incl-len-2g.pcap",
                 error: "packet 3 at byte offset 302: invalid packet capture length 2147483648, bigger than snaplen of 262144",
                 packets: 3, tcpPackets: 3, flows: 1, bytes: 0, firstTimestamp: sampleStart),
        Expected(file: "incl-len-ffffffff.pcap",
                 error: "packet 3 at byte offset 302: invalid packet capture length 4294967295, bigger than snaplen of 262144",
                 packets: 3, tcpPackets: 3, flows: 1, bytes: 0, firstTimestamp: sampleStart),
        Expected(file: "pcapng-block-overrun.pcapng",
                 error: "packet 5 at byte offset 888: truncated pcapng dump file; tried to read 1048568 bytes, only got 100",
                 packets: 5, tcpPackets: 5, flows: 1, bytes: 216, firstTimestamp: sampleStart),
        Expected(file: "pcapng-block-2g.pcapng",
                 error: "packet 5 at byte offset 788: pcapng block size 2147483648 > maximum 16777216",
                 packets: 5, tcpPackets: 5, flows: 1, bytes: 216, firstTimestamp: sampleStart),
        Expected(file: "pcapng-caplen-2g.pcapng",
                 error: "packet 5 at byte offset 888: invalid packet capture length 2147483647, bigger than snaplen of 262144",
                 packets: 5, tcpPackets: 5, flows: 1, bytes: 216, firstTimestamp: sampleStart),
        Expected(file: "snaplen-0.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "snaplen-2g.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "ts-before-1970.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: -729_213_000),
        Expected(file: "ts-min-int32.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232,
                 firstTimestamp: -2_147_483_647_729_213_000),
        Expected(file: "ts-after-2100.pcapng", packets: 10, tcpPackets: 10, flows: 2, bytes: 232,
                 firstTimestamp: 4_102_444_800_000_000_000),
        Expected(file: "ts-max-u64.pcapng", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: .max),
        Expected(file: "linktype-user0.pcap", packets: 10, firstTimestamp: sampleStart),
        Expected(file: "pcapng-unknown-blocks.pcapng", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "pcapng-unknown-option.pcapng", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "nanosecond.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart + 123),
        Expected(file: "swapped-endian.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart),
        Expected(file: "caplen-gt-len.pcap", packets: 10, tcpPackets: 10, flows: 2, bytes: 232, firstTimestamp: sampleStart),
    ]

    static func path(_ file: String) -> String { Paths.fixture("hostile/" + file) }

    @Test(arguments: cases) func ingest(_ expected: Expected) throws {
        let file = Self.path(expected.file)
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let r = try CommandLineTests.run(["ingest", "--quiet", "--db", db, file])
        if let error = expected.error {
            #expect(r.status == 1)
            #expect(r.err == "flowdb: \(file): \(error)\n")
        } else {
            #expect(r.status == 0, "\(r.err)")
            #expect(r.err.isEmpty)
        }
        #expect(r.out.isEmpty)

        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let integrity = try c.prepare("PRAGMA integrity_check")
        #expect(try integrity.step() && integrity.text(0) == "ok")
        #expect(try c.scalar("SELECT count(*) FROM pragma_foreign_key_check") == 0)
        let capture = try c.prepare("SELECT status, error, packets, tcp_packets, first_ts FROM capture")
        if let packets = expected.packets {
            #expect(try capture.step())
            #expect(capture.text(0) == (expected.error == nil ? "complete" : "failed"))
            #expect(capture.text(1) == expected.error.map { "\(file): \($0)" })
            #expect(capture.int(2) == packets && capture.int(3) == expected.tcpPackets)
            #expect((capture.isNull(4) ? nil : capture.int64(4)) == expected.firstTimestamp)
            #expect(try !capture.step())
        } else {
            #expect(try !capture.step(), "a capture that could not be opened leaves no row")
        }
        #expect(try c.scalar("SELECT count(*) FROM flow") == Int64(expected.flows))
        #expect(try c.scalar("SELECT coalesce(sum(c2s_bytes + s2c_bytes), 0) FROM flow") == Int64(expected.bytes))
        #expect(try c.scalar("SELECT coalesce(sum(length(data)), 0) FROM chunk") == Int64(expected.bytes))

        // and the archive can be queried: every flow's content read back
        let query = try CommandLineTests.run(["query", "--db", db, "--json"])
        #expect(query.status == 0, "\(query.err)")
        #expect(query.out.split(separator: "\n").count == expected.flows)
        for id in 0..<expected.flows {
            let hex = try CommandLineTests.run(["query", "--db", db, "--flow", "\(id + 1)", "--show", "hex"])
            #expect(hex.status == 0, "\(expected.file) flow \(id + 1): \(hex.err)")
            #expect(hex.out.hasPrefix("=== flow \(id + 1): 10.77.0.2:"))
        }
    }

    /// The user-defined link type is counted, not decoded, though its bytes are Ethernet.
    @Test func unknownLinkTypeIsSkipped() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        let r = try CommandLineTests.run(["ingest", "--quiet", "--db", db, Self.path("linktype-user0.pcap")])
        #expect(r.status == 0)
        let c = try SQLiteConnection(path: db, mode: .readOnly)
        let row = try c.prepare("SELECT link_type, link_type_name, skipped_link_type, snaplen FROM capture")
        #expect(try row.step())
        #expect(row.int(0) == 147 && row.text(1) == "DLT 147" && row.int(2) == 10 && row.int(3) == 262_144)
    }

    /// Snaplen 0 and 2^31 in the header are read as libpcap's largest snaplen.
    @Test func absurdSnaplenIsClamped() throws {
        for file in ["snaplen-0.pcap", "snaplen-2g.pcap"] {
            let db = Paths.temporaryDirectory() + "/a.sqlite"
            _ = try CommandLineTests.run(["ingest", "--quiet", "--db", db, Self.path(file)])
            let c = try SQLiteConnection(path: db, mode: .readOnly)
            #expect(try c.scalar("SELECT snaplen FROM capture") == 262_144, "\(file)")
        }
    }

    /// The committed files are what scripts/make-hostile.py writes.
    @Test func fixturesMatchTheirScript() throws {
        let dir = Paths.temporaryDirectory()
        let (status, lines) = try runScript("make-hostile.py", [dir])
        #expect(status == 0)
        #expect(lines.count == Self.cases.count)
        for expected in Self.cases {
            let made = try [UInt8](contentsOf: dir + "/" + expected.file)
            let committed = try [UInt8](contentsOf: Self.path(expected.file))
            #expect(made == committed, "\(expected.file) differs from what make-hostile.py writes")
        }
    }
}
