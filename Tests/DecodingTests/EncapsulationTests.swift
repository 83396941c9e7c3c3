import Testing
@testable import Decoding

/// Tunnels, labels and tags, each built byte by byte around the same inner TCP
/// segment: the decoder must find that segment and record the chain.
@Suite struct EncapsulationTests {
    let hello = Array("hello".utf8)
    static let outerA: [UInt8] = [192, 0, 2, 10], outerB: [UInt8] = [192, 0, 2, 20]

    var innerIPv4: [UInt8] { Build.ipv4(src: [10, 77, 0, 2], dst: [10, 77, 0, 1], body: Build.tcp(payload: hello)) }
    var innerIPv6: [UInt8] { Build.ipv6(body: Build.tcp(payload: hello)) }
    var innerFrame: [UInt8] { Build.ethernet(type: 0x0800, body: innerIPv4) }

    static func udp(sport: Int = 54321, dport: Int, _ body: [UInt8]) -> [UInt8] {
        Build.be16(sport) + Build.be16(dport) + Build.be16(8 + body.count) + [0, 0] + body
    }

    static func outerIPv4(proto: UInt8, _ body: [UInt8]) -> [UInt8] {
        Build.ipv4(src: outerA, dst: outerB, proto: proto, body: body)
    }

    /// Decodes an Ethernet frame; checks that the inner segment was found.
    func innerSegment(_ frame: [UInt8], link: LinkType = .ethernet) -> DecodedPacket? {
        let (result, p, payload, _) = decode(link, frame)
        guard result == .tcp, payload == hello, p.sourcePort == 40000, p.destinationPort == 443 else { return nil }
        return p
    }

    @Test func vxlan() throws {
        let vxlan: [UInt8] = [0x08, 0, 0, 0] + Build.be32(4242 << 8)
        let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 4789, vxlan + innerFrame)))
        let p = try #require(innerSegment(frame))
        #expect(p.source.description == "10.77.0.2" && p.destination.description == "10.77.0.1")
        #expect(p.encapsulation.text == "vxlan:4242 192.0.2.10>192.0.2.20")
        #expect(p.networkOffset == frame.count - innerIPv4.count)
        #expect(p.ipLength == innerIPv4.count && p.payloadLength == 5)
        // UDP on the VXLAN port without the I flag is just UDP
        let notVXLAN = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 4789, [0, 0, 0, 0, 0, 0, 0, 0] + innerFrame)))
        #expect(decode(.ethernet, notVXLAN).0 == .udp)
    }

    /// VXLAN-GPE (UDP 4790): the next-protocol byte says what follows.
    @Test func vxlanGPE() throws {
        let gpe: [UInt8] = [0x0c, 0, 0, 1] + Build.be32(7 << 8)            // I and P flags, next protocol IPv4
        let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 4790, gpe + innerIPv4)))
        #expect(try #require(innerSegment(frame)).encapsulation.text == "vxlan:7 192.0.2.10>192.0.2.20")
        let ethernet: [UInt8] = [0x0c, 0, 0, 3] + Build.be32(8 << 8)
        let tap = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 4790, ethernet + innerFrame)))
        #expect(try #require(innerSegment(tap)).encapsulation.text == "vxlan:8 192.0.2.10>192.0.2.20")
    }

    @Test func geneveWithOptionsCarryingEthernetOrIP() throws {
        let option: [UInt8] = [0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef]   // class, type, length 1 word, data
        let header: [UInt8] = [0x02, 0] + Build.be16(0x6558) + Build.be32(77 << 8) + option
        let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 6081, header + innerFrame)))
        #expect(try #require(innerSegment(frame)).encapsulation.text == "geneve:77 192.0.2.10>192.0.2.20")
        let ipOnly: [UInt8] = [0, 0] + Build.be16(0x86dd) + Build.be32(78 << 8)
        let v6 = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 6081, ipOnly + innerIPv6)))
        let p = try #require(innerSegment(v6))
        #expect(p.source.isIPv6 && p.encapsulation.text == "geneve:78 192.0.2.10>192.0.2.20")
    }

    @Test func greWithChecksumKeyAndSequence() throws {
        let gre: [UInt8] = Build.be16(0xB000) + Build.be16(0x0800) + [0, 0, 0, 0] + Build.be32(77) + Build.be32(5)
        let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, gre + innerIPv4))
        #expect(try #require(innerSegment(frame)).encapsulation.text == "gre:77 192.0.2.10>192.0.2.20")
        // transparent Ethernet bridging (gretap), no key
        let tap = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, Build.be16(0) + Build.be16(0x6558) + innerFrame))
        #expect(try #require(innerSegment(tap)).encapsulation.text == "gre 192.0.2.10>192.0.2.20")
        // GRE over IPv6, and GRE in UDP (port 4754)
        let v6 = Build.ethernet(type: 0x86dd, body: Build.ipv6(next: 47, body: Build.be16(0) + Build.be16(0x0800) + innerIPv4))
        #expect(try #require(innerSegment(v6)).encapsulation.text == "gre fd77::2>fd77::1")
        let udp = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 4754, Build.be16(0) + Build.be16(0x0800) + innerIPv4)))
        #expect(try #require(innerSegment(udp)).encapsulation.text == "gre 192.0.2.10>192.0.2.20")
        // PPTP's enhanced GRE (version 1) carries PPP: not decoded, counted as non-TCP
        let pptp = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, Build.be16(0x3001) + Build.be16(0x880b) + innerIPv4))
        #expect(decode(.ethernet, pptp).0 == .nonTCP)
    }

    @Test func erspanTypesOneTwoAndThree() throws {
        let typeI = Build.be16(0) + Build.be16(0x88BE) + innerFrame
        #expect(try #require(innerSegment(Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, typeI)))).encapsulation.text
                == "erspan 192.0.2.10>192.0.2.20")
        let typeII = Build.be16(0x1000) + Build.be16(0x88BE) + Build.be32(9)
            + [0x10, 0x00, 0x00, 123, 0, 0, 0, 0] + innerFrame        // version 1, session 123
        #expect(try #require(innerSegment(Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, typeII)))).encapsulation.text
                == "erspan:123 192.0.2.10>192.0.2.20")
        let typeIII = Build.be16(0x1000) + Build.be16(0x22EB) + Build.be32(9)
            + [0x20, 0x00, 0x01, 0x2c] + Build.be32(0) + [0, 0, 0, 0x01] + [UInt8](repeating: 0, count: 8) + innerFrame
        #expect(try #require(innerSegment(Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, typeIII)))).encapsulation.text
                == "erspan:300 192.0.2.10>192.0.2.20")
    }

    @Test func ipInIPAllFourWays() throws {
        let fourInFour = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 4, innerIPv4))
        #expect(try #require(innerSegment(fourInFour)).encapsulation.text == "ipip 192.0.2.10>192.0.2.20")
        let sixInFour = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 41, innerIPv6))
        #expect(try #require(innerSegment(sixInFour)).source.isIPv6)
        let fourInSix = Build.ethernet(type: 0x86dd, body: Build.ipv6(next: 4, body: innerIPv4))
        #expect(try #require(innerSegment(fourInSix)).encapsulation.text == "ipip fd77::2>fd77::1")
        let sixInSix = Build.ethernet(type: 0x86dd, body: Build.ipv6(next: 41, body: innerIPv6))
        #expect(try #require(innerSegment(sixInSix)).encapsulation.count == 1)
    }

    @Test func mplsStacksAlsoInsideVLANs() throws {
        let labels = Build.be32(100 << 12) + Build.be32(200 << 12 | 0x100 | 64)
        let frame = Build.ethernet(type: 0x8847, tags: [(0x8100, 10)], body: labels + innerIPv4)
        let p = try #require(innerSegment(frame))
        #expect(p.encapsulation.text == "vlan:10 / mpls:100 / mpls:200")
        // a pseudowire (no IP version nibble after the stack) carries no IP here
        #expect(decode(.ethernet, Build.ethernet(type: 0x8847, body: Build.be32(1 << 12 | 0x100) + [0, 0, 0, 0] + innerFrame)).0 == .nonIP)
    }

    @Test func pppoeSession() throws {
        let pppoe: [UInt8] = [0x11, 0x00] + Build.be16(0x1234) + Build.be16(2 + innerIPv4.count) + Build.be16(0x0021)
        let p = try #require(innerSegment(Build.ethernet(type: 0x8864, body: pppoe + innerIPv4)))
        #expect(p.encapsulation.text == "pppoe:4660")
        let v6: [UInt8] = [0x11, 0x00] + Build.be16(7) + Build.be16(2 + innerIPv6.count) + Build.be16(0x0057)
        #expect(try #require(innerSegment(Build.ethernet(type: 0x8864, body: v6 + innerIPv6))).source.isIPv6)
    }

    /// PPP with protocol-field compression (RFC 1661 6.5): one byte of protocol, odd.
    @Test func pppoeWithCompressedProtocol() throws {
        let v4: [UInt8] = [0x11, 0x00] + Build.be16(0x1234) + Build.be16(1 + innerIPv4.count) + [0x21]
        #expect(try #require(innerSegment(Build.ethernet(type: 0x8864, body: v4 + innerIPv4))).encapsulation.text == "pppoe:4660")
        let v6: [UInt8] = [0x11, 0x00] + Build.be16(7) + Build.be16(1 + innerIPv6.count) + [0x57]
        #expect(try #require(innerSegment(Build.ethernet(type: 0x8864, body: v6 + innerIPv6))).source.isIPv6)
        // LCP (0xc021) is not IP, compressed or not; a lone even byte needs its second
        let lcp: [UInt8] = [0x11, 0x00] + Build.be16(7) + Build.be16(4) + [0xc0, 0x21, 1, 1]
        #expect(decode(.ethernet, Build.ethernet(type: 0x8864, body: lcp)).0 == .nonIP)
        #expect(decode(.ethernet, Build.ethernet(type: 0x8864, body: [0x11, 0x00] + Build.be16(7) + Build.be16(1) + [0x00])).0 == .truncated)
    }

    /// Cisco HDLC: address, control, EtherType.
    @Test func ciscoHDLC() throws {
        #expect(try #require(innerSegment([0x0f, 0x00] + Build.be16(0x0800) + innerIPv4, link: LinkType(dlt: 104))).source.isIPv6 == false)
        #expect(try #require(innerSegment([0x8f, 0x00] + Build.be16(0x86dd) + innerIPv6, link: LinkType(dlt: 104))).source.isIPv6)
        #expect(decode(LinkType(dlt: 104), [0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 0]).0 == .nonIP)       // SLARP
        #expect(decode(LinkType(dlt: 104), [0x0f, 0x00, 0x08]).0 == .truncated)
    }

    /// Linux NFLOG: the packet is the payload attribute's value, among others.
    @Test func nflog() throws {
        func tlv(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
            let length = UInt16(4 + value.count)
            let raw = [UInt8(length & 0xff), UInt8(length >> 8), UInt8(type & 0xff), UInt8(type >> 8)] + value
            return raw + Array(repeating: 0, count: (4 - raw.count % 4) % 4)
        }
        let link = LinkType(dlt: 239)
        let header = tlv(1, Build.be16(0x0800) + [3, 0]) + tlv(10, Array("prefix!".utf8))
        let p = try #require(innerSegment([2, 0, 0, 7] + header + tlv(9, innerIPv4), link: link))
        #expect(!p.source.isIPv6)
        #expect(try #require(innerSegment([10, 0, 0, 7] + tlv(9, innerIPv6), link: link)).source.isIPv6)
        #expect(decode(link, [2, 0, 0, 7] + header).0 == .nonIP)                           // no payload attribute
        #expect(decode(link, [2, 1, 0, 7] + tlv(9, innerIPv4)).0 == .malformed)             // version 1
        #expect(decode(link, [2, 0, 0, 7, 3, 0, 9, 0] + innerIPv4).0 == .malformed)         // a length below 4
        #expect(decode(link, [2, 0, 0, 7] + Array(tlv(10, Array("long prefix".utf8)).prefix(10))).0 == .truncated)
        // the snaplen cut the payload attribute: what was captured is decoded
        let cut = decode(link, Array(([2, 0, 0, 7] + tlv(9, innerIPv4)).dropLast(5)))     // 3 bytes of padding, 2 of payload
        #expect(cut.0 == .tcp && cut.1.payloadTruncated && cut.payload == Array("hel".utf8))
    }

    @Test func gtpUWithExtensionHeaders() throws {
        // flags: version 1, PT 1, E set; G-PDU; length; TEID; seq, N-PDU, next extension 0x85
        // (PDU session container: 1 word), then none
        let gtp: [UInt8] = [0x34, 0xff] + Build.be16(0) + Build.be32(0xabcdef) + [0, 0, 0, 0x85] + [1, 0x10, 0x05, 0x00]
        let p = try #require(innerSegment(Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 2152, gtp + innerIPv4)))))
        #expect(p.encapsulation.text == "gtpu:11259375 192.0.2.10>192.0.2.20")
        // an echo request (type 1) is the tunnel's signalling: a plain datagram of its flow
        let echo: [UInt8] = [0x32, 0x01] + Build.be16(4) + Build.be32(0) + [0, 7, 0, 0]
        let (echoResult, echoPacket, echoPayload, _) = decode(.ethernet, Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 2152, echo))))
        #expect(echoResult == .udp && echoPacket.destinationPort == 2152 && echoPayload == echo)
        // so is an AYIYA heartbeat (opcode 0)
        let heartbeat: [UInt8] = [0x41, 0x52, 0x10, 59] + Build.be32(0) + [UInt8](repeating: 7, count: 36)
        #expect(decode(.ethernet, Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 5072, heartbeat)))).0 == .udp)
        // an extension header of length 0 is malformed, not a loop
        let bad: [UInt8] = [0x34, 0xff] + Build.be16(0) + Build.be32(1) + [0, 0, 0, 0x85] + [0, 0, 0, 0]
        #expect(decode(.ethernet, Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 2152, bad + innerIPv4)))).0 == .malformed)
    }

    @Test func teredoAndAYIYA() throws {
        let origin: [UInt8] = [0, 0, 0xc3, 0x50, 0xc0, 0, 2, 1]
        let teredo = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(sport: 3544, dport: 50000, origin + innerIPv6)))
        #expect(try #require(innerSegment(teredo)).encapsulation.text == "teredo 192.0.2.10>192.0.2.20")
        // identity 2^4 = 16 bytes, signature 5 words = 20 bytes, forward, next header IPv6
        let ayiya: [UInt8] = [0x41, 0x52, 0x11, 41] + Build.be32(0) + [UInt8](repeating: 7, count: 36)
        let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(dport: 5072, ayiya + innerIPv6)))
        #expect(try #require(innerSegment(frame)).encapsulation.text == "ayiya 192.0.2.10>192.0.2.20")
    }

    /// Teredo between a client's mapped port and a relay's, neither 3544: found by
    /// its content when one inner address is a Teredo address and the IPv6 length
    /// fits the datagram exactly; an IPv6-looking payload that fails either stays UDP.
    @Test func teredoOffItsPort() throws {
        var teredoClient = innerIPv6
        teredoClient.replaceSubrange(8..<12, with: [0x20, 0x01, 0, 0])
        let origin: [UInt8] = [0, 0, 0xc3, 0x50, 0xc0, 0, 2, 1]
        for body in [teredoClient, origin + teredoClient] {
            let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(sport: 52010, dport: 40999, body)))
            let p = try #require(innerSegment(frame))
            #expect(p.encapsulation.text == "teredo 192.0.2.10>192.0.2.20")
        }
        // fd77:: addresses at both ends: not Teredo, a plain UDP datagram
        let native = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(sport: 52010, dport: 40999, innerIPv6)))
        #expect(decode(.ethernet, native).0 == .udp)
        // a Teredo address, but one byte more than the IPv6 length announces
        let longer = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(sport: 52010, dport: 40999, teredoClient + [0])))
        #expect(decode(.ethernet, longer).0 == .udp)
        // a bubble (no next header), with bytes after it: Teredo, but no TCP
        let bubble = Build.ipv6(next: 59, body: [0xde, 0xad])
        var teredoBubble = bubble
        teredoBubble.replaceSubrange(8..<12, with: [0x20, 0x01, 0, 0])
        let bubbleFrame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 17, Self.udp(sport: 52010, dport: 40999, teredoBubble)))
        let (result, packet, _, _) = decode(.ethernet, bubbleFrame)
        #expect(result == .nonTCP)
        #expect(packet.encapsulation.text == "teredo 192.0.2.10>192.0.2.20")
    }

    /// Aruba's GRE: an 802.11 data frame, its packet behind LLC/SNAP; an A-MSDU's
    /// packets decoded one subframe at a time; frames that carry no readable packet.
    @Test func arubaWLAN() throws {
        func aruba(_ wlan: [UInt8]) -> [UInt8] {
            Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 47, Build.be16(0) + Build.be16(0x8200) + wlan))
        }
        let address: [UInt8] = [0, 0x0b, 0x86, 0, 0, 1]
        func header(_ control: UInt8, _ flags: UInt8, qos: UInt8? = nil) -> [UInt8] {
            [control, flags, 0, 0] + address + address + address + [0x30, 0x12] + (qos.map { [$0, 0] } ?? [])
        }
        let snap: [UInt8] = [0xaa, 0xaa, 3, 0, 0, 0, 0x08, 0x00]
        // plain data (subtype 0), and QoS data (8)
        #expect(try #require(innerSegment(aruba(header(0x08, 0x01) + snap + innerIPv4))).encapsulation.text
                == "gre 192.0.2.10>192.0.2.20 / wlan")
        #expect(innerSegment(aruba(header(0x88, 0x02, qos: 0) + snap + innerIPv4)) != nil)
        // protected, null data, a management frame: no packet
        #expect(decode(.ethernet, aruba(header(0x88, 0x41, qos: 0) + snap + innerIPv4)).0 == .nonIP)
        #expect(decode(.ethernet, aruba(header(0x48, 0x01))).0 == .nonIP)
        #expect(decode(.ethernet, aruba(header(0x80, 0x00) + [UInt8](repeating: 0, count: 12))).0 == .nonIP)
        // an A-MSDU of two: the first subframe padded to 4 bytes
        func subframe(_ ip: [UInt8]) -> [UInt8] { address + address + Build.be16(snap.count + ip.count) + snap + ip }
        let first = subframe(innerIPv4), second = subframe(Build.ipv4(body: Build.tcp(payload: [0x42])))
        let amsdu = aruba(header(0x88, 0x01, qos: 0x80) + first + [UInt8](repeating: 0, count: -first.count & 3) + second)
        var packet = DecodedPacket()
        let decoder = PacketDecoder(linkType: .ethernet)
        amsdu.withUnsafeBytes { raw in
            #expect(decoder.decode(raw, into: &packet) == .tcp)
            #expect(Array(packet.payload) == hello && packet.moreSubframes)
            #expect(decoder.decode(raw, into: &packet, subframe: 1) == .tcp)
            #expect(Array(packet.payload) == [0x42] && !packet.moreSubframes)
            #expect(packet.encapsulation.text == "gre 192.0.2.10>192.0.2.20 / wlan")
        }
        // a subframe whose length runs past the frame
        let cut = aruba(header(0x88, 0x01, qos: 0x80) + address + address + Build.be16(500) + snap + innerIPv4)
        #expect(decode(.ethernet, cut).0 == .truncated)
    }

    @Test func pbbVNTagAndFabricPath() throws {
        let pbb = Build.ethernet(type: 0x88e7, body: Build.be32(0x0001_e240) + innerFrame)     // I-SID 123456
        #expect(try #require(innerSegment(pbb)).encapsulation.text == "pbb:123456")
        let vntag = Build.ethernet(type: 0x8926, body: Build.be16(0x0005) + Build.be16(0) + Build.be16(0x0800) + innerIPv4)
        #expect(try #require(innerSegment(vntag)).encapsulation.text == "vntag:5")
        let fabricPath = Build.ethernet(type: 0x8903, body: Build.be16(3 << 6 | 63) + innerFrame)
        #expect(try #require(innerSegment(fabricPath)).encapsulation.text == "fabricpath:3")
    }

    /// VXLAN in GRE in IPv6 in IPv4: nesting works; the ninth layer is refused.
    @Test func nestingUpToEightLayers() throws {
        let vxlan = Self.outerIPv4(proto: 17, Self.udp(dport: 4789, [0x08, 0, 0, 0] + Build.be32(1 << 8) + innerFrame))
        let gre = Build.ipv6(next: 47, body: Build.be16(0x2000) + Build.be16(0x0800) + Build.be32(9) + vxlan)
        let frame = Build.ethernet(type: 0x0800, body: Self.outerIPv4(proto: 41, gre))
        let p = try #require(innerSegment(frame))
        #expect(p.encapsulation.text == "ipip 192.0.2.10>192.0.2.20 / gre:9 fd77::2>fd77::1 / vxlan:1 192.0.2.10>192.0.2.20")
        var deep = innerIPv4
        for _ in 0..<9 { deep = Self.outerIPv4(proto: 4, deep) }
        #expect(decode(.raw, deep).0 == .malformed)
        var allowed = innerIPv4
        for _ in 0..<8 { allowed = Self.outerIPv4(proto: 4, allowed) }
        #expect(try #require(innerSegment(allowed, link: .raw)).encapsulation.count == 8)
    }

    /// Tenants: VNIs and GRE keys separate connections; VLAN tags and MPLS labels do not.
    @Test func zones() {
        func zone(_ layers: [EncapsulationLayer]) -> UInt64 {
            var e = Encapsulation()
            for l in layers { e.append(l) }
            return e.zone()
        }
        let a = IPAddress(ipv4: 0xC000_020A), b = IPAddress(ipv4: 0xC000_0214)
        #expect(zone([]) == 0)
        #expect(zone([EncapsulationLayer(kind: .vlan, id: 10)]) == 0)
        #expect(zone([EncapsulationLayer(kind: .mpls, id: 100)]) == 0)
        let vni1 = zone([EncapsulationLayer(kind: .vxlan, id: 1, outerSource: a, outerDestination: b)])
        let vni1Back = zone([EncapsulationLayer(kind: .vxlan, id: 1, outerSource: b, outerDestination: a)])
        let vni2 = zone([EncapsulationLayer(kind: .vxlan, id: 2, outerSource: a, outerDestination: b)])
        #expect(vni1 != 0 && vni1 == vni1Back && vni1 != vni2)
        #expect(zone([EncapsulationLayer(kind: .gre, id: 1)]) != vni1)
        var tagged = Encapsulation()
        tagged.append(EncapsulationLayer(kind: .vlan, id: 10))
        #expect(tagged.zone(vlanAware: true) != 0)
    }
}
