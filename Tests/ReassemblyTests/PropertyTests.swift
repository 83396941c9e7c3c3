import Testing
@testable import Reassembly

/// Randomised checks: whatever the reordering, duplication and loss, delivered
/// bytes placed after their skips reproduce the original streams.
@Suite struct PropertyTests {
    /// One direction's original bytes and the packets that carry them.
    private struct Direction {
        var data: [UInt8]
        var isn: UInt32
        var packets: [Packet]
    }

    private static func makeDirection(_ rng: inout SplitMix64, srcPort: UInt16, dstPort: UInt16,
                                      synFlags: TCPFlags, isnRange: ClosedRange<UInt32>,
                                      maxLength: Int, maxSegment: Int, retransmit: Bool) -> Direction {
        let length = Int.random(in: 0...maxLength, using: &rng)
        let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let isn = UInt32.random(in: isnRange, using: &rng)
        func packet(_ range: Range<Int>, flags: TCPFlags) -> Packet {
            Packet(srcPort: srcPort, dstPort: dstPort, seq: isn &+ 1 &+ UInt32(range.lowerBound),
                   flags: flags, payload: Array(data[range]))
        }
        var packets: [Packet] = []
        var cuts: [Range<Int>] = []
        var position = 0
        while position < length {
            let size = Int.random(in: 1...maxSegment, using: &rng)
            let end = min(length, position + size)
            cuts.append(position..<end)
            position = end
        }
        // SYN, optionally carrying the first segment's bytes.
        var syn = Packet(srcPort: srcPort, dstPort: dstPort, seq: isn, flags: synFlags)
        if let first = cuts.first, Bool.random(using: &rng) {
            syn.payload = Array(data[first])
            cuts.removeFirst()
        }
        packets.append(syn)
        for (index, cut) in cuts.enumerated() {
            packets.append(packet(cut, flags: index == cuts.count - 1 ? [.ack, .fin] : .ack))
        }
        if cuts.isEmpty {
            packets.append(packet(length..<length, flags: [.ack, .fin]))
        }
        // Retransmissions re-cut at random over the same bytes (FIN only when reaching the end).
        let extra = length == 0 || !retransmit ? 0 : Int.random(in: 0...(cuts.count / 2 + 1), using: &rng)
        for _ in 0..<extra {
            let a = Int.random(in: 0..<length, using: &rng)
            let b = min(length, a + Int.random(in: 1...maxSegment, using: &rng))
            packets.append(packet(a..<b, flags: b == length ? [.ack, .fin] : .ack))
        }
        return Direction(data: data, isn: isn, packets: packets)
    }

    private struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Checks one direction's deliveries against its original bytes.
    private static func verify(_ deliveries: [Delivery], original: [UInt8], allowLoss: Bool) throws(Failure) {
        var position = 0
        var ended = false
        for (index, delivery) in deliveries.enumerated() {
            guard !ended else { throw Failure(description: "delivery #\(index) after end") }
            guard delivery.skip >= 0 else { throw Failure(description: "delivery #\(index) skip \(delivery.skip)") }
            if delivery.skip > 0 && !allowLoss {
                throw Failure(description: "delivery #\(index) skipped \(delivery.skip) without loss")
            }
            position += delivery.skip
            let end = position + delivery.bytes.count
            guard end <= original.count, Array(original[position..<end]) == delivery.bytes else {
                throw Failure(description: "delivery #\(index) bytes differ at \(position)..<\(end) of \(original.count)")
            }
            position = end
            ended = delivery.end
        }
        if !allowLoss && position != original.count {
            throw Failure(description: "only \(position) of \(original.count) bytes delivered")
        }
    }

    /// Runs one random case; returns a description of the first failure.
    private static func runCase(seed: UInt64, isnRange: ClosedRange<UInt32>, allowDisorder: Bool) -> String? {
        var rng = SplitMix64(seed: seed)
        let maxSegment = [8, 64, 1500, 4000].randomElement(using: &rng)!
        let maxLength = Int.random(in: 0...6000, using: &rng)
        let client = makeDirection(&rng, srcPort: 1234, dstPort: 80, synFlags: .syn, isnRange: isnRange,
                                   maxLength: maxLength, maxSegment: maxSegment, retransmit: allowDisorder)
        let server = makeDirection(&rng, srcPort: 80, dstPort: 1234, synFlags: [.syn, .ack], isnRange: isnRange,
                                   maxLength: maxLength, maxSegment: maxSegment, retransmit: allowDisorder)
        let lossRate = allowDisorder && Bool.random(using: &rng) ? Double.random(in: 0...0.3, using: &rng) : 0
        let duplicateRate = allowDisorder ? Double.random(in: 0...0.3, using: &rng) : 0
        var options = AssemblerOptions()
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: options.maxBufferedPagesPerConnection = Int.random(in: 1...8, using: &rng)
        case 1: options.maxBufferedPagesTotal = Int.random(in: 1...12, using: &rng)
        default: break
        }

        // Both SYNs first, then everything else mixed.
        var rest: [Packet] = []
        var lost = false
        for packet in client.packets.dropFirst() + server.packets.dropFirst() {
            if Double.random(in: 0..<1, using: &rng) < lossRate {
                lost = true
                continue
            }
            rest.append(packet)
            if Double.random(in: 0..<1, using: &rng) < duplicateRate {
                rest.append(packet)
            }
        }
        let limited = options.maxBufferedPagesPerConnection > 0 || options.maxBufferedPagesTotal > 0
        if allowDisorder {
            if Bool.random(using: &rng) {
                rest.shuffle(using: &rng)
            } else {
                // Local disorder: swap nearby packets.
                for index in rest.indices.dropLast() where Bool.random(using: &rng) {
                    rest.swapAt(index, min(rest.count - 1, index + Int.random(in: 1...3, using: &rng)))
                }
            }
        }
        // Extra bytes were carried by re-cut retransmissions; they may fill losses.
        let allowLoss = lost || allowDisorder && limited

        let log = StreamLog()
        let assembler = Assembler(factory: NewStreamFactory(log: log), options: options)
        assembler.feed(client.packets[0], clientPort: 1234)
        assembler.feed(server.packets[0], clientPort: 1234)
        for (index, packet) in rest.enumerated() {
            var stamped = packet
            stamped.timestamp = Int64(index + 1)
            assembler.feed(stamped, clientPort: 1234)
        }
        assembler.flushAll()

        // Duplicates arriving after both FINs open a fresh connection (as in gopacket);
        // only the first stream carries the original data.
        let stream = log.streams[0]
        guard log.streams.allSatisfy({ $0.completions == 1 }) else { return "a stream not completed once" }
        guard assembler.connectionCount == 0 else { return "connection left in pool" }
        guard assembler.pageStatistics.used == 0 else { return "\(assembler.pageStatistics.used) pages in use" }
        guard stream.deliveries.first?.start == true else { return "first delivery is not the SYN" }
        for (direction, original) in [(FlowDirection.clientToServer, client.data), (.serverToClient, server.data)] {
            let deliveries = zip(stream.deliveries, stream.directions).filter { $0.1 == direction }.map(\.0)
            do {
                try verify(deliveries, original: original, allowLoss: allowLoss)
            } catch {
                return "\(direction): \(error)"
            }
        }
        return nil
    }

    @Test func randomDisorderDuplicationAndLossReconstructStreams() {
        var failures: [String] = []
        for seed in UInt64(1)...400 {
            if let failure = Self.runCase(seed: seed, isnRange: 0...0xE000_0000, allowDisorder: true) {
                failures.append("seed \(seed): \(failure)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds, first: \(failures.prefix(5))")
    }

    @Test func inOrderStreamsAcrossSequenceWrapReconstruct() {
        var failures: [String] = []
        for seed in UInt64(1_000)...1_100 {
            if let failure = Self.runCase(seed: seed, isnRange: 0xFFFF_F000...0xFFFF_FFFF, allowDisorder: false) {
                failures.append("seed \(seed): \(failure)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds, first: \(failures.prefix(5))")
    }
}
