import Testing
@testable import Decoding

/// IPv4 and IPv6 fragments of one TCP segment, in order, reversed, interleaved
/// with another datagram's, duplicated and overlapping; within a memory bound and
/// a timeout; inside a tunnel and around one.
@Suite struct DefragmenterTests {
    static let payload: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    static var segment: [UInt8] { Build.tcp(payload: payload) }

    /// IPv4 fragments (data in `cuts`, offsets multiples of 8) of `body`, as raw IP packets.
    static func ipv4Fragments(_ body: [UInt8], id: Int = 0x1234, cuts: [Range<Int>], proto: UInt8 = 6,
                              src: [UInt8] = [10, 0, 0, 1], dst: [UInt8] = [10, 0, 0, 2]) -> [[UInt8]] {
        cuts.map { cut in
            let more = cut.upperBound < body.count ? 0x2000 : 0
            let data = Array(body[cut])
            return [0x45, 0] + Build.be16(20 + data.count) + Build.be16(id) + Build.be16(more | cut.lowerBound / 8)
                + [64, proto, 0, 0] + src + dst + data
        }
    }

    static func ipv6Fragments(_ body: [UInt8], id: UInt32 = 77, cuts: [Range<Int>]) -> [[UInt8]] {
        cuts.map { cut in
            let more = cut.upperBound < body.count ? 1 : 0
            // the offset field holds 8-byte units shifted left by 3: the byte offset itself
            let fragmentHeader: [UInt8] = [6, 0] + Build.be16(cut.lowerBound | more) + Build.be32(id)
            return Build.ipv6(next: 44, body: fragmentHeader + Array(body[cut]))
        }
    }

    /// Feeds raw IP packets; returns the TCP payloads of the datagrams reassembled.
    static func feed(_ packets: [[UInt8]], _ defrag: Defragmenter, link: LinkType = .raw, step: Int64 = 1000) -> [[UInt8]] {
        var out: [[UInt8]] = []
        let decoder = PacketDecoder(linkType: link)
        var t: Int64 = 0
        for packet in packets {
            t += step
            var p = DecodedPacket()
            packet.withUnsafeBytes { raw in
                guard decoder.decode(raw, into: &p) == .fragment else { return }
                guard let datagram = defrag.add(raw, p.fragment, zone: p.encapsulation.zone(), timestamp: t) else { return }
                datagram.withUnsafeBytes { d in
                    if decoder.decodeReassembled(d, into: &p) == .tcp { out.append(Array(p.payload)) }
                }
            }
        }
        return out
    }

    static let cuts = [0..<1000, 1000..<2000, 2000..<3020]

    @Test func inOrderReversedAndInterleaved() {
        let d = Defragmenter()
        let a = Self.ipv4Fragments(Self.segment, id: 1, cuts: Self.cuts)
        let b = Self.ipv4Fragments(Self.segment, id: 2, cuts: Self.cuts)
        #expect(Self.feed(a, d) == [Self.payload])
        #expect(Self.feed(a.reversed(), d) == [Self.payload])
        #expect(Self.feed([a[1], b[2], a[0], b[0], a[2], b[1]], d) == [Self.payload, Self.payload])
        #expect(d.counters.reassembled == 4 && d.pending == 0 && d.memory == 0)
    }

    @Test func ipv6() {
        let d = Defragmenter()
        #expect(Self.feed(Self.ipv6Fragments(Self.segment, cuts: Self.cuts).reversed(), d) == [Self.payload])
        #expect(d.counters.reassembled == 1)
    }

    /// Duplicates change nothing; an overlap with other bytes keeps the first and is counted.
    @Test func duplicatesAndOverlaps() {
        let d = Defragmenter()
        let a = Self.ipv4Fragments(Self.segment, cuts: Self.cuts)
        #expect(Self.feed([a[0], a[0], a[1], a[1], a[2]], d) == [Self.payload])
        #expect(d.counters.overlapsDiffering == 0)
        var evil = Self.segment
        for i in 900..<1100 { evil[i] = 0x58 }
        let overlap = Self.ipv4Fragments(evil, cuts: [896..<1104])[0]
        // it arrives after both fragments it overlaps: the first copies win
        #expect(Self.feed([a[0], a[1], overlap, a[2]], d) == [Self.payload])
        #expect(d.counters.overlapsDiffering == 1)
        // a later overlap that agrees with the first bytes is not counted
        let same = Self.ipv4Fragments(Self.segment, cuts: [496..<1504])[0]
        #expect(Self.feed([a[0], same, a[1], a[2]], d) == [Self.payload])
        #expect(d.counters.overlapsDiffering == 1 && d.counters.reassembled == 3)
    }

    @Test func timeoutAndMemoryBound() {
        let d = Defragmenter(maxMemory: 1 << 20, timeout: 5_000)
        let a = Self.ipv4Fragments(Self.segment, id: 1, cuts: Self.cuts)
        // the last fragment arrives 7 steps of 1000 ns after the first: too late
        #expect(Self.feed([a[0], a[1]] + [[UInt8]](repeating: [], count: 5) + [a[2]], d, step: 1000).isEmpty)
        #expect(d.counters.expired == 2 && d.counters.reassembled == 0 && d.pending == 1)
        let small = Defragmenter(maxMemory: 8_000, timeout: 1_000_000)
        var first: [[UInt8]] = []
        for id in 0..<10 { first += [Self.ipv4Fragments(Self.segment, id: id, cuts: Self.cuts)[0]] }
        #expect(Self.feed(first, small).isEmpty)
        #expect(small.memory <= 8_000 && small.pending < 10 && small.counters.expired > 0)
    }

    /// A datagram past 65,535 bytes (the "ping of death") is dropped and counted.
    @Test func oversized() {
        let d = Defragmenter()
        let last = Self.ipv4Fragments(Array(repeating: 0, count: 65_600), cuts: [65_528..<65_600])[0]
        #expect(Self.feed([last], d).isEmpty)
        #expect(d.counters.oversized == 1 && d.pending == 0)
    }

    /// Fragments inside VXLAN, and VXLAN inside fragments.
    @Test func fragmentsAndTunnelsNestEitherWay() throws {
        let vxlanHeader: [UInt8] = [0x08, 0, 0, 0] + Build.be32(42 << 8)
        func vxlan(_ innerIP: [UInt8]) -> [UInt8] {
            let frame = Build.ethernet(type: 0x0800, body: innerIP)
            let udp = Build.be16(50000) + Build.be16(4789) + Build.be16(8 + 8 + frame.count) + [0, 0] + vxlanHeader + frame
            return Build.ipv4(src: [192, 0, 2, 1], dst: [192, 0, 2, 2], proto: 17, body: udp)
        }
        let inside = Self.ipv4Fragments(Self.segment, cuts: Self.cuts).map(vxlan)
        let d = Defragmenter()
        #expect(Self.feed(inside.reversed(), d) == [Self.payload])
        // the whole VXLAN packet, fragmented in the underlay
        let whole = vxlan(Build.ipv4(body: Self.segment))
        let outerBody = Array(whole[20...])
        let around = Self.ipv4Fragments(outerBody, cuts: [0..<1200, 1200..<outerBody.count], proto: 17,
                                        src: [192, 0, 2, 1], dst: [192, 0, 2, 2])
        #expect(Self.feed(around, d) == [Self.payload])
        #expect(d.counters.reassembled == 2)
    }
}
