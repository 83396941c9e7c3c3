import Testing
@testable import Connections

/// Crafted packet sequences, each with the conn_state and history that Zeek's
/// documented rules give (docs/schema.md, "Connection states"): upper case for
/// the originator, lower case for the responder; A, D, I, Q once per direction;
/// S/H, F, R again only with new sequence numbers; T, W, G at 1, 10, 100, ...
@Suite struct TCPConnectionTests {
    static let syn = TCPPacket.syn, ack = TCPPacket.ack, fin = TCPPacket.fin, rst = TCPPacket.rst

    /// Packets as (from the originator?, flags, seq, ack, payload length, window).
    struct Step {
        var orig: Bool
        var flags: UInt16
        var seq: UInt32
        var ack: UInt32 = 0
        var length = 0
        var window: UInt16 = 64240
    }

    static func run(_ steps: [Step], flipped: Bool = false) -> TCPConnection {
        var c = TCPConnection(flipped: flipped)
        for s in steps {
            c.observe(TCPPacket(flags: s.flags, sequence: s.seq, acknowledgment: s.ack, window: s.window, payloadLength: s.length),
                      fromOriginator: s.orig)
        }
        return c
    }

    /// The three-way handshake: client ISN 100, server ISN 500.
    static let handshake = [
        Step(orig: true, flags: syn, seq: 100),
        Step(orig: false, flags: syn | ack, seq: 500, ack: 101),
        Step(orig: true, flags: ack, seq: 101, ack: 501),
    ]

    /// The SYN-ACK seen before its SYN (ports that are no likely service): its sender
    /// is taken as the originator, and at the SYN numbered as the SYN-ACK
    /// acknowledged, Zeek swaps the roles ('^'); the client's packets are then the
    /// originator's. A SYN with other numbers is a simultaneous open: no swap.
    @Test func synAfterItsSynAckSwapsTheRoles() {
        func packet(_ flags: UInt16, _ seq: UInt32, _ ack: UInt32 = 0, _ length: Int = 0) -> TCPPacket {
            TCPPacket(flags: flags, sequence: seq, acknowledgment: ack, window: 64240, payloadLength: length)
        }
        var c = TCPConnection()
        let first = c.observe(packet(Self.syn | Self.ack, 500, 101), fromOriginator: true)
        #expect(!first)
        #expect(c.reversesRoles(packet(Self.syn, 100)) && !c.reversesRoles(packet(Self.syn, 99)))
        let swapped = c.observe(packet(Self.syn, 100), fromOriginator: false)
        #expect(swapped)
        // from here the client is the originator
        c.observe(packet(Self.ack, 101, 501), fromOriginator: true)
        c.observe(packet(Self.ack, 101, 501, 10), fromOriginator: true)
        c.observe(packet(Self.ack | Self.fin, 111, 501), fromOriginator: true)
        c.observe(packet(Self.ack | Self.fin, 501, 112), fromOriginator: false)
        #expect(c.history == "Hs^ADFf")
        #expect(c.state == .sf)

        var other = TCPConnection()
        other.observe(packet(Self.syn | Self.ack, 500, 101), fromOriginator: true)
        let simultaneous = other.observe(packet(Self.syn, 7000), fromOriginator: false)
        #expect(!simultaneous)
        #expect(other.history == "Hs")
        // the caller may refuse the swap: states move as Zeek's do, the roles stay
        var kept = TCPConnection()
        kept.observe(packet(Self.syn | Self.ack, 500, 101), fromOriginator: true)
        let refused = kept.observe(packet(Self.syn, 100), fromOriginator: false, mayFlipRoles: false)
        #expect(!refused)
        #expect(kept.history == "Hs")
    }

    @Test func handshakeOnlyIsS1() {
        let c = Self.run(Self.handshake)
        #expect(c.history == "ShA")
        #expect(c.state == .s1)
    }

    @Test func synWithoutReplyIsS0() {
        let c = Self.run([Step(orig: true, flags: Self.syn, seq: 100)])
        #expect(c.history == "S")
        #expect(c.state == .s0)
    }

    /// A SYN answered by the responder's SYN-ACK only ("Sh"): Zeek takes both
    /// endpoints for established.
    @Test func synAndSynAckIsS1() {
        let c = Self.run(Array(Self.handshake.prefix(2)))
        #expect(c.history == "Sh")
        #expect(c.state == .s1)
    }

    @Test func synThenResponderRSTIsREJ() {
        let c = Self.run([Step(orig: true, flags: Self.syn, seq: 100),
                          Step(orig: false, flags: Self.rst | Self.ack, seq: 0, ack: 101, window: 0)])
        #expect(c.history == "Sr")   // no w: a RST's window is not a zero-window advertisement
        #expect(c.state == .rej)
    }

    @Test func synThenOriginatorRSTIsRSTOS0() {
        let c = Self.run([Step(orig: true, flags: Self.syn, seq: 100), Step(orig: true, flags: Self.rst, seq: 101)])
        #expect(c.history == "SR")
        #expect(c.state == .rstos0)
    }

    @Test func resetsAfterEstablishmentAreRSTOAndRSTR() {
        let data = Step(orig: true, flags: Self.ack, seq: 101, ack: 501, length: 50)
        let o = Self.run(Self.handshake + [data, Step(orig: true, flags: Self.rst | Self.ack, seq: 151, ack: 501)])
        #expect(o.history == "ShADR")
        #expect(o.state == .rsto)
        let r = Self.run(Self.handshake + [data, Step(orig: false, flags: Self.rst, seq: 501)])
        #expect(r.history == "ShADr")
        #expect(r.state == .rstr)
    }

    @Test func closeBothWaysIsSF() {
        let c = Self.run(Self.handshake + [
            Step(orig: true, flags: Self.ack, seq: 101, ack: 501, length: 100),
            Step(orig: false, flags: Self.ack, seq: 501, ack: 201, length: 300),
            Step(orig: true, flags: Self.fin | Self.ack, seq: 201, ack: 801),
            Step(orig: false, flags: Self.fin | Self.ack, seq: 801, ack: 202),
            Step(orig: true, flags: Self.ack, seq: 202, ack: 802),
        ])
        #expect(c.history == "ShADdFf")   // the client's ACK was already recorded once
        #expect(c.state == .sf)
    }

    @Test func halfClosesAreS2AndS3() {
        let data = Step(orig: true, flags: Self.ack, seq: 101, ack: 501, length: 100)
        let s2 = Self.run(Self.handshake + [data, Step(orig: true, flags: Self.fin | Self.ack, seq: 201, ack: 501),
                                            Step(orig: false, flags: Self.ack, seq: 501, ack: 202)])
        #expect(s2.history == "ShADFa")
        #expect(s2.state == .s2)
        let s3 = Self.run(Self.handshake + [data, Step(orig: false, flags: Self.fin | Self.ack, seq: 501, ack: 201)])
        #expect(s3.history == "ShADf")
        #expect(s3.state == .s3)
    }

    /// A SYN followed by the originator's FIN, no SYN-ACK: SH. A responder that
    /// only sent FIN in a connection without SYN: SHR.
    @Test func synThenFinIsSHAndResponderFinIsSHR() {
        let sh = Self.run([Step(orig: true, flags: Self.syn, seq: 100), Step(orig: true, flags: Self.fin, seq: 101)])
        #expect(sh.history == "SF")
        #expect(sh.state == .sh)
        let shr = Self.run([Step(orig: false, flags: Self.fin | Self.ack, seq: 900, ack: 50)])
        #expect(shr.history == "f")
        #expect(shr.state == .shr)
    }

    /// No SYN at all: midstream data both ways is OTH; with FIN from both, SF.
    @Test func noSYNIsOTHOrSFWithBothFINs() {
        let midstream = [Step(orig: true, flags: Self.ack, seq: 1000, ack: 9000, length: 100),
                         Step(orig: false, flags: Self.ack, seq: 9000, ack: 1100, length: 200)]
        let open = Self.run(midstream)
        #expect(open.history == "Dd")
        #expect(open.state == .oth)
        let closed = Self.run(midstream + [Step(orig: true, flags: Self.fin | Self.ack, seq: 1100, ack: 9200),
                                           Step(orig: false, flags: Self.fin | Self.ack, seq: 9200, ack: 1101)])
        #expect(closed.history == "DdFf")
        #expect(closed.state == .sf)
    }

    /// Both sides send a SYN: both count as established; their SYN-ACKs repeat
    /// the same sequence numbers and add no letter.
    @Test func simultaneousOpenIsS1() {
        let c = Self.run([
            Step(orig: true, flags: Self.syn, seq: 100),
            Step(orig: false, flags: Self.syn, seq: 500),
            Step(orig: true, flags: Self.syn | Self.ack, seq: 100, ack: 501),
            Step(orig: false, flags: Self.syn | Self.ack, seq: 500, ack: 101),
            Step(orig: true, flags: Self.ack, seq: 101, ack: 501),
            Step(orig: false, flags: Self.ack, seq: 501, ack: 101),
        ])
        #expect(c.history == "SsAa")
        #expect(c.state == .s1)
    }

    /// Retransmitted SYNs with the same ISN are one S; a SYN with a new ISN is another.
    @Test func retransmittedSYN() {
        let same = Self.run([Step(orig: true, flags: Self.syn, seq: 100), Step(orig: true, flags: Self.syn, seq: 100),
                             Step(orig: true, flags: Self.syn, seq: 100)])
        #expect(same.history == "S")
        #expect(same.state == .s0)
        let other = Self.run([Step(orig: true, flags: Self.syn, seq: 100), Step(orig: true, flags: Self.syn, seq: 7000)])
        #expect(other.history == "SS")
        #expect(other.state == .s0)
    }

    /// Zero windows: W at the 1st and the 10th, once per direction's counter;
    /// none on a RST.
    @Test func zeroWindowIsLogarithmic() {
        var steps = Self.handshake
        for _ in 0..<10 { steps.append(Step(orig: false, flags: Self.ack, seq: 501, ack: 101, window: 0)) }
        steps.append(Step(orig: true, flags: Self.rst, seq: 101, window: 0))
        let c = Self.run(steps)
        #expect(c.history == "ShAawwR")
        #expect(c.state == .rsto)
        steps = Self.handshake
        for _ in 0..<9 { steps.append(Step(orig: false, flags: Self.ack, seq: 501, ack: 101, window: 0)) }
        #expect(Self.run(steps).history == "ShAaw")
    }

    /// Retransmitted payload: T at the 1st, 10th, 100th.
    @Test func retransmissionsAreLogarithmic() {
        var steps = Self.handshake + [Step(orig: true, flags: Self.ack, seq: 101, ack: 501, length: 100)]
        for _ in 0..<100 { steps.append(Step(orig: true, flags: Self.ack, seq: 101, ack: 501, length: 100)) }
        #expect(Self.run(steps).history == "ShADTTT")
        // New data is no retransmission; a keep-alive of one old byte is.
        let c = Self.run(Self.handshake + [Step(orig: true, flags: Self.ack, seq: 101, ack: 501, length: 100),
                                           Step(orig: true, flags: Self.ack, seq: 201, ack: 501, length: 100),
                                           Step(orig: true, flags: Self.ack, seq: 300, ack: 501, length: 1)])
        #expect(c.history == "ShADT")
    }

    /// Content gaps count only once both sides are established.
    @Test func contentGaps() {
        var c = Self.run(Array(Self.handshake.prefix(1)))
        c.contentGap(fromOriginator: true)
        #expect(c.history == "S")
        c = Self.run(Self.handshake)
        c.contentGap(fromOriginator: false)
        c.contentGap(fromOriginator: true)
        #expect(c.history == "ShAgG")
    }

    @Test func oddFlagCombinations() {
        let c = Self.run(Self.handshake + [
            Step(orig: true, flags: Self.fin | Self.rst, seq: 101),
            Step(orig: false, flags: Self.syn | Self.fin, seq: 501),
            Step(orig: false, flags: Self.syn | Self.rst, seq: 501),
            Step(orig: true, flags: Self.fin | Self.rst | Self.syn, seq: 101),
        ])
        #expect(c.history == "ShAIq")
        // Both reset and neither sent a byte of stream: Zeek's rule calls that REJ.
        #expect(c.state == .rej)
    }

    /// The originator's role: a first packet that is not a pure SYN, from a likely
    /// service port to one that is not, was sent by the responder.
    @Test func flippedOriginator() {
        #expect(TCPConnection.responderSentFirst(flags: Self.syn | Self.ack, sourcePort: 443, destinationPort: 51000))
        #expect(TCPConnection.responderSentFirst(flags: Self.ack, sourcePort: 80, destinationPort: 40000))
        #expect(!TCPConnection.responderSentFirst(flags: Self.syn, sourcePort: 443, destinationPort: 51000))
        #expect(!TCPConnection.responderSentFirst(flags: Self.syn | Self.ack, sourcePort: 40000, destinationPort: 50000))
        // Both likely: only without SYN, and from the lower port.
        #expect(TCPConnection.responderSentFirst(flags: Self.ack, sourcePort: 80, destinationPort: 443))
        #expect(!TCPConnection.responderSentFirst(flags: Self.ack, sourcePort: 443, destinationPort: 80))
        #expect(!TCPConnection.responderSentFirst(flags: Self.syn | Self.ack, sourcePort: 80, destinationPort: 443))

        // SYN-ACK first, from port 443: flipped, the client's ACK completes it.
        let flipped = Self.run([Step(orig: false, flags: Self.syn | Self.ack, seq: 500, ack: 101),
                                Step(orig: true, flags: Self.ack, seq: 101, ack: 501)], flipped: true)
        #expect(flipped.history == "^hA")
        #expect(flipped.state == .s1)
        // The same from ports Zeek knows nothing of: not flipped, and never established.
        let kept = Self.run([Step(orig: true, flags: Self.syn | Self.ack, seq: 500, ack: 101),
                             Step(orig: false, flags: Self.ack, seq: 101, ack: 501)])
        #expect(kept.history == "Ha")
        #expect(kept.state == .oth)
        // Midstream data from a server port.
        let midstream = Self.run([Step(orig: false, flags: Self.ack, seq: 9000, ack: 1000, length: 200),
                                  Step(orig: true, flags: Self.ack, seq: 1000, ack: 9200)], flipped: true)
        #expect(midstream.history == "^dA")
        #expect(midstream.state == .oth)
    }

    /// A SYN-ACK then a RST from the responder, no SYN: RSTRH.
    @Test func synAckThenRSTIsRSTRH() {
        let c = Self.run([Step(orig: false, flags: Self.syn | Self.ack, seq: 500, ack: 101),
                          Step(orig: false, flags: Self.rst, seq: 501)], flipped: true)
        #expect(c.history == "^hr")
        #expect(c.state == .rstrh)
    }

    /// SYNs with ever new sequence numbers add an S each, up to the cap.
    @Test func historyIsCapped() {
        var steps: [Step] = []
        for i in 0..<1000 { steps.append(Step(orig: true, flags: Self.syn, seq: UInt32(i) * 7919)) }
        let c = Self.run(steps)
        #expect(c.history == String(repeating: "S", count: TCPConnection.maximumHistory))
        #expect(c.state == .s0)
    }

    @Test func rstos0Pattern() {
        #expect(TCPConnection.isSYNThenRST("SR"))
        #expect(TCPConnection.isSYNThenRST("^SsR"))
        #expect(TCPConnection.isSYNThenRST("STTR"))
        #expect(!TCPConnection.isSYNThenRST("SAR"))
        #expect(TCPConnection.isSYNThenRST("ShR"))   // the class is case-sensitive: the responder's h is allowed
        #expect(!TCPConnection.isSYNThenRST("DR"))
        #expect(!TCPConnection.isSYNThenRST("S"))
    }

    @Test func readableWords() {
        #expect(ConnectionState.allCases.map(\.word) == ["attempt", "open", "closed", "rejected", "half-closed", "half-closed",
                                                         "reset", "reset", "reset", "reset", "half-closed", "half-closed",
                                                         "midstream"])
    }
}
