import Testing
@testable import Decoding

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("fd00::1", "fd00::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),       // first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),     // one zero group is not shortened
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),             // the longest run wins
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("FE80::ABCD", "fe80::abcd"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("10.77.0.2", "10.77.0.2"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("100.9.10.109", "100.9.10.109"),                  // one, two and three digits
        ("192.168.200.99", "192.168.200.99"),
    ])
    func canonicalText(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == expected)
        #expect(IPAddress(expected) == address)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1:2:3:4:5:6:7:8:9", "1::2::3", "g::1", "12345::", "1.2.3.4:80", ":::"])
    func rejectsMalformedText(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func ipv4KeyIsMappedIntoSixteenBytes() {
        #expect(IPAddress("10.1.2.3")!.bytes16 == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3])
        #expect(IPAddress("fd00::1")!.bytes16 == [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    }
}
