import Foundation
import Testing
import TestSupport
import Applications
import Digest
import Store

/// Identification lines, HASSH and HASSHServer (strings and MD5) of every SSH
/// connection of ../shared/captures/ja4 equal tshark's `ssh.protocol` and
/// `ssh.kex.hassh*` (Tests/Fixtures/ssh/tshark-ssh.tsv, by scripts/ssh-tshark-fields.sh).
@Suite struct SSHTests {
    struct Side { var line: String?, algorithms: String?, hash: String? }

    /// capture -> "src sport dst dport" (the sender's view) -> what tshark saw from that side.
    static func tshark() throws -> [String: [String: Side]] {
        var out: [String: [String: Side]] = [:]
        let text = try String(contentsOfFile: Paths.fixture("ssh/tshark-ssh.tsv"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 10 else { continue }
            let key = "\(f[1]) \(f[2]) \(f[3]) \(f[4])"
            var side = out[f[0], default: [:]][key] ?? Side()
            if !f[5].isEmpty && side.line == nil { side.line = f[5] }
            if !f[7].isEmpty && side.hash == nil { side.algorithms = f[6]; side.hash = f[7] }
            if !f[9].isEmpty && side.hash == nil { side.algorithms = f[8]; side.hash = f[9] }
            out[f[0], default: [:]][key] = side
        }
        return out
    }

    @Test func identificationAndHASSHEqualTshark() throws {
        let expected = try Self.tshark()
        var lines = 0, hasshes = 0
        for (name, sides) in expected.sorted(by: { $0.key < $1.key }) {
            // tshark's fields are per 4-tuple; a later connection on the same one (in
            // ssh-r.pcap, after 5 minutes and 20 seconds idle: Zeek's inactivity
            // timeout) begins midstream and has no identification of its own
            var compared = Set<String>()
            for f in try Streams(Paths.capture("ja4/" + name)).flows {
                for dir in 0..<2 {
                    let key = dir == 0 ? "\(f.client) \(f.clientPort) \(f.server) \(f.serverPort)"
                                       : "\(f.server) \(f.serverPort) \(f.client) \(f.clientPort)"
                    guard let t = sides[key], compared.insert(key).inserted else { continue }
                    let (id, kex) = f.bytes[dir].withUnsafeBytes { b -> (SSHIdentification?, SSHKexInit?) in
                        let id = SSH.identification(in: b)
                        return (id, id.flatMap { SSH.kexInit(in: b, from: $0.end) })
                    }
                    if let line = t.line {
                        #expect(id?.line == line, "\(name) \(key)")
                        lines += 1
                    }
                    if let hash = t.hash {
                        // tshark computes a HASSH from whichever side sent the KEXINIT, by port 22
                        let fromClient = t.algorithms.map { _ in dir == 0 } ?? true
                        let string = kex.map { fromClient ? SSH.hasshString($0) : SSH.hasshServerString($0) }
                        #expect(string == t.algorithms, "\(name) \(key): \(string ?? "no KEXINIT")")
                        #expect(string.map(MD5.hex) == hash, "\(name) \(key)")
                        hasshes += 1
                    }
                }
            }
        }
        #expect(lines == 18 && hasshes == 16, "\(lines) identification lines, \(hasshes) HASSH compared")
    }

    /// tshark's HASSHServer for ssh.pcapng.
    static func serverHASSH() throws -> String {
        try tshark()["ssh.pcapng"]?["54.160.114.75 22 172.16.225.48 57377"]?.hash ?? "missing"
    }

    @Test func chosenAlgorithmIsTheClientsFirstTheServerOffers() {
        #expect(SSH.chosen(client: ["a", "b", "c"], server: ["c", "b"]) == "b")
        #expect(SSH.chosen(client: ["a"], server: ["b"]) == nil)
    }

    @Test func identificationAfterOtherLines() {
        let bytes = Array("hello there\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\nrest".utf8)
        let id = bytes.withUnsafeBytes { SSH.identification(in: $0) }
        #expect(id?.line == "SSH-2.0-OpenSSH_9.2p1 Debian-2")
        #expect(id?.protocolVersion == "2.0" && id?.software == "OpenSSH_9.2p1" && id?.comments == "Debian-2")
        #expect(id?.end == bytes.count - 4)
        let long = Array(repeating: UInt8(ascii: "x"), count: 300) + [0x0a]
        #expect(long.withUnsafeBytes { SSH.identification(in: $0) } == nil)
    }
}
