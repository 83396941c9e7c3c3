import Foundation
import Testing
import TestSupport
import Capture
import Digest
import Recording
import Store
@testable import Ingest

/// Whether the tools scripts/live-check.py needs are here (root, network
/// namespaces, tcpdump, nftables, ethtool).
private let canMakeLiveTraffic: Bool = {
    getuid() == 0 && ["/usr/bin/tcpdump", "/usr/sbin/tcpdump", "/usr/sbin/nft"].contains { Paths.exists($0) }
        && ["/usr/sbin/ethtool", "/sbin/ethtool"].contains { Paths.exists($0) } && Paths.exists(Paths.shared + "/realtraffic/peer.py")
}()

/// `flowdb capture -i`: real traffic between network namespaces, archived live.
@Suite(.serialized) struct LiveCaptureTests {
    /// The checks of scripts/live-check.py, each of which must pass, and none fail;
    /// returns the lines it printed.
    @discardableResult
    static func liveCheck(_ arguments: [String], expecting checks: [String]) throws -> [Substring] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.repository + "/scripts/live-check.py", "--flowdb", flowdbBinary] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile(), errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let status = process.terminationStatus
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let report = lines.joined(separator: "\n") + "\n" + String(decoding: errors, as: UTF8.self)
        for check in checks {
            #expect(lines.contains { $0.hasPrefix("ok   " + check) }, "\(check) did not pass:\n\(report)")
        }
        // a check may pass more than once (an export per flow picked)
        let passed = lines.filter { $0.hasPrefix("ok   ") }.count
        #expect(passed >= checks.count, "\(report)")
        #expect(lines.last == "live-check: \(passed) passed, 0 failed", "\(report)")
        #expect(status == 0)
        return lines
    }

    /// 200 concurrent connections, 2% of TCP packets lost in every direction on
    /// both sides of the capture point, rotated pcap files, queries during the
    /// run, stopped by SIGTERM as a service manager stops it.
    @Test(.enabled(if: canMakeLiveTraffic, "needs root, tcpdump, nftables, ethtool and ../shared/realtraffic"))
    func lossOnBothSidesStoppedBySIGTERM() throws {
        let lines = try Self.liveCheck(["--plan", "loss-both", "--loss", "2", "--signal", "TERM"], expecting: Self.cleanStop("SIGTERM"))
        #expect(lines.contains(where: Self.exportedAcrossFiles))
    }

    /// What a capture stopped by `signal` must pass.
    static func cleanStop(_ signal: String) -> [String] {
        ["flowdb capture prints 'listening on vb'", "exit status after \(signal) is 0",
         "queries during the run succeeded and saw flows", "every direction equals the bytes sent",
         "capture rows complete, naming files with their size and sha256", "no packet dropped",
         "rotated files hold exactly the packets tcpdump saw", "query --pcap of live flow"]
    }

    /// The export of a flow whose packets lie in two of the rotated files passed
    /// (live-check.py exports the largest flow and, if another, one that spans files).
    static func exportedAcrossFiles(_ line: Substring) -> Bool {
        line.hasPrefix("ok   query --pcap of live flow") && line.contains("(spans two files)")
    }

    /// The lines live-check.py prints for its exports (`check()`: "ok  " or "FAIL", a
    /// space, the name, ": " and the detail).
    @Test func exportAcrossFilesIsRecognised() {
        let lines: [Substring] = [
            "ok   query --pcap of live flow 3: flow 3: 1200 packets exported, 1200 in the archive, its bytes equal after ingesting the export",
            "ok   query --pcap of live flow 17 (spans two files): flow 17: 80 packets exported, 80 in the archive, its bytes equal after ingesting the export",
            "FAIL query --pcap of live flow 17 (spans two files): flow 17: 79 packets exported, 80 in the archive",
        ]
        #expect(lines.map(Self.exportedAcrossFiles) == [false, true, false])
    }

    /// SIGINT, sent to a capture started as a shell script's background job
    /// (SIGINT ignored), stops it as cleanly.
    @Test(.enabled(if: canMakeLiveTraffic, "needs root, tcpdump, nftables, ethtool and ../shared/realtraffic"))
    func burstStoppedBySIGINT() throws {
        let lines = try Self.liveCheck(["--plan", "burst", "--connections", "600", "--concurrency", "150", "--loss", "1",
                                        "--signal", "INT", "--rotate-size", "1MB"], expecting: Self.cleanStop("SIGINT"))
        #expect(lines.contains(where: Self.exportedAcrossFiles))
    }

    /// kill -9 in the middle of the traffic: the archive is consistent and
    /// queryable, and the next capture closes the interrupted one.
    @Test(.enabled(if: canMakeLiveTraffic, "needs root, tcpdump, nftables, ethtool and ../shared/realtraffic"))
    func killedCaptureLeavesAConsistentArchive() throws {
        try Self.liveCheck(["--plan", "loss-both", "--loss", "1", "--kill9"], expecting: [
            "flowdb capture prints 'listening on vb'",
            "queries during the run succeeded and saw flows",
            "the killed capture's archive passes integrity_check and holds flows",
            "flowdb query reads it",
            "the next capture marks the interrupted one failed and records its file",
            "query --pcap of flow",
        ])
    }

    /// Without the privilege to capture: one line that says what is needed, exit 1.
    @Test(.enabled(if: getuid() == 0 && Paths.exists("/usr/bin/setpriv"), "needs root to drop privileges with setpriv"))
    func withoutCapNetRawOneClearLine() throws {
        let dir = Paths.temporaryDirectory()
        chmod(dir, 0o777)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                       flowdbBinary, "capture", "-i", "lo", "--db", dir + "/a.sqlite"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(text.split(separator: "\n").count == 1, "\(text)")
        #expect(text.hasPrefix("flowdb: lo: capturing needs root or the CAP_NET_RAW capability ("), "\(text)")
    }

    @Test func badInterfaceAndFilterAreOneLine() throws {
        let dir = Paths.temporaryDirectory()
        let missing = try CommandLineTests.run(["capture", "-i", "flowdb-no-such0", "--db", dir + "/a.sqlite"])
        #expect(missing.status == 1)
        if getuid() == 0 {
            #expect(missing.err.hasPrefix("flowdb: flowdb-no-such0: no such interface ("), "\(missing.err)")
            let filter = try CommandLineTests.run(["capture", "-i", "lo", "--db", dir + "/a.sqlite", "--filter", "tcp port"])
            #expect(filter.status == 1)
            #expect(filter.err == "flowdb: lo: bad filter 'tcp port': can't parse filter expression: syntax error\n")
        }
        let options = try CommandLineTests.run(["capture", "-i", "lo", "--db", dir + "/a.sqlite", "--keep", "3"])
        #expect(options.status != 0)
        #expect(options.err.contains("--rotate-time and --keep go with --write-pcap DIR"))
    }

    @Test func sizesAsAnalystsWriteThem() {
        #expect(ByteSizes.bytes("1GB") == 1 << 30)
        #expect(ByteSizes.bytes("100MB") == 100 << 20)
        #expect(ByteSizes.bytes("64k") == 64 << 10)
        #expect(ByteSizes.bytes("2048") == 2048)
        #expect(ByteSizes.bytes("0") == 0)
        #expect(ByteSizes.bytes("1.5GB") == nil)
        #expect(ByteSizes.bytes("GB") == nil)
        #expect(ByteSizes.bytes("99999999999TB") == nil)
    }

    /// Files are named by interface, UTC time and sequence, safe for a file name.
    @Test func fileNamesAreSafe() {
        #expect(Session.filePrefix("eth0") == "eth0-")
        #expect(Session.filePrefix("br-lan.10") == "br_lan.10-")
        #expect(Session.filePrefix("../x") == ".._x-")
    }

    /// A pcap file written by the live writer reads back record for record, at
    /// the offsets the writer returned, with the SHA-256 it computed.
    @Test func pcapWriterOffsetsAndDigest() throws {
        let path = Paths.temporaryDirectory() + "/w.pcap"
        let writer = try PcapFileWriter(path: path, header: try PcapFileHeader.nanosecond(dlt: 1, snaplen: 262144))
        var offsets: [Int64] = []
        var payloads: [[UInt8]] = []
        for i in 0..<3000 {
            let bytes = (0..<(60 + i % 1400)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
            payloads.append(bytes)
            try bytes.withUnsafeBytes { b in
                offsets.append(try writer.write(CapturedPacket(index: i, offset: -1, timestamp: 1_700_000_000_123_456_789 + Int64(i),
                                                               wireLength: bytes.count + 4, bytes: b)))
            }
        }
        let (size, digest) = try writer.close()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.count == size)
        var sha = SHA256()
        data.withUnsafeBytes { sha.update($0) }
        #expect(sha.hexDigest == digest)
        let reader = try CaptureReader(path: path)
        var n = 0
        while let p = try reader.next() {
            #expect(p.offset == offsets[n])
            #expect(Array(p.bytes) == payloads[n])
            #expect(p.timestamp == 1_700_000_000_123_456_789 + Int64(n))
            #expect(p.wireLength == payloads[n].count + 4)
            n += 1
        }
        #expect(n == 3000)
    }
}
