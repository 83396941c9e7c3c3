import Testing
@testable import Reassembly

/// flowdb deviation: a SYN without ACK reaching a connection with a closed
/// half ends that connection and starts a new stream (gopacket drops it).
@Suite struct PortReuseTests {
    private func handshake(_ assembler: Assembler<NewStreamFactory>, clientISN: UInt32, serverISN: UInt32) {
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: clientISN, flags: .syn), clientPort: 4000)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: serverISN, ack: clientISN + 1, flags: [.syn, .ack]),
                       clientPort: 4000)
    }

    @Test func reconnectAfterClientRSTStartsNewStream() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, ack: 501, flags: .ack, payload: [1, 2, 3]),
                       clientPort: 4000)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 104, flags: .rst), clientPort: 4000)
        #expect(log.streams.count == 1)
        let old = log.streams[0]
        #expect(old.completions == 0)

        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 9000, flags: .syn), clientPort: 4000)
        #expect(log.streams.count == 2)
        #expect(old.completions == 1)
        #expect(assembler.connectionCount == 1)
        let new = log.streams[1]
        #expect(log.keys[1] == log.keys[0])
        #expect(new.deliveries == [Delivery(bytes: [], start: true)])

        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 9001, flags: .ack, payload: [7, 8]), clientPort: 4000)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 7000, ack: 9001, flags: [.syn, .ack]), clientPort: 4000)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 7001, ack: 9003, flags: .ack, payload: [9]),
                       clientPort: 4000)
        #expect(new.deliveries == [
            Delivery(bytes: [], start: true), Delivery(bytes: [7, 8]),
            Delivery(bytes: [], start: true), Delivery(bytes: [9]),
        ])
        #expect(new.directions == [.clientToServer, .clientToServer, .serverToClient, .serverToClient])
        #expect(old.deliveries == [
            Delivery(bytes: [], start: true), Delivery(bytes: [], start: true),
            Delivery(bytes: [1, 2, 3]), Delivery(bytes: [], end: true),
        ])
        #expect(assembler.pageStatistics.used == 0)
    }

    @Test func retiredConnectionDeliversQueuedDataBeforeCompleting() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        // Server data with a gap stays queued; then the client resets.
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 511, ack: 101, flags: .ack, payload: [5, 5]),
                       clientPort: 4000)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 520, ack: 101, flags: .ack, payload: [6]),
                       clientPort: 4000)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, flags: .rst), clientPort: 4000)
        #expect(assembler.pageStatistics.used == 2)
        let old = log.streams[0]
        old.deliveries = []
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 3000, flags: .syn), clientPort: 4000)
        // Delivered as flushAll would: each queued run with its skip, then completion.
        #expect(old.deliveries == [Delivery(bytes: [5, 5], skip: 10), Delivery(bytes: [6], skip: 7)])
        #expect(old.completions == 1)
        #expect(log.streams.count == 2)
        #expect(assembler.pageStatistics.used == 0)
    }

    @Test func synAckOnClosedHalfIsStillDroppedLikeGopacket() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 501, flags: .rst), clientPort: 4000)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 800, ack: 101, flags: [.syn, .ack]), clientPort: 4000)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, ack: 801, flags: .ack, payload: [1]),
                       clientPort: 4000)
        #expect(log.streams.count == 1)
        #expect(log.streams[0].deliveries.last == Delivery(bytes: [1]))
    }

    @Test func dataOnClosedHalfWithoutSYNIsDroppedLikeGopacket() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, flags: .rst), clientPort: 4000)
        let before = log.streams[0].deliveries.count
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, flags: .ack, payload: [1, 2]), clientPort: 4000)
        #expect(log.streams.count == 1)
        #expect(log.streams[0].deliveries.count == before)
        #expect(log.streams[0].accepted == 4)  // accept still sees packets of a closed half
    }

    @Test func reconnectWhenOldStreamKeptAfterCompletionDoesNotCompleteTwice() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        log.streams[0].completeResult = false
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, flags: [.fin, .ack]), clientPort: 4000)
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 501, flags: [.fin, .ack]), clientPort: 4000)
        #expect(log.streams[0].completions == 1)
        #expect(assembler.connectionCount == 1)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 200, flags: .syn), clientPort: 4000)
        #expect(log.streams[0].completions == 1)
        #expect(log.streams.count == 2)
        #expect(assembler.connectionCount == 1)
        #expect(log.streams[1].deliveries == [Delivery(bytes: [], start: true)])
    }

    @Test func reconnectFromTheOtherEndUsesTheNewSYNOrientation() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 101, flags: .rst), clientPort: 4000)
        // The former server opens a connection to the same port pair.
        assembler.feed(Packet(srcPort: 80, dstPort: 4000, seq: 50, flags: .syn), clientPort: 4000)
        #expect(log.streams.count == 2)
        #expect(log.streams[0].completions == 1)
        #expect(log.keys[1] == log.keys[0].reversed)
        #expect(log.streams[1].directions == [.clientToServer])
    }

    @Test func retransmittedSYNOnOpenConnectionIsNotReuse() {
        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log))
        handshake(assembler, clientISN: 100, serverISN: 500)
        assembler.feed(Packet(srcPort: 4000, dstPort: 80, seq: 100, flags: .syn), clientPort: 4000)
        #expect(log.streams.count == 1)
        // gopacket delivers a retransmitted SYN as an empty start delivery.
        #expect(log.streams[0].deliveries.last == Delivery(bytes: [], start: true))
    }
}
