import Testing
@testable import Decoding

/// Builds packets byte by byte, so each test states exactly what is on the wire.
enum Build {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    static func tcp(sport: Int = 40000, dport: Int = 443, seq: UInt32 = 1000, ack: UInt32 = 2000,
                    flags: UInt8 = 0x18, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
        let dataOffset = (20 + options.count) / 4
        return be16(sport) + be16(dport) + be32(seq) + be32(ack) + [UInt8(dataOffset << 4), flags]
            + be16(65535) + [0, 0, 0, 0] + options + payload
    }

    static func ipv4(src: [UInt8] = [10, 0, 0, 1], dst: [UInt8] = [10, 0, 0, 2], proto: UInt8 = 6,
                     options: [UInt8] = [], fragment: Int = 0, totalLength: Int? = nil, body: [UInt8]) -> [UInt8] {
        let ihl = (20 + options.count) / 4
        let length = totalLength ?? (20 + options.count + body.count)
        return [UInt8(0x40 | ihl), 0] + be16(length) + [0x12, 0x34] + be16(fragment) + [64, proto, 0, 0]
            + src + dst + options + body
    }

    static func ipv6(next: UInt8 = 6, payloadLength: Int? = nil, extensions: [UInt8] = [], body: [UInt8]) -> [UInt8] {
        let src: [UInt8] = [0xfd, 0x77] + Array(repeating: 0, count: 13) + [2]
        let dst: [UInt8] = [0xfd, 0x77] + Array(repeating: 0, count: 13) + [1]
        return [0x60, 0, 0, 0] + be16(payloadLength ?? (extensions.count + body.count)) + [next, 64]
            + src + dst + extensions + body
    }

    static func ethernet(type: Int, tags: [(tpid: Int, vlan: Int)] = [], body: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]
        for tag in tags { frame += be16(tag.tpid) + be16(tag.vlan) }
        return frame + be16(type) + body
    }
}

func decode(_ link: LinkType, _ bytes: [UInt8]) -> (DecodeResult, DecodedPacket, payload: [UInt8], options: [UInt8]) {
    var packet = DecodedPacket()
    return bytes.withUnsafeBytes { raw in
        let result = PacketDecoder(linkType: link).decode(raw, into: &packet)
        return (result, packet, Array(packet.payload), Array(packet.options))
    }
}

@Suite struct PacketDecoderTests {
    let hello = Array("hello".utf8)

    @Test func ethernetIPv4TCPWithOptions() {
        let options: [UInt8] = [2, 4, 0x05, 0xb4, 1, 1, 4, 2]   // MSS 1460, NOP, NOP, SACK permitted
        let frame = Build.ethernet(type: 0x0800, body: Build.ipv4(body: Build.tcp(seq: 0xfffffff0, ack: 7, flags: 0x12, options: options, payload: hello)))
        let (result, p, payload, opts) = decode(.ethernet, frame)
        #expect(result == .tcp)
        #expect(p.source.description == "10.0.0.1")
        #expect(p.destination.description == "10.0.0.2")
        #expect(p.sourcePort == 40000 && p.destinationPort == 443)
        #expect(p.sequence == 0xfffffff0 && p.acknowledgment == 7)
        #expect(p.flags == 0x12 && p.window == 65535)
        #expect(opts == options)
        #expect(payload == hello)
        #expect(!p.payloadTruncated)
        #expect(p.networkOffset == 14)
        #expect(p.ipLength == 20 + 20 + options.count + hello.count && p.payloadLength == hello.count)
    }

    @Test func ethernetPaddingIsNotPayload() {
        let frame = Build.ethernet(type: 0x0800, body: Build.ipv4(body: Build.tcp(payload: [0x41]))) + [0, 0, 0, 0, 0]
        let (result, _, payload, _) = decode(.ethernet, frame)
        #expect(result == .tcp)
        #expect(payload == [0x41])
    }

    @Test(arguments: [[(0x8100, 10)], [(0x88a8, 100), (0x8100, 200)], [(0x9100, 1), (0x8100, 2), (0x8100, 3)]])
    func vlanTagsAreSteppedOver(tags: [(Int, Int)]) {
        let frame = Build.ethernet(type: 0x0800, tags: tags.map { (tpid: $0.0, vlan: $0.1) }, body: Build.ipv4(body: Build.tcp(payload: hello)))
        let (result, p, payload, _) = decode(.ethernet, frame)
        #expect(result == .tcp)
        #expect(payload == hello)
        #expect(p.networkOffset == 14 + 4 * tags.count)
    }

    @Test func nonIPAndNonTCP() {
        #expect(decode(.ethernet, Build.ethernet(type: 0x0806, body: Array(repeating: 0, count: 28))).0 == .nonIP)
        // a UDP length of 0 (below its own 8 bytes) is malformed; another protocol is non-TCP
        #expect(decode(.ethernet, Build.ethernet(type: 0x0800, body: Build.ipv4(proto: 17, body: Array(repeating: 0, count: 8)))).0 == .malformed)
        #expect(decode(.ethernet, Build.ethernet(type: 0x0800, body: Build.ipv4(proto: 132, body: Array(repeating: 0, count: 8)))).0 == .nonTCP)
        #expect(decode(.ethernet, Array(repeating: 0, count: 13)).0 == .truncated)
        #expect(decode(.unsupported(104), Array(repeating: 0, count: 40)).0 == .unsupportedLink)
    }

    @Test func ipv4FragmentsAreCountedNotDecoded() {
        let first = Build.ipv4(fragment: 0x2000, body: Build.tcp(payload: hello))      // MF set, offset 0
        let later = Build.ipv4(fragment: 0x0003, body: hello)                          // offset 24 bytes
        #expect(decode(.raw, first).0 == .fragment)
        #expect(decode(.raw, later).0 == .fragment)
    }

    @Test func ipv4OptionsAreValidated() {
        let good = Build.ipv4(options: [0x94, 4, 0, 0], body: Build.tcp(payload: hello))  // router alert
        #expect(decode(.raw, good).0 == .tcp)
        let bad = Build.ipv4(options: [0x94, 9, 0, 0], body: Build.tcp(payload: hello))   // length past the header
        #expect(decode(.raw, bad).0 == .malformed)
    }

    /// The version nibble of every IP header is checked, whatever announced it
    /// (here an EtherType; inside tunnels, their protocol fields): another version
    /// is malformed, not a connection with misread addresses and ports.
    @Test func ipVersionMustMatch() {
        var v5 = Build.ipv4(body: Build.tcp(payload: hello))
        v5[0] = 0x55
        #expect(decode(.ethernet, Build.ethernet(type: 0x0800, body: v5)).0 == .malformed)
        let v4 = Build.ipv4(body: Build.tcp(payload: hello))
        #expect(decode(.ethernet, Build.ethernet(type: 0x86dd, body: v4 + Array(repeating: 0, count: 20))).0 == .malformed)
        var v6as4 = Build.ipv6(body: Build.tcp(payload: hello))
        v6as4[0] = 0x45
        #expect(decode(.ethernet, Build.ethernet(type: 0x86dd, body: v6as4)).0 == .malformed)
        #expect(decode(.ethernet, Build.ethernet(type: 0x0800, body: Build.ipv4(body: Build.tcp(payload: hello)))).0 == .tcp)
        #expect(decode(.ethernet, Build.ethernet(type: 0x86dd, body: Build.ipv6(body: Build.tcp(payload: hello)))).0 == .tcp)
    }

    @Test func ipv4LengthChecks() {
        #expect(decode(.raw, Build.ipv4(totalLength: 19, body: Build.tcp())).0 == .malformed)
        // a zero total length (TCP segmentation offload) means "as captured"
        let tso = decode(.raw, Build.ipv4(totalLength: 0, body: Build.tcp(payload: hello)))
        #expect(tso.0 == .tcp && tso.payload == hello)
        #expect(tso.1.ipLength == 45 && tso.1.payloadLength == 5)
    }

    /// A SYN whose data offset announces options the IP length leaves out (24-byte
    /// header, 40-byte datagram), as Mirai-style scanners send: decoded without
    /// options, flagged. Cut by the snaplen instead, it stays truncated.
    @Test func tcpHeaderCutInsideOptionsStillCounts() {
        var syn = Build.tcp(flags: 0x02, options: [2, 4, 5, 0xb4])
        syn.removeLast(4)                                      // data offset 6, only 20 bytes present
        let (result, p, payload, options) = decode(.raw, Build.ipv4(body: syn))
        #expect(result == .tcp && p.headerCut && payload.isEmpty && options.isEmpty && p.flags == 0x02)
        // Data offset 40 with 32 bytes present: the 12 bytes past the fixed header
        // are the start of options, not payload (they were stored as data).
        var cut = Build.tcp(flags: 0x02, options: Array(repeating: 0xaa, count: 20))
        cut.removeLast(8)
        let (cutResult, q, cutPayload, cutOptions) = decode(.raw, Build.ipv4(body: cut))
        #expect(cutResult == .tcp && q.headerCut && cutOptions.isEmpty)
        #expect(cutPayload.isEmpty && q.payloadLength == 0 && q.ipLength == 52)
        let whole = Build.ipv4(body: Build.tcp(flags: 0x02, options: [2, 4, 5, 0xb4]))
        #expect(decode(.raw, Array(whole.prefix(40))).0 == .truncated)     // the snaplen cut it
        #expect(!decode(.raw, whole).1.headerCut)
    }

    @Test func snaplenCutPayloadIsDeliveredAndFlagged() {
        let full = Build.ipv4(body: Build.tcp(payload: Array(repeating: 0x61, count: 100)))
        let cut = Array(full.prefix(20 + 20 + 30))
        let (result, p, payload, _) = decode(.raw, cut)
        #expect(result == .tcp)
        #expect(payload.count == 30)
        #expect(p.payloadTruncated)
        // the lengths the IP header announces, for connection accounting
        #expect(p.ipLength == 140 && p.payloadLength == 100)
        // a TCP header cut short is truncated, not malformed
        #expect(decode(.raw, Array(full.prefix(30))).0 == .truncated)
        #expect(decode(.raw, Array(full.prefix(19))).0 == .truncated)
    }

    @Test func tcpHeaderChecks() {
        var badOffset = Build.tcp(payload: hello)
        badOffset[12] = 0x40                                   // data offset 4 words
        #expect(decode(.raw, Build.ipv4(body: badOffset)).0 == .malformed)
        // A malformed option (length 1; longer than the header): the data offset is
        // valid, so the payload is where it says; the options are not read.
        for broken: [UInt8] in [[8, 1, 0, 0], [8, 10, 0, 0], [1, 1, 0x74, 104]] {
            let (result, p, payload, options) = decode(.raw, Build.ipv4(body: Build.tcp(options: broken, payload: hello)))
            #expect(result == .tcp && p.badOptions && payload == hello && options.isEmpty, "\(broken)")
            #expect(p.payloadLength == hello.count)
        }
        #expect(!decode(.raw, Build.ipv4(body: Build.tcp(options: [1, 1, 1, 0], payload: hello))).1.badOptions)
        let endList = Build.tcp(options: [1, 0, 0xff, 0xff], payload: hello) // bytes after End are padding
        #expect(decode(.raw, Build.ipv4(body: endList)).0 == .tcp)
        var ns = Build.tcp(flags: 0xc1)
        ns[12] |= 0x01
        #expect(decode(.raw, Build.ipv4(body: ns)).1.flags == 0x1c1)
    }

    @Test func ipv6WithExtensionHeaders() {
        let hopByHop: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]        // → destination options; PadN
        let destination: [UInt8] = [43, 0, 1, 4, 0, 0, 0, 0]     // → routing
        let routing: [UInt8] = [6, 0, 4, 0, 0, 0, 0, 0]          // → TCP; segments left 0
        let packet = Build.ipv6(next: 0, extensions: hopByHop + destination + routing, body: Build.tcp(sport: 35828, dport: 9000, payload: hello))
        let (result, p, payload, _) = decode(.raw, packet)
        #expect(result == .tcp)
        #expect(p.source.description == "fd77::2" && p.destination.description == "fd77::1")
        #expect(p.sourcePort == 35828 && p.destinationPort == 9000)
        #expect(payload == hello)
    }

    @Test func ipv6FragmentAndBadLengths() {
        let fragment: [UInt8] = [6, 0, 0, 1, 0, 0, 0, 7]
        #expect(decode(.raw, Build.ipv6(next: 44, extensions: fragment, body: Build.tcp())).0 == .fragment)
        #expect(decode(.raw, Build.ipv6(payloadLength: 0, body: Build.tcp())).0 == .malformed)
        let overlong: [UInt8] = [6, 9, 0, 0, 0, 0, 0, 0]          // claims 80 bytes
        #expect(decode(.raw, Build.ipv6(next: 60, extensions: overlong, body: Build.tcp())).0 == .malformed)
        #expect(decode(.raw, Build.ipv6(next: 17, body: Array(repeating: 0, count: 8))).0 == .malformed)
        #expect(decode(.ipv6, Array(Build.ipv6(body: Build.tcp()).prefix(39))).0 == .truncated)
    }

    @Test func linuxCookedHeaders() {
        let ip = Build.ipv4(body: Build.tcp(payload: hello))
        let sll: [UInt8] = [0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + Build.be16(0x0800)
        let v1 = decode(.linuxCooked, sll + ip)
        #expect(v1.0 == .tcp && v1.payload == hello && v1.1.networkOffset == 16)
        let sll2: [UInt8] = Build.be16(0x0800) + [0, 0] + Build.be32(3) + [0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]
        let v2 = decode(.linuxCooked2, sll2 + ip)
        #expect(v2.0 == .tcp && v2.payload == hello && v2.1.networkOffset == 20)
        #expect(decode(.linuxCooked2, Array(sll2.prefix(19))).0 == .truncated)
    }

    @Test func loopbackFamiliesInBothByteOrders() {
        let ip4 = Build.ipv4(body: Build.tcp(payload: hello))
        let ip6 = Build.ipv6(body: Build.tcp(payload: hello))
        #expect(decode(.null, [2, 0, 0, 0] + ip4).0 == .tcp)     // little-endian writer
        #expect(decode(.null, [0, 0, 0, 2] + ip4).0 == .tcp)     // big-endian writer
        #expect(decode(.null, [30, 0, 0, 0] + ip6).0 == .tcp)    // Darwin AF_INET6
        #expect(decode(.loop, [0, 0, 0, 24] + ip6).0 == .tcp)    // OpenBSD AF_INET6
        #expect(decode(.null, [7, 0, 0, 0] + ip4).0 == .nonIP)
    }

    @Test func rawIPByVersion() {
        #expect(decode(.raw, Build.ipv6(body: Build.tcp(payload: hello))).payload == hello)
        #expect(decode(.raw, [0x50] + Array(repeating: 0, count: 39)).0 == .nonIP)
        #expect(decode(.ipv4, Build.ipv4(body: Build.tcp(payload: hello))).0 == .tcp)
    }

    @Test func linkTypesByDLT() {
        #expect(LinkType(dlt: 1) == .ethernet)
        #expect(LinkType(dlt: 276) == .linuxCooked2)
        #expect(LinkType(dlt: 113) == .linuxCooked)
        #expect(LinkType(dlt: 101) == .raw && LinkType(dlt: 12) == .raw)
        #expect(LinkType(dlt: 0) == .null && LinkType(dlt: 108) == .loop)
        #expect(LinkType(dlt: 105) == .unsupported(105))
    }

    /// Every prefix of a valid packet decodes without reading past its end (run
    /// under AddressSanitizer, a read past the buffer would abort the test).
    @Test func everyPrefixIsSafe() {
        let packets: [(LinkType, [UInt8])] = [
            (.ethernet, Build.ethernet(type: 0x0800, tags: [(0x88a8, 1), (0x8100, 2)], body: Build.ipv4(options: [1, 1, 1, 0], body: Build.tcp(options: [2, 4, 5, 0xb4], payload: hello)))),
            (.raw, Build.ipv6(next: 0, extensions: [60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0], body: Build.tcp(payload: hello))),
            (.linuxCooked2, Build.be16(0x86dd) + Array(repeating: 0, count: 18) + Build.ipv6(body: Build.tcp(payload: hello))),
        ]
        for (link, bytes) in packets {
            var results: [DecodeResult: Int] = [:]
            for n in 0...bytes.count {
                let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
                defer { copy.deallocate() }
                bytes.withUnsafeBytes { source in copy.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<n])) }
                var p = DecodedPacket()
                results[PacketDecoder(linkType: link).decode(UnsafeRawBufferPointer(copy), into: &p), default: 0] += 1
            }
            #expect(results[.tcp] == hello.count + 1, "\(link): a prefix decodes as TCP once the header is complete")
        }
    }
}
