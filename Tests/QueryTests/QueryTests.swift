import Foundation
import Testing
import TestSupport
import Digest
import Recording
import Store
import Ingest
@testable import Query

/// Archives built once per process from the bundled sample and fixtures.
enum Archives {
    static func make(_ paths: [String], _ configure: (inout IngestOptions) -> Void = { _ in }) throws -> Archive {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        var options = IngestOptions()
        options.recording.flushPolicy = .never
        configure(&options)
        let archive = try Archive(path: db, create: true)
        _ = try Ingestor(archive: archive, options: options).run(paths: paths)
        return try Archive(path: db, create: false)
    }

    /// The sample, with payload runs of at most 1000 bytes and blocks of at most
    /// 5 deliveries, so that content crosses run and block boundaries often.
    nonisolated(unsafe) static let sample: Archive = try! make([Paths.sample]) { $0.recording.runBytes = 1000; $0.recording.deliveriesPerBlock = 5 }
    nonisolated(unsafe) static let mixed: Archive = try! make([Paths.sample, Paths.fixture("ipv6-loss.pcap")])
}

func ids(_ filter: FlowFilter, in archive: Archive = Archives.mixed, containing needle: [UInt8]? = nil, limit: Int? = nil) throws -> [Int64] {
    try FlowQuery(archive: archive).flows(filter, containing: needle, limit: limit).flows.map(\.id)
}

@Suite(.serialized) struct QueryTests {
    @Test func addressRanges() throws {
        let r = try #require(AddressRange("10.77.0.0/24"))
        #expect(r.lower == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 0])
        #expect(r.upper == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 255])
        let v6 = try #require(AddressRange("fd77::/16"))
        #expect(v6.lower == [0xfd, 0x77] + Array(repeating: 0, count: 14))
        #expect(v6.upper == [0xfd, 0x77] + Array(repeating: 0xff, count: 14))
        #expect(AddressRange("10.0.0.1")?.lower == AddressRange("10.0.0.1")?.upper)
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "host", "10.0.0.0/8x", "/8"] {
            #expect(AddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func times() {
        #expect(TimeParser.nanoseconds("1795611135") == 1_795_611_135_000_000_000)
        #expect(TimeParser.nanoseconds("1795611135.27") == 1_795_611_135_270_000_000)
        #expect(TimeParser.nanoseconds("2026-11-25T12:52:15.270787Z") == 1_795_611_135_270_787_000)
        #expect(TimeParser.nanoseconds("2026-11-25T14:52:15+02:00") == 1_795_611_135_000_000_000)
        #expect(TimeParser.nanoseconds("2026-11-25") == 1_795_564_800_000_000_000)
        #expect(TimeParser.nanoseconds("1970-01-01T00:00:00Z") == 0)
        #expect(TimeParser.nanoseconds("-0.5") == -500_000_000)           // the sign holds for the fraction
        #expect(TimeParser.nanoseconds("-1.25") == -1_250_000_000)
        #expect(TimeParser.nanoseconds("2262-04-11T23:47:16.854775807Z") == .max)
        #expect(TimeParser.nanoseconds("2262-04-11T23:47:16.854775808Z") == nil)
        #expect(TimeParser.nanoseconds("9223372036.854775807") == .max)
        #expect(TimeParser.nanoseconds("9223372036.854775808") == nil)
        // a span before now, for a sensor's recent traffic
        let now: Int64 = 1_795_611_135_000_000_000
        #expect(TimeParser.relative("30s", now: now) == now - 30_000_000_000)
        #expect(TimeParser.relative("15m", now: now) == now - 900_000_000_000)
        #expect(TimeParser.relative("2h", now: now) == now - 7_200_000_000_000)
        #expect(TimeParser.relative("7d", now: now) == now - 604_800_000_000_000)
        #expect(TimeParser.relative("1w", now: now) == nil)
        #expect(TimeParser.relative("-5m", now: now) == nil)
        #expect(TimeParser.relative("99999999999999d", now: now) == nil)
        if let ago = TimeParser.nanoseconds("10m") {
            #expect(abs(Clock.nowNanoseconds() - 600_000_000_000 - ago) < 60_000_000_000)
        } else {
            Issue.record("10m is not a time")
        }
        for bad in ["yesterday", "2026-13-01", "2026-11-25T25:00:00Z", "2026-11-25T12:52", "12.5.5", "", "m", "5x"] {
            #expect(TimeParser.nanoseconds(bad) == nil, "\(bad)")
        }
        #expect(TimeParser.iso(1_795_611_135_270_787_000) == "2026-11-25T12:52:15.270787Z")
        #expect(TimeParser.iso(0) == "1970-01-01T00:00:00.000000Z")
    }

    /// Sample: flows 1..10 (10 connections); then the IPv6 fixture: flows 11..13
    /// (3 connections, fd77::2 -> fd77::1:9000, the second ended by a RST). The
    /// packets after each close belong to their connection: no flow of their own.
    @Test func filters() throws {
        var f = FlowFilter()
        #expect(try ids(f).count == 13)
        f.port = 9000
        #expect(try ids(f).count == 13)
        f = FlowFilter(); f.clientPort = 45740              // the connection, its last ACK included
        #expect(try ids(f) == [1])
        f = FlowFilter(); f.serverPort = 45740
        #expect(try ids(f) == [])
        f = FlowFilter(); f.host = AddressRange("fd77::/16")
        #expect(try ids(f) == [11, 12, 13])
        f = FlowFilter(); f.host = AddressRange("10.77.0.1")
        #expect(try ids(f).count == 10)
        f = FlowFilter(); f.client = AddressRange("10.77.0.1")  // no flow is seen from the server's side
        #expect(try ids(f) == [])
        f = FlowFilter(); f.server = AddressRange("fd77::1"); f.ended = true   // 12 ended with an RST from the client only
        #expect(try ids(f) == [11, 13])
        f = FlowFilter(); f.connStates = ["RSTO"]
        #expect(try ids(f) == [4, 8, 12])
        f = FlowFilter(); f.connStates = FlowFilter.connStates(named: "closed") ?? []
        #expect(try ids(f) == [1, 2, 3, 5, 6, 7, 9, 10, 11, 13])
        f = FlowFilter(); f.connStates = ["S0", "REJ"]
        #expect(try ids(f) == [])
        f = FlowFilter(); f.flowIDs = [3, 1, 99]
        #expect(try ids(f) == [1, 3])
        f = FlowFilter(); f.captureID = 2
        #expect(try ids(f) == [11, 12, 13])
        f = FlowFilter(); f.capturePath = Paths.sample
        #expect(try ids(f).count == 10)
        f = FlowFilter(); f.minBytes = 150_000
        #expect(try ids(f) == [8])
        f = FlowFilter(); f.withGaps = true
        #expect(try ids(f) == [])
        // the sample's first flow spans 12:52:15.270787..15.273203 (its last ACK)
        f = FlowFilter(); f.until = TimeParser.nanoseconds("2026-11-25T12:52:15.2708Z"); f.capturePath = Paths.sample
        #expect(try ids(f) == [1])
        f = FlowFilter(); f.since = TimeParser.nanoseconds("2026-11-25T12:52:16Z"); f.capturePath = Paths.sample
        #expect(try ids(f) == [])
        let limited = try FlowQuery(archive: Archives.mixed).flows(FlowFilter(), limit: 5)
        #expect(limited.flows.map(\.id) == [1, 2, 3, 4, 5] && limited.more)
        #expect(try FlowQuery(archive: Archives.mixed).flows(FlowFilter(), limit: 13).more == false)
    }

    /// Bytes 1440..1455 of flow 1's server stream straddle its first two deliveries
    /// (1448 bytes each) and, with 1000-byte runs, a payload run boundary too.
    @Test func containsAcrossChunkBoundaries() throws {
        let reader = try FlowReader(archive: Archives.sample)
        let chunks = try reader.chunks(flowID: 1).filter { $0.dir == 1 && $0.length > 0 }
        #expect(chunks[0].length == 1448 && chunks[0].streamOffset == 0 && chunks[1].streamOffset == 1448)
        let stream = chunks.flatMap(\.bytes)
        let needle = Array(stream[1440..<1456])
        #expect(try ids(FlowFilter(), in: Archives.sample, containing: needle) == [1])
        let acrossRuns = Array(stream[990..<1010])      // run boundary at 1000
        #expect(try ids(FlowFilter(), in: Archives.sample, containing: acrossRuns) == [1])
        #expect(try ids(FlowFilter(), in: Archives.sample, containing: Array("no such bytes here".utf8)) == [])
        // the request header of every connection: 8 + 8 bytes, then the body
        var port = FlowFilter(); port.clientPort = 45740
        #expect(try ids(port, in: Archives.sample, containing: [0, 0, 0, 0xc8, 0, 0, 0xea, 0x60]) == [1])
    }

    @Test func formats() throws {
        var f = FlowFilter(); f.flowIDs = [1, 12]
        let flows = try FlowQuery(archive: Archives.mixed).flows(f).flows
        let table = Formats.table(flows).split(separator: "\n")
        #expect(table[0] == "ID  START (UTC)              DURATION  CLIENT           SERVER          C->S   S->C  PKTS  GAPS  STATE   ZEEK  HISTORY")
        #expect(table[1] == " 1  2026-11-25 12:52:15.270    0.002s  10.77.0.2:45740  10.77.0.1:9000   216  60000    72     0  closed  SF    ShADadFf")
        #expect(table[2].hasPrefix("12  ") && table[2].contains("[fd77::2]:35840") && table[2].contains("[fd77::1]:9000")
                && table[2].hasSuffix("reset   RSTO  ShADadR"))
        let json = Formats.jsonLine(flows[0])
        #expect(json.hasPrefix(#"{"id":1,"capture":1,"capture_path":"#))
        #expect(json.contains(#""client_ip":"10.77.0.2","client_port":45740,"server_ip":"10.77.0.1","server_port":9000,"first_ts":1795611135270787000,"last_ts":1795611135273203000"#))
        #expect(json.contains(#""c2s_bytes":216,"s2c_bytes":60000"#) && json.contains(#""gaps":0"#))
        #expect(Formats.csvHeader.hasPrefix("id,capture,client_ip,client_port,server_ip,server_port,first_ts,last_ts"))
        #expect(json.contains(#""conn_state":"SF","history":"ShADadFf","c2s_packets":27,"s2c_packets":45,"c2s_ip_bytes":1628,"s2c_ip_bytes":62348,"c2s_missed":0,"s2c_missed":0,"overlap_bytes":0,"encapsulation":null,"app":null,"app_host":null,"proto":"tcp","community_id":"1:dM15+yU/XMfZFBIle2emGoU5xDI="}"#))
        #expect(Formats.csvLine(flows[0]) == "1,1,10.77.0.2,45740,10.77.0.1,9000,1795611135270787000,1795611135273203000,2026-11-25T12:52:15.270787Z,216,60000,72,0,closed,SF,ShADadFf,,,tcp,1:dM15+yU/XMfZFBIle2emGoU5xDI=\n")
        #expect(Formats.json("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
    }

    /// A flow's content read a delivery at a time (as --show does) is the content of
    /// `chunk`, in the order --show reads it and backwards, through payload runs of
    /// 1000 bytes; and the text written in pieces equals the text built whole.
    @Test func deliveriesReadOneAtATime() throws {
        let reader = try FlowReader(archive: Archives.sample)
        let c = Archives.sample.connection
        let data = try c.prepare("SELECT data FROM chunk WHERE id = ?")
        var f = FlowFilter(); f.flowIDs = [1, 2, 3]
        var checked = 0, stored = 0
        for flow in try FlowQuery(archive: Archives.sample).flows(f).flows {
            let deliveries = try reader.deliveries(flowID: flow.id)
            #expect(deliveries.allSatisfy { $0.bytes.isEmpty })
            let order = Formats.interleaved(deliveries)
            for d in order + order.reversed() {
                data.reset()
                try data.bind(d.id, at: 1)
                #expect(try data.step())
                let bytes = try reader.bytes(of: d)
                #expect(bytes == Array(data.blob(0)), "delivery \(d.id)")
                checked += 1
                stored += bytes.count
            }
            var pieces = 0, text = ""
            try Formats.writeHex(flow, deliveries, bytes: reader.bytes(of:)) { text += $0; pieces += 1 }
            #expect(text == Formats.hex(flow, try reader.chunks(flowID: flow.id)))
            #expect(pieces > 2)
        }
        data.reset()
        #expect(checked == 2 * 164)
        #expect(stored == 2 * (216 + 60000 + 16 + 60000 + 3016 + 90000))     // the three flows' bytes, twice
    }

    @Test func asciiAndHexViews() throws {
        let reader = try FlowReader(archive: Archives.sample)
        var f = FlowFilter(); f.flowIDs = [1]
        let flow = try FlowQuery(archive: Archives.sample).flows(f).flows[0]
        let chunks = try reader.chunks(flowID: 1)
        let ascii = Formats.ascii(flow, chunks)
        let lines = ascii.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "=== flow 1: 10.77.0.2:45740 -> 10.77.0.1:9000")
        #expect(lines[1] == "--- client 10.77.0.2:45740 -> 10.77.0.1:9000  2026-11-25T12:52:15.271088Z  offset 0  216 bytes")
        #expect(lines[2].hasPrefix(#"\x00\x00\x00\xc8\x00\x00\xea`\x00\x00\x00\x00\x00\x00\x00\x00"#))
        #expect(ascii.contains("--- server 10.77.0.1:9000 -> 10.77.0.2:45740  "))
        let hex = Formats.hex(flow, chunks).split(separator: "\n")
        #expect(hex[2] == "00000000  00 00 00 c8 00 00 ea 60  00 00 00 00 00 00 00 00  |.......`........|")
        #expect(Formats.escaped(Array("GET /\r\n\t\\\u{7f}".utf8)) == "GET /\\r\n\\t\\\\\\x7f")
    }

    /// Every direction of every connection, read back with writeStream (what
    /// `--show raw` prints), equals the ground truth; IPv4 and IPv6.
    @Test(arguments: [Paths.sample, Paths.fixture("ipv6-loss.pcap"), Paths.fixture("sll2-any.pcap"), Paths.fixture("port-reuse.pcap")])
    func rawEqualsGroundTruth(capture: String) throws {
        let archive = try Archives.make([capture]) { $0.recording.runBytes = 4096 }
        let reader = try FlowReader(archive: archive)
        let flows = try FlowQuery(archive: archive).flows(FlowFilter()).flows
        let truth = try GroundTruth.load(capture)
        let connections = [Paths.sample: 10, Paths.fixture("ipv6-loss.pcap"): 3, Paths.fixture("sll2-any.pcap"): 3,
                           Paths.fixture("port-reuse.pcap"): 4]
        #expect(truth.flows.count == connections[capture])
        var used = Set<Int64>()
        for t in truth.flows {
            let flow = try #require(flows.first { f in
                !used.contains(f.id) && f.clientPort == t.clientPort && f.serverPort == t.serverPort
                    && (f.c2sBytes + f.s2cBytes > 0 || t.c2s_len + t.s2c_len == 0)
            })
            used.insert(flow.id)
            let c2s = try reader.writeStream(flowID: flow.id, dir: 0, fillGaps: false) { _ in }
            let s2c = try reader.writeStream(flowID: flow.id, dir: 1, fillGaps: false) { _ in }
            #expect(c2s.bytes == t.c2s_len && c2s.sha256 == t.c2s_sha256)
            #expect(s2c.bytes == t.s2c_len && s2c.sha256 == t.s2c_sha256)
        }
    }

    /// A flow with a hole: the sample without packet 20 (1448 bytes of flow 1's
    /// server stream, never retransmitted in the capture) reassembles with a gap.
    @Test func reconstructionWithAGap() throws {
        let dir = Paths.temporaryDirectory()
        let holed = dir + "/holed.pcap"
        try Self.dropPacket(Paths.sample, index: Self.firstDataPacket(ofPort: 45740, serverToClient: true, skipping: 2), into: holed)
        let archive = try Archives.make([holed])
        var f = FlowFilter(); f.withGaps = true
        let flows = try FlowQuery(archive: archive).flows(f).flows
        #expect(flows.map(\.clientPort) == [45740])
        let reader = try FlowReader(archive: archive)
        let gaps = try reader.gaps(flowID: flows[0].id)
        #expect(gaps == [GapRecord(dir: 1, streamOffset: 2896, length: 1448)])
        let ascii = Formats.ascii(flows[0], try reader.chunks(flowID: flows[0].id))
        #expect(ascii.contains("[gap: 1448 bytes missing at offset 2896]\n"))
        var plain: [UInt8] = [], filled: [UInt8] = []
        try reader.writeStream(flowID: flows[0].id, dir: 1, fillGaps: false) { plain += $0 }
        try reader.writeStream(flowID: flows[0].id, dir: 1, fillGaps: true) { filled += $0 }
        #expect(plain.count == 60_000 - 1448 && filled.count == 60_000)
        #expect(filled[2896..<4344].allSatisfy { $0 == 0 })
        #expect(Array(filled[0..<2896]) == Array(plain[0..<2896]) && Array(filled[4344...]) == Array(plain[2896...]))
    }

    /// `--format zeek`: Zeek's TSV header lines, one row per flow with as many cells
    /// as `#fields` names, Zeek's value formats, and a uid stable for a flow id.
    @Test func zeekConnLog() throws {
        var f = FlowFilter(); f.flowIDs = [1, 12]
        let flows = try FlowQuery(archive: Archives.mixed).flows(f).flows
        let header = ZeekConnLog.header(openedAt: 0).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(header[0] == "#separator \\x09")
        #expect(header[1] == "#set_separator\t,")
        #expect(header[2] == "#empty_field\t(empty)" && header[3] == "#unset_field\t-" && header[4] == "#path\tconn")
        #expect(header[5].hasPrefix("#open\t19") && header[5].count == "#open\t1970-01-01-00-00-00".count)
        let fields = header[6].split(separator: "\t").dropFirst(), types = header[7].split(separator: "\t").dropFirst()
        #expect(header[6].hasPrefix("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"))
        #expect(fields.count == 23 && types.count == 23)
        #expect(Array(types.prefix(5)) == ["time", "string", "addr", "port", "addr"])
        let one = ZeekConnLog.line(flows[0]).dropLast().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        #expect(one.count == fields.count)
        #expect(one == ["1795611135.270787", ZeekConnLog.uid(flowID: 1), "10.77.0.2", "45740", "10.77.0.1", "9000", "tcp", "-",
                        "0.002416", "216", "60000", "SF", "-", "-", "0", "ShADadFf", "27", "1628", "45", "62348", "-", "6",
                        "1:" + one[22].dropFirst(2)])
        #expect(one[22] == CommunityID.v1(source: [10, 77, 0, 2], destination: [10, 77, 0, 1], proto: 6, sourcePort: 45740, destinationPort: 9000))
        let twelve = ZeekConnLog.line(flows[1]).split(separator: "\t").map(String.init)
        #expect(twelve[2] == "fd77::2" && twelve[4] == "fd77::1" && twelve[11] == "RSTO" && twelve[15] == "ShADadR")
        // uids: "C" and base-62 digits, the same for the same id, different across ids
        let uid = ZeekConnLog.uid(flowID: 1)
        #expect(uid == ZeekConnLog.uid(flowID: 1) && uid != ZeekConnLog.uid(flowID: 2))
        #expect(uid.hasPrefix("C") && (8...18).contains(uid.count) && uid.dropFirst().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(ZeekConnLog.time(1_500_000_000) == "1.500000" && ZeekConnLog.time(999) == "0.000001")
        #expect(ZeekConnLog.time(-1_500_000) == "-0.001500" && ZeekConnLog.time(0) == "0.000000")
        #expect(ZeekConnLog.escaped("-") == "\\x2d" && ZeekConnLog.escaped("a\tb") == "a\\x09b")
        #expect(ZeekConnLog.footer(closedAt: 0).hasPrefix("#close\t19"))
    }

    @Test func extractWritesFilesAndManifest() throws {
        let dir = Paths.temporaryDirectory() + "/out"
        var f = FlowFilter(); f.flowIDs = [1, 11]
        let flows = try FlowQuery(archive: Archives.mixed).flows(f).flows
        let extractor = Extractor(reader: try FlowReader(archive: Archives.mixed), directory: dir, force: false, fillGaps: false)
        let paths = try extractor.extract(flows)
        #expect(paths.count == 5)
        #expect(URL(fileURLWithPath: paths[0]).lastPathComponent == "flow1-20261125T125215Z-10.77.0.2.45740-10.77.0.1.9000-c2s.bin")
        #expect(URL(fileURLWithPath: paths[2]).lastPathComponent.hasPrefix("flow11-20261125T"))
        #expect(URL(fileURLWithPath: paths[2]).lastPathComponent.contains("-fd77__2."))
        let truth = try GroundTruth.load(Paths.sample).flows[0]
        #expect(SHA256.hex(try [UInt8](contentsOf: paths[1])) == truth.s2c_sha256)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as! [String: Any]
        let entries = manifest["flows"] as! [[String: Any]]
        #expect(entries.count == 2)
        let files = entries[0]["files"] as! [[String: Any]]
        #expect(files[1]["sha256"] as? String == truth.s2c_sha256 && files[1]["bytes"] as? Int == 60_000)
        // no overwrite without force; never through a symbolic link
        #expect(throws: QueryError.self) { try extractor.extract(flows) }
        let forced = Extractor(reader: try FlowReader(archive: Archives.mixed), directory: dir, force: true, fillGaps: false)
        try FileManager.default.removeItem(atPath: paths[0])
        try FileManager.default.createSymbolicLink(atPath: paths[0], withDestinationPath: "/tmp/flowdb-should-not-exist")
        #expect(throws: QueryError.self) { try forced.extract(flows) }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/flowdb-should-not-exist"))
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    static func extractor(_ directory: String, force: Bool = false) throws -> Extractor {
        Extractor(reader: try FlowReader(archive: Archives.mixed), directory: directory, force: force, fillGaps: false)
    }

    static func flow1() throws -> [FlowRecord] {
        var f = FlowFilter(); f.flowIDs = [1]
        return try FlowQuery(archive: Archives.mixed).flows(f).flows
    }

    static let flow1Names = ["flow1-20261125T125215Z-10.77.0.2.45740-10.77.0.1.9000-c2s.bin",
                             "flow1-20261125T125215Z-10.77.0.2.45740-10.77.0.1.9000-s2c.bin", "manifest.json"]

    /// The directory flowdb creates is 0700, its files 0600.
    @Test func extractCreatesPrivateDirectoryAndFiles() throws {
        let dir = Paths.temporaryDirectory() + "/out"
        let paths = try Self.extractor(dir).extract(try Self.flow1())
        #expect(paths == Self.flow1Names.map { dir + "/" + $0 })
        #expect(Self.mode(dir) == 0o700)
        #expect(paths.map(Self.mode) == [0o600, 0o600, 0o600])
    }

    /// A symbolic link to a directory is refused, and nothing lands in its target.
    @Test func extractRefusesSymlinkedDirectory() throws {
        let parent = Paths.temporaryDirectory()
        let target = parent + "/target", link = parent + "/link"
        #expect(mkdir(target, 0o755) == 0 && chmod(target, 0o755) == 0)
        #expect(symlink(target, link) == 0)
        do {
            _ = try Self.extractor(link).extract(try Self.flow1())
            Issue.record("extracted through a symbolic link")
        } catch let error as QueryError {
            #expect(error.description == "\(link): is a symbolic link; flowdb extracts only into a real directory")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == [])
        #expect(Self.mode(target) == 0o755)
    }

    /// An existing directory that group or others may write into is refused.
    @Test func extractRefusesGroupWritableDirectory() throws {
        let dir = Paths.temporaryDirectory() + "/shared"
        #expect(mkdir(dir, 0o700) == 0 && chmod(dir, 0o770) == 0)
        do {
            _ = try Self.extractor(dir).extract(try Self.flow1())
            Issue.record("extracted into a group-writable directory")
        } catch let error as QueryError {
            #expect(error.description == "\(dir): writable by group or others (mode 0770); flowdb extracts only into a directory only its owner can write")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
        #expect(Self.mode(dir) == 0o770)
    }

    /// An existing directory of another user is refused (root can make one).
    @Test(.enabled(if: geteuid() == 0)) func extractRefusesDirectoryOfAnotherUser() throws {
        let dir = Paths.temporaryDirectory() + "/theirs"
        #expect(mkdir(dir, 0o700) == 0 && chown(dir, 65534, 65534) == 0)
        do {
            _ = try Self.extractor(dir).extract(try Self.flow1())
            Issue.record("extracted into another user's directory")
        } catch let error as QueryError {
            #expect(error.description == "\(dir): owned by uid 65534, not by this user (uid 0); flowdb extracts only into its own directory")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }

    /// --force replaces a file that is a hard link to another file by a new file:
    /// the other file keeps its content, and no temporary file is left.
    @Test func forceDoesNotWriteThroughAHardLink() throws {
        let parent = Paths.temporaryDirectory()
        let dir = parent + "/out", other = parent + "/precious"
        let flows = try Self.flow1()
        let paths = try Self.extractor(dir).extract(flows)
        try Array("keep me".utf8).write(to: other)
        #expect(unlink(paths[0]) == 0 && link(other, paths[0]) == 0)
        let again = try Self.extractor(dir, force: true).extract(flows)
        #expect(again == paths)
        #expect(try [UInt8](contentsOf: other) == Array("keep me".utf8))
        var st = stat()
        #expect(stat(other, &st) == 0 && st.st_nlink == 1)
        let truth = try GroundTruth.load(Paths.sample).flows[0]
        #expect(SHA256.hex(try [UInt8](contentsOf: paths[0])) == truth.c2s_sha256)
        #expect(Self.mode(paths[0]) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == Self.flow1Names)
    }

    /// Index of the n-th (0-based, after `skipping`) packet of the sample carrying
    /// payload on the connection with this client port, in the given direction.
    static func firstDataPacket(ofPort port: UInt16, serverToClient: Bool, skipping: Int) throws -> Int {
        let data = try [UInt8](contentsOf: Paths.sample)
        var offset = 24, index = 0, seen = 0
        while offset + 16 <= data.count {
            let length = Int(data[offset + 8]) | Int(data[offset + 9]) << 8 | Int(data[offset + 10]) << 16 | Int(data[offset + 11]) << 24
            let p = Array(data[(offset + 16)..<(offset + 16 + length)])
            let sport = UInt16(p[34]) << 8 | UInt16(p[35]), dport = UInt16(p[36]) << 8 | UInt16(p[37])
            let ipLength = Int(p[16]) << 8 | Int(p[17]), tcpHeader = Int(p[46] >> 4) * 4
            let payload = ipLength - 20 - tcpHeader
            if payload > 0 && (serverToClient ? dport == port : sport == port) {
                if seen == skipping { return index }
                seen += 1
            }
            offset += 16 + length
            index += 1
        }
        throw QueryError("no such packet")
    }

    static func dropPacket(_ path: String, index drop: Int, into out: String) throws {
        let data = try [UInt8](contentsOf: path)
        var result = Array(data[0..<24])
        var offset = 24, index = 0
        while offset + 16 <= data.count {
            let length = Int(data[offset + 8]) | Int(data[offset + 9]) << 8 | Int(data[offset + 10]) << 16 | Int(data[offset + 11]) << 24
            if index != drop { result += data[offset..<(offset + 16 + length)] }
            offset += 16 + length
            index += 1
        }
        try result.write(to: out)
    }
}

/// A time window read through the longest flow's duration (migration 0009) finds
/// exactly the flows that overlap it, as the plain comparison does.
@Suite struct TimeWindowTests {
    @Test func windowBoundedByTheLongestFlow() throws {
        let db = Paths.temporaryDirectory() + "/a.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.sample])
        let archive = try Archive(path: db, create: false)
        let query = FlowQuery(archive: archive)
        let c = archive.connection
        let first: Int64 = try c.scalar("SELECT min(first_ts) FROM flow") ?? 0
        let last: Int64 = try c.scalar("SELECT max(last_ts) FROM flow") ?? 0
        let longest: Int64 = try c.scalar("SELECT max(last_ts - first_ts) FROM flow") ?? 0
        #expect(longest > 0)
        // windows across the capture: each must list the flows that overlap it
        let step = max(1, (last - first) / 17)
        var checked = 0
        for start in stride(from: first - step, through: last + step, by: Int(step)) {
            let end = start + step / 2
            var filter = FlowFilter()
            filter.since = start
            filter.until = end
            let ids = try query.flows(filter).flows.map(\.id)
            let s = try c.prepare("SELECT id FROM flow WHERE last_ts >= ? AND first_ts <= ? ORDER BY id")
            try s.bind(start, at: 1)
            try s.bind(end, at: 2)
            var want: [Int64] = []
            while try s.step() { want.append(s.int64(0)) }
            #expect(ids == want, "window \(start)...\(end)")
            checked += want.count
        }
        #expect(checked == 27)     // the windows listed 27 flows in all (a flow may be in several)
        let plan = try query.plan(FlowFilter.window(since: first, until: last)).joined(separator: "\n")
        #expect(plan.contains("flow_by_first_ts (first_ts>? AND first_ts<?)"), "\(plan)")
    }
}

extension FlowFilter {
    static func window(since: Int64, until: Int64) -> FlowFilter {
        var f = FlowFilter()
        f.since = since
        f.until = until
        return f
    }
}
