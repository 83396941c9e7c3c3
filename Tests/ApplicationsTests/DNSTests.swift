import Testing
@testable import Applications

/// The DNS parser on crafted messages: compression bounded (no loop, no forward
/// pointer, 255 bytes at most), records rendered as Zeek's dns.log shows them.
@Suite struct DNSTests {
    static func name(_ labels: [String]) -> [UInt8] {
        labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func message(id: UInt16 = 0x1234, flags: UInt16, questions: [[UInt8]], answers: [[UInt8]], extra: [UInt8] = []) -> [UInt8] {
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
        return be16(id) + be16(flags) + be16(UInt16(questions.count)) + be16(UInt16(answers.count)) + [0, 0, 0, 0]
            + questions.flatMap { $0 } + answers.flatMap { $0 } + extra
    }

    static func parse(_ bytes: [UInt8], cut: Bool = false) -> DNSMessage? { bytes.withUnsafeBytes { DNS.parse($0, cut: cut) } }

    /// A response: www.example.test A, answered by a CNAME (compressed to the
    /// question's name) and an A record; then MX, TXT and an unknown type.
    @Test func answersAsZeekShowsThem() throws {
        let question = Self.name(["www", "example", "test"]) + [0, 1, 0, 1]
        let pointer: [UInt8] = [0xc0, 12]        // the question's name
        let cname = pointer + [0, 5, 0, 1, 0, 0, 0x0e, 0x10] + [0, 6] + [3] + Array("web".utf8) + [0xc0, 16]
        let a = pointer + [0, 1, 0, 1, 0, 0, 0, 60] + [0, 4, 192, 0, 2, 7]
        let mx = pointer + [0, 15, 0, 1, 0, 0, 0, 1] + [0, 4, 0, 10, 0xc0, 16]
        let txt = pointer + [0, 16, 0, 1, 0, 0, 0, 2] + [0, 8, 3] + Array("a,b".utf8) + [3] + Array("c d".utf8)
        let other = pointer + [0, 65, 0, 1, 0, 0, 0, 3] + [0, 1, 0]
        let m = try #require(Self.parse(Self.message(flags: 0x8580, questions: [question], answers: [cname, a, mx, txt, other])))
        #expect(m.isResponse && m.aa && m.rd && m.ra && !m.tc && m.rcode == 0 && m.id == 0x1234)
        #expect(m.query == "www.example.test" && m.qtype == 1 && m.qclass == 1)
        #expect(m.answers == ["web.example.test", "192.0.2.7", "example.test", "TXT 3 a,b TXT 3 c d", "<HTTPS>"])
        #expect(m.ttls == [3600, 60, 1, 2, 3])
    }

    @Test func compressionIsBounded() {
        let header: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
        // a pointer to itself, a pointer forward, an obsolete label type
        #expect(Self.parse(header + [0xc0, 12, 0, 1, 0, 1]) == nil)
        #expect(Self.parse(header + [0xc0, 14, 0, 1, 0, 1]) == nil)
        #expect(Self.parse(header + [0x41, 0, 0, 1, 0, 1]) == nil)
        // two pointers to each other: no loop either way
        #expect(Self.parse(header + [1, 0x61, 0xc0, 14] + [0xc0, 12] + [0, 1, 0, 1]) == nil)
        // a name over 255 bytes
        let long: [UInt8] = (0..<5).flatMap { _ -> [UInt8] in [63] + [UInt8](repeating: 0x61, count: 63) } + [0]
        #expect(Self.parse(header + long + [0, 1, 0, 1]) == nil)
        // a label running past the end, a count of records that are not there
        #expect(Self.parse(header + [9, 0x61]) == nil)
        #expect(Self.parse([0, 1, 0x81, 0x80, 0, 0, 0, 3, 0, 0, 0, 0]) == nil)
    }

    @Test func bytesOfNamesAreEscaped() throws {
        let question = [UInt8(4), 0x61, 0x0a, 0x5c, 0xff, 0] + [0, 16, 0, 1]
        let m = try #require(Self.parse(Self.message(flags: 0x0100, questions: [question], answers: [])))
        #expect(m.query == "a\\x0a\\x5c\\xff" && !m.isResponse && m.qtype == 16)
    }

    /// A response the snaplen cut inside its second answer: the first is kept when
    /// the caller says the capture cut it, and the message is malformed otherwise.
    @Test func aCutResponseKeepsItsWholeAnswers() throws {
        let question = Self.name(["x", "test"]) + [0, 1, 0, 1]
        let a = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1] as [UInt8]
        let bytes = Self.message(flags: 0x8180, questions: [question], answers: [a, a]).dropLast(3)
        #expect(Self.parse(Array(bytes)) == nil)
        let m = try #require(Self.parse(Array(bytes), cut: true))
        #expect(m.answers == ["192.0.2.1"])
    }

    @Test func tcpMessagesAfterTheirLengths() {
        let question = Self.name(["x", "test"]) + [0, 28, 0, 1]
        let one = Self.message(flags: 0x0100, questions: [question], answers: [])
        let framed = [UInt8(0), UInt8(one.count)] + one
        let messages = (framed + framed + [0, 40, 1]).withUnsafeBytes { DNS.tcpMessages($0) }
        #expect(messages.map(\.offset) == [0, framed.count] && messages.allSatisfy { $0.message.qtype == 28 })
        #expect(DNS.ipv6Text([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]) == "2001:db8::1:0:0:1")
        #expect(DNS.ipv6Text([0, 0, 0, 0, 0, 0, 0, 1]) == "::1")
    }
}
