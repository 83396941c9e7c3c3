import Digest
import Foundation
import Ingest
import Store
import Testing
import TestSupport
@testable import Applications

/// QUIC's Initial packets: the keys of RFC 9001 appendix A and RFC 9369 appendix
/// A, and the ClientHellos of real QUIC captures read from them.
@Suite struct QUICTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func initialKeysOfTheRFCs() throws {
        let dcid = Self.hex("8394c8f03e515708")
        let v1 = try #require(QUICInitialProtection.keys(dcid: dcid, version: QUICInitialProtection.version1, client: true))
        #expect(v1.key == Self.hex("1f369613dd76d5467730efcbe3b1a22d"))
        #expect(v1.iv == Self.hex("fa044b2f42a3fd3b46fb255c"))
        #expect(v1.hp == Self.hex("9f50449e04a0e810283a1e9933adedd2"))
        let server = try #require(QUICInitialProtection.keys(dcid: dcid, version: QUICInitialProtection.version1, client: false))
        #expect(server.key == Self.hex("cf3a5331653c364c88f0f379b6067e37"))
        let v2 = try #require(QUICInitialProtection.keys(dcid: dcid, version: QUICInitialProtection.version2, client: true))
        #expect(v2.key == Self.hex("8b1a0bc121284290a29e0971b5cd045d"))
        #expect(v2.iv == Self.hex("91f73e2351d8fa91660e909f"))
        #expect(v2.hp == Self.hex("45b95e15235d6f45a6b19cbcb0294ba9"))
        #expect(QUICInitialProtection.keys(dcid: dcid, version: 0xff00_001d, client: true) == nil)
        // the RFC's header-protection sample and mask
        let sample = Self.hex("d1b1c98dd7689fb8ec11d242b123dc9b")
        #expect(sample.withUnsafeBytes { QUICInitialProtection.mask(hp: v1.hp, sample: $0) }?.prefix(5) == Self.hex("437b9aec36")[...])
    }

    @Test func framesAndVarints() throws {
        var i = 0
        let eight = Self.hex("c2197c5eff14e88c")
        #expect(eight.withUnsafeBytes { QUIC.varint($0, &i) } == 151_288_809_941_952_652 && i == 8)
        // PING, CRYPTO at 5 "hello", PADDING; CRYPTO at 0 "ab" then 2 "cde": contiguous
        let frames = try #require(QUIC.cryptoFrames([0x01, 0x06, 0x05, 0x05] + Array("hello".utf8) + [0, 0, 0x06, 0x00, 0x02, 0x61, 0x62]
                                                    + [0x06, 0x02, 0x03] + Array("cde".utf8)))
        #expect(frames.map(\.offset) == [5, 0, 2])
        #expect(QUIC.contiguous(frames) == Array("abcdehello".utf8))
        // a STREAM frame cannot be in an Initial; a CRYPTO frame longer than the payload is malformed
        #expect(QUIC.cryptoFrames([0x08, 0x00]) == nil)
        #expect(QUIC.cryptoFrames([0x06, 0x00, 0x10, 0x61]) == nil)
    }

    /// Chrome's Initials in the JA4 project's captures: the names, ALPN and JA3
    /// tshark reads after removing the same protection, and JA4 with transport `q`.
    @Test(arguments: [
        ("quic-tls-handshake.pcapng", "59102", "www.google.com", "0cda1bd7f270e894ed5de2af2f06cb80"),
        ("quic-with-several-tls-frames.pcapng", "55906", "ogs.google.com", "410bc72d10506604b31a74b036fc4bab"),
        ("chrome-cloudflare-quic-with-secrets.pcapng", "50280", "cloudflare-quic.com", "3cbc33c648fe331404456f48a5a27170"),
    ])
    func clientHellosOfRealQUIC(file: String, port: String, name: String, ja3: String) throws {
        let db = Paths.temporaryDirectory() + "/q.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [Paths.capture("ja4/" + file)])
        let rows = try ApplicationTablesTests.rows(try Archive(path: db, create: false), """
            SELECT f.client_port, f.app, f.app_host, t.server_name, t.alpn_offered, t.ja3, t.ja4, t.client_version
            FROM tls t JOIN flow f ON f.id = t.flow_id WHERE f.proto = 'udp'
            """)
        #expect(rows == [[port, "quic", name, name, "[\"h3\"]", ja3, "q13d0310h3_55b375c5d22e_cd85d2d88918", "TLSv1.3"]])
    }
}

/// Every QUIC ClientHello tshark reads in the JA4 project's captures (it removes
/// the same Initial protection), flowdb reads too: same client port, SNI and JA3.
@Suite struct QUICTsharkTests {
    static let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: tshark, "tshark is not installed"),
          arguments: ["tls-handshake.pcapng", "quic-tls-handshake.pcapng", "quic-with-several-tls-frames.pcapng",
                      "chrome-cloudflare-quic-with-secrets.pcapng"])
    func helloesAsTsharkReadsThem(file: String) throws {
        let capture = Paths.capture("ja4/" + file)
        func tshark(_ filter: String, _ fields: [String]) throws -> Set<String> {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
            process.arguments = ["-r", capture, "-Y", filter, "-T", "fields"] + fields.flatMap { ["-e", $0] }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return Set(text.split(separator: "\n").map(String.init))
        }
        let db = Paths.temporaryDirectory() + "/q.sqlite"
        _ = try Ingestor(path: db, options: IngestOptions()).run(paths: [capture])
        let archive = try Archive(path: db, create: false)
        func ours(_ sql: String) throws -> Set<String> {
            Set(try ApplicationTablesTests.rows(archive, sql).map { $0.joined(separator: "\t") })
        }
        let clients = try tshark("quic && tls.handshake.type == 1", ["udp.srcport", "tls.handshake.extensions_server_name", "tls.handshake.ja3"])
        let ourClients = try ours("SELECT f.client_port, t.server_name, t.ja3 FROM tls t JOIN flow f ON f.id = t.flow_id WHERE f.proto = 'udp'")
        #expect(!clients.isEmpty && ourClients == clients)
        // the ServerHellos of the server's Initials, where the capture has them
        let servers = try tshark("quic && tls.handshake.type == 2", ["udp.dstport", "tls.handshake.ja3s"])
        let ourServers = try ours("""
            SELECT f.client_port, t.ja3s FROM tls t JOIN flow f ON f.id = t.flow_id WHERE f.proto = 'udp' AND t.ja3s IS NOT NULL
            """)
        #expect(ourServers == servers)
    }
}
