import Testing
@testable import Reassembly

/// Ports of the scenarios of gopacket 1.1.19 reassembly/tcpassembly_test.go.
/// Each gopacket delivery list is written merged, as gopacket's driver compares it.
@Suite struct GopacketAssemblyTests {
    @Test func reorderWithoutSYNFlushesAtPageLimitWithUnknownSkip() {
        runSteps([
            Step(Packet(seq: 1001, payload: [1, 2, 3])),
            Step(Packet(seq: 1004, payload: [4, 5, 6])),
            Step(Packet(seq: 1010, payload: [10, 11, 12])),
            Step(Packet(seq: 1007, payload: [7, 8, 9]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], skip: -1)]),
            Step(Packet(seq: 1016, payload: [2, 2, 3])),
            Step(Packet(seq: 1019, payload: [3, 2, 3])),
            Step(Packet(seq: 1013, payload: [1, 2, 3]),
                 [Delivery(bytes: [1, 2, 3, 2, 2, 3, 3, 2, 3])]),
        ])
    }

    @Test func maxPagesPerConnectionForcesSkipOverGap() {
        runSteps([
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3]), [Delivery(bytes: [1, 2, 3], start: true)]),
            Step(Packet(seq: 1007, payload: [3, 2, 3])),
            Step(Packet(seq: 1010, payload: [4, 2, 3])),
            Step(Packet(seq: 1013, payload: [5, 2, 3])),
            Step(Packet(seq: 1016, payload: [6, 2, 3]),
                 [Delivery(bytes: [3, 2, 3, 4, 2, 3, 5, 2, 3, 6, 2, 3], skip: 3)]),
        ])
    }

    @Test func reorderFastFillsGapAndAppendsQueued() {
        runSteps([
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3]), [Delivery(bytes: [1, 2, 3], start: true)]),
            Step(Packet(seq: 1007, payload: [3, 2, 3])),
            Step(Packet(seq: 1004, payload: [2, 2, 3]), [Delivery(bytes: [2, 2, 3, 3, 2, 3])]),
        ])
    }

    @Test func overlapWithDeliveredDataIsTrimmed() {
        runSteps([
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0], start: true)]),
            Step(Packet(seq: 1007, payload: [7, 8, 9, 0, 1, 2, 3, 4, 5]), [Delivery(bytes: [1, 2, 3, 4, 5])]),
            Step(Packet(seq: 1010, payload: [0, 1, 2, 3, 4, 5, 6, 7]), [Delivery(bytes: [6, 7])]),
        ])
    }

    @Test func bufferedOverlapTrimsQueuedPagesAgainstLivePacket() {
        runSteps([
            Step(Packet(seq: 1007, payload: [7, 8, 9, 0, 1, 2, 3, 4, 5])),
            Step(Packet(seq: 1010, payload: [0, 1, 2, 3, 4, 5, 6, 7])),
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7], start: true)]),
        ])
    }

    @Test func bufferedOverlapCase6OverwritesInsideQueuedPage() {
        runSteps([
            Step(Packet(seq: 1007, payload: [7, 8, 9, 0, 1, 2, 3, 4, 5])),
            Step(Packet(seq: 1007, payload: [7, 8, 9, 10, 11, 12, 13, 14])),
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 11, 12, 13, 14, 5], start: true)]),
        ])
    }

    @Test func bufferedOverlapExistingDeliversOnlyNewTail() {
        runSteps([
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7], start: true)]),
            Step(Packet(seq: 1005, payload: [5, 6, 7, 8, 9, 10]), [Delivery(bytes: [8, 9, 10])]),
        ])
    }

    @Test func bufferedOverlapReemitOfDeliveredBytesIsSilent() {
        runSteps([
            Step(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7], start: true)]),
            Step(Packet(seq: 1003, payload: [3, 4, 5])),
        ])
    }

    @Test func reorderRetransmissionReplacesQueuedDuplicate() {
        runSteps([
            Step(Packet(seq: 1001, payload: [1, 2, 3])),
            Step(Packet(seq: 1007, payload: [2, 2, 3])),
            Step(Packet(seq: 1007, payload: [2, 2, 3])),
            Step(Packet(seq: 1010, payload: [10, 11])),
            Step(Packet(seq: 1004, payload: [6, 6, 6, 2, 2]),
                 [Delivery(bytes: [1, 2, 3, 6, 6, 6, 2, 2, 3, 10, 11], skip: -1)]),
        ])
    }

    @Test func overrunSYNAtLastSequenceWrapsToZero() {
        runSteps([
            Step(Packet(seq: 0xFFFF_FFFF, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0], start: true)]),
            Step(Packet(seq: 10, payload: [1, 2, 3, 4]), [Delivery(bytes: [1, 2, 3, 4])]),
        ])
    }

    @Test func overrunQueuedDataAfterWrapDeliveredBehindSYN() {
        runSteps([
            Step(Packet(seq: 10, payload: [1, 2, 3, 4])),
            Step(Packet(seq: 0xFFFF_FFFF, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                 [Delivery(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4], start: true)]),
        ])
    }

    @Test func largeQueuedPacketIsSplitIntoPagesAndDeliveredWhole() {
        let data = patternBytes(pageSize * 3)
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream),
                                  options: AssemblerOptions(maxBufferedPagesPerConnection: 4))
        assembler.feed(Packet(seq: 1001, payload: data))
        #expect(stream.deliveries.isEmpty)
        #expect(assembler.pageStatistics.used == 3)
        assembler.feed(Packet(seq: 1000, flags: .syn))
        #expect(stream.deliveries == [Delivery(bytes: data, start: true)])
        // Live SYN + three pages, of which only the first starts a packet.
        #expect(stream.stats == [ReassemblyStats(chunks: 4, packets: 2, queuedBytes: pageSize * 3, queuedPackets: 1)])
        #expect(assembler.pageStatistics.used == 0)
    }

    @Test func bufferedOverlapStatsCountDroppedPages() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream),
                                  options: AssemblerOptions(maxBufferedPagesPerConnection: 4))
        assembler.feed(Packet(seq: 1007, payload: [7, 8, 9, 0, 1, 2, 3, 4, 5]))
        assembler.feed(Packet(seq: 1010, payload: [0, 1, 2, 3, 4, 5, 6, 7]))
        assembler.feed(Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]))
        // The first queued packet is cut to 3 bytes, then dropped entirely by the SYN packet.
        #expect(stream.stats == [ReassemblyStats(chunks: 2, packets: 2, queuedBytes: 17, queuedPackets: 2,
                                                 overlapBytes: 3, overlapPackets: 1)])
        #expect(stream.saved == [0])
    }

    // MARK: TestFlush

    private func runFlush(_ steps: [Step], delay: Int64, flushOlderThan: Int64,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream),
                                  options: AssemblerOptions(maxBufferedPagesPerConnection: 10))
        let clientPort = steps[0].packet.srcPort
        var now: Int64 = 0
        for (index, step) in steps.enumerated() {
            stream.deliveries = []
            var packet = step.packet
            packet.timestamp = now
            assembler.feed(packet, clientPort: clientPort)
            now += delay
            assembler.flushCloseOlderThan(now - flushOlderThan)
            #expect(stream.deliveries == step.want, "step \(index)", sourceLocation: sourceLocation)
        }
    }

    private static let ms: Int64 = 1_000_000

    @Test func flushDeliversQueuedDataOlderThanInterval() {
        runFlush([
            Step(Packet(seq: 1001, payload: [1, 2, 3]), [Delivery(bytes: [1, 2, 3], skip: -1)]),
            Step(Packet(seq: 1010, payload: [4, 5, 6, 7]), [Delivery(bytes: [4, 5, 6, 7], skip: -1)]),
        ], delay: 50 * Self.ms, flushOlderThan: 40 * Self.ms)
    }

    @Test func flushTwoWayStreamFlushesEachHalfWhenOld() {
        runFlush([
            Step(Packet(seq: 1001, payload: [1, 2, 3])),
            Step(Packet(srcPort: 2, dstPort: 1, seq: 890, payload: [11, 22, 33]),
                 [Delivery(bytes: [1, 2, 3], skip: -1)]),
            Step(Packet(srcPort: 2, dstPort: 1, seq: 893, payload: [44, 55, 66, 77]),
                 [Delivery(bytes: [11, 22, 33, 44, 55, 66, 77], skip: -1)]),
            Step(Packet(seq: 1004, payload: [8, 9]), [Delivery(bytes: [8, 9])]),
        ], delay: 50 * Self.ms, flushOlderThan: 99 * Self.ms)
    }

    @Test func flushLateRSTClosesHalfWhenFlushed() {
        runFlush([
            Step(Packet(seq: 1005, payload: [5, 6, 7])),
            Step(Packet(seq: 1001, flags: .rst, payload: [1, 2, 3])),
            Step(Packet(seq: 1010, payload: [10, 11, 12]), [Delivery(bytes: [1, 2, 3], end: true, skip: -1)]),
        ], delay: 40 * Self.ms, flushOlderThan: 50 * Self.ms)
    }

    @Test func flushWithOptionsFlushesWithoutClosingWhenTCIsNever() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
        assembler.feed(Packet(seq: 1000, flags: .syn, timestamp: 0))
        assembler.feed(Packet(seq: 1005, payload: [5, 6], timestamp: 10))
        var result = assembler.flush(olderThan: 5, closeOlderThan: nil)
        #expect(result.flushed == 0 && result.closed == 0)
        result = assembler.flush(olderThan: 11, closeOlderThan: nil)
        #expect(result.flushed == 1 && result.closed == 0)
        #expect(stream.deliveries.last == Delivery(bytes: [5, 6], skip: 4))
        #expect(assembler.connectionCount == 1)
        result = assembler.flush(olderThan: nil, closeOlderThan: 11)
        #expect(result.flushed == 0 && result.closed == 2)
        #expect(stream.completions == 1)
        #expect(assembler.connectionCount == 0)
    }

    // MARK: TestKeep…

    private struct KeepStep {
        var packet: Packet
        var keep = 0
        var want: [UInt8] = []
        var skipped = 0
        var flush = false
    }

    /// gopacket's `testKeep()`: the stream always calls keepFrom(keep); the last
    /// seen skip carries over to steps without a delivery.
    private func runKeep(_ steps: [KeepStep], sourceLocation: SourceLocation = #_sourceLocation)
        -> (RecordingStream, Assembler<SharedStreamFactory>) {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream),
                                  options: AssemblerOptions(maxBufferedPagesPerConnection: 4))
        var lastSkip = 0
        for (index, step) in steps.enumerated() {
            stream.keep = step.keep
            stream.deliveries = []
            assembler.feed(step.packet, clientPort: steps[0].packet.srcPort)
            let bytes = stream.deliveries.last?.bytes ?? []
            if let skip = stream.deliveries.last?.skip { lastSkip = skip }
            #expect(bytes == step.want, "step \(index)", sourceLocation: sourceLocation)
            #expect(lastSkip == step.skipped, "step \(index)", sourceLocation: sourceLocation)
            if step.flush {
                assembler.flushAll()
            }
        }
        return (stream, assembler)
    }

    @Test func keepFromZeroOnChunkBoundaryRedeliversEverything() {
        _ = runKeep([
            KeepStep(packet: Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                     want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
            KeepStep(packet: Packet(seq: 1007, payload: [7, 8, 9, 0, 1, 2, 3, 4, 5]),
                     want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]),
        ])
    }

    @Test func keepFromInsideLivePacketCopiesItsTail() {
        let (stream, _) = runKeep([
            KeepStep(packet: Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
                     keep: 1, want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]),
            KeepStep(packet: Packet(seq: 1007, payload: [7, 8, 9, 0, 1, 2, 3, 4, 5]),
                     want: [2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]),
        ])
        #expect(stream.saved == [0, 9])
    }

    @Test func keepFromInsideAlreadyKeptData() {
        _ = runKeep([
            KeepStep(packet: Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10]),
                     keep: 0, want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10]),
            KeepStep(packet: Packet(seq: 1007, payload: [7, 8, 9, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15]),
                     keep: 11, want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15]),
            KeepStep(packet: Packet(seq: 1016, payload: [0x16, 0x17, 0x18]),
                     want: [0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]),
        ])
    }

    @Test func keepLongerAccumulatesAcrossDeliveries() {
        _ = runKeep([
            KeepStep(packet: Packet(seq: 1000, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
                     want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            KeepStep(packet: Packet(seq: 1007, payload: [7, 8, 9, 10, 11, 12, 13, 14, 15]),
                     want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
            KeepStep(packet: Packet(seq: 1010, payload: [10, 11, 12, 13, 14, 15, 16, 17]),
                     want: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]),
        ])
    }

    @Test func keepWithPageLimitDropsNonContiguousSavedPages() {
        _ = runKeep([
            KeepStep(packet: Packet(seq: 1000, flags: .syn, payload: [1]), keep: 1, want: [1]),
            KeepStep(packet: Packet(seq: 1003, payload: [3])),
            KeepStep(packet: Packet(seq: 1004, payload: [4])),
            KeepStep(packet: Packet(seq: 1006, payload: [6])),
            KeepStep(packet: Packet(seq: 1008, payload: [8]), want: [3, 4], skipped: 1),
            KeepStep(packet: Packet(seq: 1010, payload: [10]), want: [6], skipped: 1),
            KeepStep(packet: Packet(seq: 1012, payload: [12]), want: [8], skipped: 1),
        ])
    }

    @Test func keepWithOutOfOrderMultiPagePacketAndManualFlush() {
        var generator = SplitMix64(seed: 0x5EED)
        let payload = (0..<(pageSize + 1)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let (stream, assembler) = runKeep([
            KeepStep(packet: Packet(seq: 1001, payload: payload)),
            KeepStep(packet: Packet(seq: 1000, payload: [1]), keep: pageSize, flush: true),
        ])
        #expect(stream.deliveries == [Delivery(bytes: [1] + payload, skip: -1)])
        #expect(stream.completions == 1)
        // gopacket does not recycle saved pages when a half closes: the two kept
        // pages stay counted as used.
        #expect(assembler.pageStatistics.used == 2)
    }

    // MARK: TestMemoryShrink, TestFullyOrderedAndCompleteStreamDoesNotAlloc

    @Test func pageCacheGrowsThenShrinks() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
        #expect(assembler.pageStatistics == (0, 1024, 1024))
        var packet = Packet(seq: 999, flags: .syn, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0])
        for _ in 0..<1050 {
            assembler.feed(packet)
            if packet.flags.contains(.syn) {
                packet.flags = []
                packet.seq += 2
            }
            packet.seq += 10
        }
        #expect(assembler.pageStatistics == (1049, 2023, 3072))
        assembler.flushAll()
        #expect(assembler.pageStatistics == (0, 3072, 3072))
        for i in 0..<2100 {
            assembler.feed(packet)
            if i % 50 == 0 {
                assembler.flushAll()
            }
            packet.seq += 10
        }
        #expect(assembler.pageStatistics == (49, 2022, 2071))
    }

    @Test func fullyOrderedStreamNeverTouchesPageCache() {
        final class CountingStream: Stream {
            var bytes = 0
            func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                        nextSequence: TCPSequence?, start: inout Bool) -> Bool { true }
            func reassembled(_ sg: ScatterGather, context: CaptureInfo?) { bytes += sg.lengths().available }
            func reassemblyComplete(context: CaptureInfo?) -> Bool { true }
        }
        struct Factory: StreamFactory {
            let stream: CountingStream
            func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> CountingStream { stream }
        }
        let stream = CountingStream()
        let assembler = Assembler(factory: Factory(stream: stream))
        let data: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
        var c2s = Packet(srcPort: 1, dstPort: 2, seq: 0, flags: .syn, payload: data, timestamp: 1_432_538_521_590_387_000)
        var s2c = Packet(srcPort: 2, dstPort: 1, seq: 0, flags: [.syn, .ack], payload: data, timestamp: c2s.timestamp)
        assembler.feed(c2s, clientPort: 1)
        assembler.feed(s2c, clientPort: 1)
        c2s.flags = .ack
        s2c.flags = .ack
        c2s.seq += 1
        s2c.seq += 1
        let rounds = 1000
        for _ in 0..<rounds {
            c2s.seq += 10
            s2c.seq += 10
            c2s.ack += 10
            s2c.ack += 10
            assembler.feed(c2s, clientPort: 1)
            assembler.feed(s2c, clientPort: 1)
        }
        #expect(stream.bytes == 10 * 2 * (rounds + 1))
        #expect(assembler.pageStatistics == (0, 1024, 1024))
    }

    // MARK: TestReassemblyObjectCaptureInfo (flowdb: every offset answers)

    @Test func captureInfoOfSavedPageAndLivePacket() {
        // gopacket builds a page then a live packet by hand; we do the same.
        let sg = ScatterGather()
        let page = Page()
        page.count = 10
        page.isPacketHead = true
        page.captureInfo = CaptureInfo(interfaceIndex: 1203)
        let bytes = [UInt8](repeating: 0x31, count: 10)
        bytes.withUnsafeBytes { live in
            sg.live = LiveSegment(bytes: live, seq: 0, captureInfo: CaptureInfo(interfaceIndex: 794_598_214))
            sg.chunks = [.page(page), .live]
            let cases: [(Int, Int)] = [(-1, 0), (0, 1203), (5, 1203), (10, 794_598_214), (19, 794_598_214),
                                       (20, 0), (1_000_000, 0)]
            for (offset, expected) in cases {
                #expect(sg.captureInfo(at: offset) == CaptureInfo(interfaceIndex: expected), "offset \(offset)")
            }
        }
    }

    @Test func captureInfoThroughAssemblerWithKeptBytes() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
        stream.keep = 0
        assembler.feed(Packet(seq: 999, flags: .syn, payload: patternBytes(10), interfaceIndex: 1203))
        stream.keep = nil
        var answers: [Int] = []
        stream.onDeliver = { sg in
            for offset in [-1, 0, 5, 10, 19, 20, 1_000_000] {
                answers.append(sg.captureInfo(at: offset).interfaceIndex)
            }
        }
        assembler.feed(Packet(seq: 1010, payload: patternBytes(10), interfaceIndex: 794_598_214))
        #expect(answers == [0, 1203, 1203, 794_598_214, 794_598_214, 0, 0])
        #expect(stream.saved == [0, 10])
    }

    @Test func captureInfoCoversEveryPageOfSplitPacket() {
        let stream = RecordingStream()
        let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
        let big = patternBytes(2 * pageSize + 100)
        assembler.feed(Packet(seq: 101, payload: big, timestamp: 7, interfaceIndex: 42))
        var mismatches = 0
        var chunkBytes: [UInt8] = []
        var chunkCount = 0
        stream.onDeliver = { sg in
            for offset in 0..<big.count where sg.captureInfo(at: offset).interfaceIndex != 42 {
                mismatches += 1
            }
            #expect(sg.captureInfo(at: big.count) == CaptureInfo())
            sg.forEachChunk { piece in
                chunkBytes.append(contentsOf: piece)
                chunkCount += 1
            }
        }
        assembler.feed(Packet(seq: 100, flags: .syn, interfaceIndex: 1))
        #expect(mismatches == 0)
        #expect(chunkBytes == big)
        #expect(chunkCount == 4)  // empty SYN + 3 pages
        #expect(stream.deliveries == [Delivery(bytes: big, start: true)])
    }
}
