import Testing
@testable import Connections

/// Zeek's rules for UDP and ICMP connections (base/protocols/conn's conn_state,
/// the UDP analyzer's history letters, the likely-server-port rule).
@Suite struct DatagramConnectionTests {
    @Test func udpStatesAndHistory() {
        var c = DatagramConnection(.udp)
        #expect(c.state == .oth && c.history == nil)
        c.observe(fromOriginator: true)
        #expect(c.state == .s0 && c.history == "D")
        c.observe(fromOriginator: true)
        #expect(c.history == "D")           // once per side
        c.observe(fromOriginator: false)
        #expect(c.state == .sf && c.history == "Dd")
        var answerOnly = DatagramConnection(.udp)
        answerOnly.observe(fromOriginator: false)
        #expect(answerOnly.state == .shr && answerOnly.history == "d")
    }

    @Test func icmpIsAlwaysOTHWithoutHistory() {
        var c = DatagramConnection(.icmp)
        c.observe(fromOriginator: true)
        c.observe(fromOriginator: false)
        #expect(c.state == .oth && c.history == nil)
    }

    /// The first datagram's receiver is the originator when it came from a likely
    /// service port to one that is not (a DNS answer seen before its query).
    @Test func originatorByLikelyServerPorts() {
        #expect(DatagramConnection.responderSentFirst(sourcePort: 53, destinationPort: 40000))
        #expect(!DatagramConnection.responderSentFirst(sourcePort: 40000, destinationPort: 53))
        #expect(!DatagramConnection.responderSentFirst(sourcePort: 67, destinationPort: 68))      // both are
        #expect(!DatagramConnection.responderSentFirst(sourcePort: 40000, destinationPort: 40001))
        #expect(DatagramConnection.responderSentFirst(sourcePort: 443, destinationPort: 51000))    // QUIC
    }

    @Test func icmpAnswersAndTheirRequests() {
        #expect(DatagramConnection.isICMPAnswer(type: 0, isIPv6: false) && DatagramConnection.isICMPAnswer(type: 129, isIPv6: true))
        #expect(!DatagramConnection.isICMPAnswer(type: 8, isIPv6: false) && !DatagramConnection.isICMPAnswer(type: 3, isIPv6: false))
        #expect(DatagramConnection.icmpRequestType(0, isIPv6: false) == 8 && DatagramConnection.icmpRequestType(129, isIPv6: true) == 128)
        #expect(DatagramConnection.icmpRequestType(3, isIPv6: false) == 3)
    }
}
