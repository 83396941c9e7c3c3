import Testing
@testable import Reassembly

/// The connection table against a `Dictionary` doing the same: random inserts,
/// replacements and removals (each removal shifts entries back, across the end of
/// the table too), lookups in both orientations, and the dense list of connections.
/// The operations are drawn from a fixed seed, so a failure names its step and comes
/// back run after run (where the keys land in the table also depends on the hash
/// secrets drawn per process: `SWIFT_DETERMINISTIC_HASHING=1` fixes those too).
@Suite struct StreamPoolTests {
    static let seed: UInt64 = 0x5EED_0F_7AB1E
    static let seedText = "seed 0x" + String(seed, radix: 16, uppercase: true)
    /// The model's size at each full check, and the lookups that found a connection.
    static let expectedSizes = [3254, 4187, 4382, 4484, 4488, 4510, 3317, 2861, 2791, 2773, 2798, 2782]
    static let expectedHits = 69019

    final class NullStream: Stream {
        func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                    nextSequence: TCPSequence?, start: inout Bool) -> Bool { true }
        func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {}
        func reassemblyComplete(context: CaptureInfo?) -> Bool { true }
    }

    /// A key among `space` (few enough that inserts hit present keys), either orientation.
    static func key(_ n: Int, flipped: Bool) -> FlowKey {
        let key = FlowKey(source: Address(ipv4: 0x0A00_0000 | UInt32(n >> 8)), destination: Address(ipv4: 0xC0A8_0001),
                          sourcePort: UInt16(1024 + n & 0xFF), destinationPort: 443, zone: UInt64(n % 3))
        return flipped ? key.reversed : key
    }

    @Test func agreesWithADictionary() {
        var pool = StreamPool()
        var model: [FlowKey: Connection] = [:]
        let stream = NullStream()
        var rng = SplitMix64(seed: Self.seed)
        let space = 6000
        var sizes: [Int] = []  // the model's size at each full check
        var hits = 0           // lookups that found a connection
        for step in 0..<120_000 {
            let n = Int.random(in: 0..<space, using: &rng)
            let flipped = Bool.random(using: &rng)
            let key = Self.key(n, flipped: flipped)
            // grow for the first half, then remove more than insert: the table shrinks again
            let insertShare = step < 60_000 ? 6 : 3
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<insertShare:
                let connection = Connection(key: key, stream: stream, timestamp: 0)
                pool.insert(connection)
                model[key.canonical] = connection
            default:
                if let present = model[key.canonical] {
                    // removing a connection that is no longer the registered one does nothing
                    if Bool.random(using: &rng) {
                        pool.remove(Connection(key: key, stream: stream, timestamp: 0))
                    } else {
                        pool.remove(present)
                        model[key.canonical] = nil
                    }
                }
            }
            let probe = Self.key(Int.random(in: 0..<space, using: &rng), flipped: Bool.random(using: &rng))
            let found = pool.lookup(probe)
            let expected = model[probe.canonical]
            #expect(found?.connection === expected, "\(Self.seedText), step \(step)")
            if let found, let expected {
                #expect(found.half === (expected.key == probe ? expected.clientToServer : expected.serverToClient),
                        "\(Self.seedText), step \(step)")
                hits += 1
            }
            if step % 10_000 == 9_999 || step == 59_999 {
                #expect(pool.count == model.count, "\(Self.seedText), step \(step)")
                #expect(Set(pool.connections.map(ObjectIdentifier.init)) == Set(model.values.map(ObjectIdentifier.init)),
                        "\(Self.seedText), step \(step)")
                #expect(pool.connections.indices.allSatisfy { pool.connections[$0].poolIndex == $0 }, "\(Self.seedText), step \(step)")
                #expect(model.allSatisfy { pool.lookup($0.key)?.connection === $0.value }, "\(Self.seedText), step \(step)")
                sizes.append(model.count)
            }
        }
        // What this seed exercised: the table grew to thousands of connections (the
        // checks above were not over an empty table) and shrank by a third again, and
        // lookups found present connections as well as missing ones.
        #expect(sizes == Self.expectedSizes, "\(Self.seedText)")
        #expect(hits == Self.expectedHits, "\(Self.seedText)")
    }
}
