import Testing
@testable import Reassembly

/// gopacket 1.1.19 behaviours that look like bugs but are kept on purpose
/// (flowdb's port must deliver exactly what gopacket delivers).
@Suite struct GopacketQuirkTests {
    @Test func keepFromInsideLivePacketAlsoTrimsFollowingPages() {
        // gopacket carries the keep offset past the live packet onto the pages
        // delivered after it; kept bytes of those pages are lost.
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
        assembler.feed(Packet(seq: 1000, flags: .syn))
        assembler.feed(Packet(seq: 1011, payload: [11, 12, 13, 14]))
        stream.keep = 8
        assembler.feed(Packet(seq: 1001, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
        #expect(stream.deliveries.last == Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]))
        stream.keep = nil
        assembler.feed(Packet(seq: 1015, payload: [15]))
        // Kept: [9, 10] from the live packet, but the page [11…14] lost its first 8 (all 4) bytes
        // and moved to 1019, so the saved run no longer lines up and is dropped.
        #expect(stream.deliveries.last == Delivery(bytes: [15]))
        #expect(stream.saved.last == 0)
    }

    @Test func closingHalfRecyclesOnlyHeadOfQueue() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
        assembler.feed(Packet(seq: 1000, flags: .syn))
        assembler.feed(Packet(seq: 1010, payload: [1]))
        assembler.feed(Packet(seq: 1020, payload: [2]))
        assembler.feed(Packet(seq: 1001, flags: .rst))
        #expect(stream.deliveries.last == Delivery(bytes: [], end: true))
        #expect(assembler.pageStatistics.used == 1)
    }
}

/// Where gopacket 1.1.19 loses or repeats bytes, flowdb deliberately does not
/// (docs/gopacket.md, "Known deviations from gopacket"); each test shows the bytes surviving.
@Suite struct GopacketDeviationTests {
    /// gopacket adds one to the next sequence for a FIN that was queued, not
    /// delivered, when a page limit forces older data out: byte 6 was trimmed away
    /// and [7, 8, 9, 10] delivered without it. flowdb delivers byte 6.
    @Test func queuedFINForcedOutByPageLimitKeepsEveryByte() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream),
                                  options: AssemblerOptions(maxBufferedPagesPerConnection: 2))
        assembler.feed(Packet(seq: 1000, flags: .syn))
        assembler.feed(Packet(seq: 1005, payload: [5]))
        stream.deliveries = []
        assembler.feed(Packet(seq: 1010, flags: .fin, payload: [10]))
        #expect(stream.deliveries == [Delivery(bytes: [5], skip: 4)])
        assembler.feed(Packet(seq: 1006, payload: [6]))
        #expect(stream.deliveries == [Delivery(bytes: [5], skip: 4), Delivery(bytes: [6])])
        assembler.feed(Packet(seq: 1007, payload: [7, 8, 9]))
        #expect(stream.deliveries == [Delivery(bytes: [5], skip: 4), Delivery(bytes: [6]),
                                      Delivery(bytes: [7, 8, 9, 10], end: true)])
    }

    /// Distances across the 2^32 wrap are modular; gopacket's are one short
    /// (0xFFFF_FFFF to 0 is 0 there, 0xFFFF_FFF0 to 5 is 20).
    @Test func sequenceDifferenceAcrossWrapIsModular() {
        #expect(TCPSequence(0xFFFF_FFFF).difference(to: 0) == 1)
        #expect(TCPSequence(0xFFFF_FFF0).difference(to: 5) == 21)
        #expect(TCPSequence(5).difference(to: 0xFFFF_FFF0) == -21)
        #expect(TCPSequence(0xFFFF_FFFF).adding(1) == 0)
        #expect(TCPSequence(3).adding(-5) == 0xFFFF_FFFE)
        #expect(TCPSequence(1000).difference(to: 1004) == 4)
        // Every distance up to a quarter of the space, across the wrap both ways.
        for d in [1, 2, 255, 65_536, 0x3FFF_0000] {
            for base: UInt32 in [0xFFFF_FFFF, 0xFFFF_FF00, 0xC000_0001] {
                let a = TCPSequence(base), b = a.adding(d)
                #expect(a.difference(to: b) == d)
                #expect(b.difference(to: a) == -d)
            }
        }
    }
}
