import Testing
@testable import Reassembly

/// The DNS-over-TCP exchange used by gopacket's FSM tests. Payload contents do
/// not matter to the state machine; lengths match the originals.
private enum DNSFlow {
    static let query: [UInt8] = [0, 31, 104, 196, 0, 32, 0, 1, 0, 0, 0, 0, 0, 1, 2, 85, 83, 0, 0, 6, 0, 1, 0, 0,
                                 41, 16, 0, 0, 0, 128, 0, 0, 0]
    static let answer1 = patternBytes(1460, seed: 8)
    static let answer2 = patternBytes(723, seed: 153)

    static func at(_ seconds: Int64, _ nanos: Int64) -> Int64 { seconds * 1_000_000_000 + nanos }

    static let syn = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_116, flags: .syn,
                            timestamp: at(1_432_538_521, 566_690_000))
    static let synAck = Packet(srcPort: 53, dstPort: 54842, seq: 3_465_787_765, ack: 374_511_117, flags: [.syn, .ack],
                               timestamp: at(1_432_538_521, 590_332_000))
    static let ack = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_117, ack: 3_465_787_766, flags: .ack,
                            timestamp: at(1_432_538_521, 590_346_000))
    static let queryPacket = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_117, ack: 3_465_787_766, flags: .ack,
                                    payload: query, timestamp: at(1_432_538_521, 590_387_000))
    static let serverAck = Packet(srcPort: 53, dstPort: 54842, seq: 3_465_787_766, ack: 374_511_150, flags: .ack,
                                  timestamp: at(1_432_538_521, 613_687_000))
    static let answer1Packet = Packet(srcPort: 53, dstPort: 54842, seq: 3_465_787_766, ack: 374_511_150, flags: .ack,
                                      payload: answer1, timestamp: at(1_432_538_521, 621_198_000))
    static let clientAck1 = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_150, ack: 3_465_789_226, flags: .ack,
                                   timestamp: at(1_432_538_521, 621_220_000))
    static let answer2Packet = Packet(srcPort: 53, dstPort: 54842, seq: 3_465_789_226, ack: 374_511_150, flags: .ack,
                                      payload: answer2, timestamp: at(1_432_538_521, 622_508_000))
    static let clientAck2 = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_150, ack: 3_465_789_949, flags: .ack,
                                   timestamp: at(1_432_538_521, 622_531_000))
    static let clientFin = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_150, ack: 3_465_789_949, flags: [.ack, .fin],
                                  timestamp: at(1_432_538_521, 622_907_000))
    static let serverFin = Packet(srcPort: 53, dstPort: 54842, seq: 3_465_789_949, ack: 374_511_151, flags: [.ack, .fin],
                                  timestamp: at(1_432_538_521, 652_784_000))
    static let lastAck = Packet(srcPort: 54842, dstPort: 53, seq: 374_511_151, ack: 3_465_789_950, flags: .ack,
                                timestamp: at(1_432_538_521, 652_809_000))
}

private func direction(of packet: Packet, clientPort: UInt16) -> FlowDirection {
    packet.srcPort == clientPort ? .clientToServer : .serverToClient
}

/// gopacket's `testCheckFSM`: feeds packets straight to the state machine.
private func checkFSM(_ options: TCPSimpleFSM.Options, _ steps: [(Packet, Bool)],
                      sourceLocation: SourceLocation = #_sourceLocation) {
    var fsm = TCPSimpleFSM(options: options)
    let clientPort = steps[0].0.srcPort
    for (index, (packet, expected)) in steps.enumerated() {
        let result = packet.withSegment { fsm.checkState($0, direction: direction(of: packet, clientPort: clientPort)) }
        #expect(result == expected, "#\(index) state \(fsm.state)", sourceLocation: sourceLocation)
    }
}

/// gopacket's `testFSM`: the state machine runs inside `accept` of a stream
/// that never asks to be removed; counts accepted packets.
private func assembleFSM(_ steps: [(Packet, Int)], sourceLocation: SourceLocation = #_sourceLocation) {
    let stream = RecordingStream()
    stream.completeResult = false
    var fsm = TCPSimpleFSM()
    stream.acceptHandler = { segment, direction, _, _ in fsm.checkState(segment, direction: direction) }
    let assembler = Assembler(factory: SharedStreamFactory(stream: stream))
    let clientPort = steps[0].0.srcPort
    for (index, (packet, accepted)) in steps.enumerated() {
        assembler.feed(packet, clientPort: clientPort)
        #expect(stream.accepted == accepted, "#\(index)", sourceLocation: sourceLocation)
    }
}

@Suite struct GopacketCheckTests {
    @Test func fsmThroughAssemblerNormalFlow() {
        assembleFSM([
            (DNSFlow.syn, 1), (DNSFlow.synAck, 2), (DNSFlow.ack, 3), (DNSFlow.queryPacket, 4),
            (DNSFlow.serverAck, 5), (DNSFlow.answer1Packet, 6), (DNSFlow.clientAck1, 7),
            (DNSFlow.answer2Packet, 8), (DNSFlow.clientAck2, 9), (DNSFlow.clientFin, 10),
            (DNSFlow.serverFin, 11), (DNSFlow.lastAck, 12),
        ])
    }

    @Test func fsmThroughAssemblerEarlyRST() {
        var rst = DNSFlow.ack
        rst.flags = .rst
        assembleFSM([
            (DNSFlow.syn, 1), (DNSFlow.synAck, 2), (rst, 3), (DNSFlow.queryPacket, 3), (DNSFlow.serverAck, 3),
        ])
    }

    @Test func fsmThroughAssemblerEstablishedThenRST() {
        var rst = DNSFlow.serverAck
        rst.flags = .rst
        assembleFSM([
            (DNSFlow.syn, 1), (DNSFlow.synAck, 2), (DNSFlow.ack, 3), (DNSFlow.queryPacket, 4),
            (rst, 5), (DNSFlow.answer1Packet, 5), (DNSFlow.clientAck1, 5),
        ])
    }

    @Test func fsmThroughAssemblerMissingSYNACK() {
        assembleFSM([(DNSFlow.syn, 1), (DNSFlow.ack, 1), (DNSFlow.queryPacket, 1)])
    }

    @Test func checkFSMNormalFlow() {
        checkFSM(.init(), [
            (DNSFlow.syn, true), (DNSFlow.synAck, true), (DNSFlow.ack, true), (DNSFlow.queryPacket, true),
            (DNSFlow.serverAck, true), (DNSFlow.answer1Packet, true), (DNSFlow.clientAck1, true),
        ])
    }

    @Test func checkFSMMissingSYNACK() {
        checkFSM(.init(), [(DNSFlow.syn, true), (DNSFlow.ack, false), (DNSFlow.queryPacket, false)])
    }

    @Test(arguments: [false, true])
    func checkFSMMissingSYNDependsOnOption(_ supportMissing: Bool) {
        checkFSM(.init(supportMissingEstablishment: supportMissing), [
            (Packet(srcPort: 54842, dstPort: 53, seq: 12, ack: 1012, flags: .ack, payload: [1]), supportMissing),
            (Packet(srcPort: 53, dstPort: 54842, seq: 1012, ack: 13, flags: .ack, payload: [2]), supportMissing),
            (Packet(srcPort: 53, dstPort: 54842, seq: 1013, ack: 13, flags: .ack, payload: [3]), supportMissing),
        ])
    }

    private func checkOptions(_ steps: [(FlowDirection, TCPSequence?, Packet, Bool)],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        var check = TCPOptionCheck()
        for (index, (direction, next, packet, expected)) in steps.enumerated() {
            var start = false
            let accepted = packet.withSegment { segment in
                do {
                    try check.accept(segment, captureInfo: packet.captureInfo, direction: direction,
                                     nextSequence: next, start: &start)
                    return true
                } catch {
                    return false
                }
            }
            #expect(accepted == expected, "#\(index)", sourceLocation: sourceLocation)
        }
    }

    @Test func checkOptionsSimpleValidFlow() {
        checkOptions([
            (.clientToServer, nil, Packet(srcPort: 35721, dstPort: 80, seq: 374_511_116, payload: [1, 2, 3]), true),
            (.serverToClient, nil, Packet(srcPort: 53, dstPort: 54842, seq: 3_465_787_765, ack: 374_511_119), true),
            (.clientToServer, 374_511_119, Packet(srcPort: 54842, dstPort: 53, seq: 374_511_119, ack: 3_465_787_766,
                                                  flags: .ack, payload: [2, 3, 4]), true),
        ])
    }

    @Test func checkOptionsAckBeforeDataAndRetransmission() {
        checkOptions([
            (.serverToClient, nil, Packet(srcPort: 53, dstPort: 54842, seq: 3_465_787_765, ack: 374_511_119), true),
            (.clientToServer, 37_451_116, Packet(srcPort: 35721, dstPort: 80, seq: 374_511_116, payload: [1, 2, 3]), true),
            (.clientToServer, 374_511_119, Packet(srcPort: 54842, dstPort: 53, seq: 374_511_119, ack: 3_465_787_766,
                                                  flags: .ack, payload: [2, 3, 4]), true),
            (.clientToServer, 374_511_122, Packet(srcPort: 54842, dstPort: 53, seq: 374_511_132, ack: 3_465_787_766,
                                                  flags: .ack, payload: [22, 33, 44]), true),
            (.clientToServer, 374_511_132, Packet(srcPort: 54842, dstPort: 53, seq: 374_511_119, ack: 3_465_787_766,
                                                  flags: .ack, payload: [2, 3, 4]), false),
        ])
    }

    @Test func checkOptionsEnforcesMSSAndWindowAnnouncedBySYN() {
        // Server announces MSS 4 (kind 2) after a NOP; client announces no window scale.
        let serverSyn = Packet(srcPort: 80, dstPort: 1000, seq: 5000, flags: [.syn, .ack], window: 10,
                               options: [1, 2, 4, 0, 4, 0])
        var check = TCPOptionCheck()
        var start = false
        serverSyn.withSegment { segment in
            #expect(throws: Never.self) {
                try check.accept(segment, captureInfo: CaptureInfo(), direction: .serverToClient,
                                 nextSequence: nil, start: &start)
            }
        }
        let tooBig = Packet(srcPort: 1000, dstPort: 80, seq: 100, flags: .ack, payload: [1, 2, 3, 4, 5])
        tooBig.withSegment { segment in
            #expect(throws: TCPOptionCheck.Violation.exceedsMSS(length: 5, mss: 4)) {
                try check.accept(segment, captureInfo: CaptureInfo(), direction: .clientToServer,
                                 nextSequence: 100, start: &start)
            }
        }
        let beyondWindow = Packet(srcPort: 1000, dstPort: 80, seq: 111, flags: .ack, payload: [1])
        beyondWindow.withSegment { segment in
            #expect(throws: TCPOptionCheck.Violation.exceedsReceiveWindow(difference: 11, window: 10)) {
                try check.accept(segment, captureInfo: CaptureInfo(), direction: .clientToServer,
                                 nextSequence: 100, start: &start)
            }
        }
        let keepAlive = Packet(srcPort: 1000, dstPort: 80, seq: 99, flags: .ack, payload: [0])
        keepAlive.withSegment { segment in
            #expect(throws: Never.self) {
                try check.accept(segment, captureInfo: CaptureInfo(), direction: .clientToServer,
                                 nextSequence: 100, start: &start)
            }
        }
        let badMSS = Packet(srcPort: 1000, dstPort: 80, seq: 99, flags: .syn, options: [2, 3, 4])
        badMSS.withSegment { segment in
            #expect(throws: TCPOptionCheck.Violation.invalidMSSLength(1)) {
                try check.accept(segment, captureInfo: CaptureInfo(), direction: .clientToServer,
                                 nextSequence: nil, start: &start)
            }
        }
    }
}
