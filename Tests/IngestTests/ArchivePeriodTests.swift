import Foundation
import Testing
import TestSupport
import Store
@testable import Ingest

/// `flowdb capture --archive-every`: a new archive each period, flows linked across.
@Suite(.serialized) struct ArchivePeriodTests {
    /// Captures loopback for `seconds` with 2 s periods while one TCP connection
    /// talks across them; returns the directory and the capture's stderr.
    static func capture(lines: Int, seconds: Int, extra: [String], tcp: Int, udp: Int) throws -> (dir: String, err: String) {
        let dir = Paths.temporaryDirectory("flowdb-periods")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: flowdbBinary)
        p.arguments = ["capture", "-i", "lo", "--filter", "port \(tcp) or port \(udp)", "--archive-every", "2s", "--archive-dir", dir,
                       "--duration", "\(seconds)s", "--quiet"] + extra
        let err = Pipe()
        p.standardError = err
        try p.run()
        Thread.sleep(forTimeInterval: 1.5)
        let talk = Process()
        talk.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        talk.arguments = ["python3", Paths.repository + "/scripts/periods-traffic.py", String(lines), String(tcp), String(udp)]
        try talk.run()
        talk.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        return (dir, text)
    }

    static func archives(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".sqlite") }.sorted()
    }

    @Test(.enabled(if: getuid() == 0, "capturing needs root"))
    func flowsGoOnAcrossArchivesLinked() throws {
        let (dir, err) = try Self.capture(lines: 50, seconds: 9, extra: [], tcp: 47011, udp: 47012)
        let names = try Self.archives(dir)
        #expect(names.count >= 4, "\(names) \(err)")
        #expect(names.allSatisfy { $0.hasPrefix("lo-") && $0.count == "lo-20261205T172548Z.sqlite".count })
        // the TCP connection: one flow per archive it spanned, each linked to the next and back
        var chain: [(name: String, id: Int64, from: String?, to: String?, bytes: Int)] = []
        for name in names {
            let c = try SQLiteConnection(path: dir + "/" + name, mode: .readOnly)
            let s = try c.prepare("SELECT id, continues_from, continued_in, c2s_bytes + s2c_bytes FROM flow WHERE proto = 'tcp' AND (client_port = 47011 OR server_port = 47011)")
            while try s.step() { chain.append((name, s.int64(0), s.text(1), s.text(2), s.int(3))) }
            #expect(try c.scalar("SELECT count(*) FROM capture WHERE status = 'complete'") == 1, "\(name)")
        }
        #expect(chain.count >= 3, "\(chain)")
        for (a, b) in zip(chain, chain.dropFirst()) {
            #expect(a.to == "\(b.name):\(b.id)", "\(a) \(b)")
            #expect(b.from == "\(a.name):\(a.id)", "\(a) \(b)")
        }
        #expect(chain.first?.from == nil && chain.last?.to == nil)
        // every byte of both directions is in one of the archives
        let sent = (0..<50).reduce(0) { $0 + "line \($1) across archive periods\n".utf8.count }
        #expect(chain.reduce(0) { $0 + $1.bytes } == 2 * sent)
        // the directory answers as one, and --flow ARCHIVE:ID reaches a middle link
        let query = try CommandLineTests.run(["query", "--db", dir, "--port", "47011", "--format", "json", "--limit", "0"])
        #expect(query.out.split(separator: "\n").count == chain.count)
        let middle = chain[1]
        let shown = try CommandLineTests.run(["query", "--db", dir, "--flow", "\(middle.name):\(middle.id)", "--show", "ascii"])
        #expect(shown.status == 0 && shown.out.contains("across archive periods"))
    }

    @Test(.enabled(if: getuid() == 0, "capturing needs root"))
    func retentionRemovesWholeOldArchivesAndSaysSo() throws {
        let (dir, err) = try Self.capture(lines: 30, seconds: 9, extra: ["--keep-archives", "2"], tcp: 47013, udp: 47014)
        let names = try Self.archives(dir)
        #expect(names.count == 2, "\(names) \(err)")
        let all = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(all.filter { !$0.hasSuffix(".sqlite") && !$0.hasSuffix(".sqlite.ingest-lock") }.isEmpty, "\(all)")
        var removed: [String] = []
        for name in names {
            let c = try SQLiteConnection(path: dir + "/" + name, mode: .readOnly)
            let s = try c.prepare("SELECT path, reason, archive_id FROM archive_removed")
            while try s.step() {
                removed.append(s.text(0) ?? "")
                #expect(s.text(1) == "--keep-archives 2")
                #expect(s.text(2)?.count == 36)
            }
        }
        #expect(removed.count >= 2 && removed.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "\(removed)")
        #expect(err.contains("removed \(dir)/lo-"))
    }

    /// An archive a reader has open is not removed; it goes at a later period.
    @Test func retentionSkipsAnArchiveBeingRead() throws {
        let dir = Paths.temporaryDirectory("flowdb-retention")
        let path = dir + "/lo-20261205T000000Z.sqlite"
        _ = try Archive(path: path, create: true)
        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        try reader.execute("BEGIN")
        let s = try reader.prepare("SELECT count(*) FROM flow")
        _ = try s.step()
        #expect(throws: (any Error).self) { _ = try PeriodicCapture.remove(path) }
        #expect(FileManager.default.fileExists(atPath: path))
        s.reset()
        try reader.execute("COMMIT")
        let removed = try PeriodicCapture.remove(path)
        #expect(removed.archiveID?.count == 36)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// An archive being written (its ingest lock held) is not removed either.
    @Test func retentionSkipsAnArchiveBeingWritten() throws {
        let dir = Paths.temporaryDirectory("flowdb-retention")
        let path = dir + "/lo-20261205T010000Z.sqlite"
        _ = try Archive(path: path, create: true)
        let lock = try IngestLock(archivePath: path)
        #expect(throws: (any Error).self) { _ = try PeriodicCapture.remove(path) }
        #expect(FileManager.default.fileExists(atPath: path))
        _ = lock
    }

    @Test func archiveNames() {
        #expect(PeriodicCapture.archiveName(interface: "eth0", periodStart: 1_796_479_200_000_000_000) == "eth0-20261205T140000Z.sqlite")
        #expect(PeriodicCapture.archiveName(interface: "br-lan.10", periodStart: 0) == "br_lan.10-19700101T000000Z.sqlite")
    }
}
