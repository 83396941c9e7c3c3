import Capture
import Decoding
import Reassembly
import Recording
import Store
#if canImport(Glibc)
import Glibc
#endif

/// When the assembler is flushed during a run, in capture time. Mirrors
/// gopacket-oracle's flags: after every `every` TCP packets, buffered data older
/// than `after` is delivered (skipping the holes before it) and connections idle
/// for longer than `closeAfter` are closed.
public struct FlushPolicy: Sendable, Equatable {
    public var every: Int
    public var after: Int64
    public var closeAfter: Int64

    public init(every: Int, after: Int64, closeAfter: Int64) {
        self.every = every
        self.after = after
        self.closeAfter = closeAfter
    }

    public static let never = FlushPolicy(every: 0, after: 0, closeAfter: 0)

    /// Ingest's default: every 100,000 TCP packets, deliver data that waited more
    /// than two minutes for a hole to fill and close connections idle for two
    /// minutes. Memory stays bounded on long captures, and a connection active
    /// within two minutes is never cut.
    public static let ingestDefault = FlushPolicy(every: 100_000, after: 120_000_000_000, closeAfter: 120_000_000_000)
}

/// What one file gave.
public struct FileResult: Sendable, Equatable {
    public var counters = DecodeCounters()
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    public var dlt: Int32 = 0
    public var linkTypeName = ""
    public var snaplen = 0
    /// Where reading ended in the file (its size, unless it changed meanwhile); nil for stdin.
    public var endOffset: Int?
}

/// read → decode → assemble. Several files feed one assembler, in order, so a
/// connection spanning rotated files is one stream.
public final class Pipeline<Factory: StreamFactory> {
    public let assembler: Assembler<Factory>
    public let cursor: PacketCursor
    public let flushPolicy: FlushPolicy
    /// VLAN ids separate connections too (by default they are recorded only:
    /// SPAN ports often tag the two directions of a connection differently).
    public var vlanAware = false
    /// Reassembles IP fragments before TCP decoding; nil skips them (gopacket's way,
    /// which `flowdb events` keeps for the comparison with it).
    public var defragmenter: Defragmenter?
    /// Records UDP and ICMP flows; nil leaves them counted only (`flowdb events`,
    /// which compares TCP with gopacket).
    public var datagrams: DatagramRecorder?
    var tcpPackets = 0

    public init(factory: Factory, cursor: PacketCursor, options: AssemblerOptions, flushPolicy: FlushPolicy) {
        assembler = Assembler(factory: factory, options: options)
        self.cursor = cursor
        self.flushPolicy = flushPolicy
    }

    /// Reads one file to its end. `opened` is called once the file is open (for
    /// the archive's capture row). On a read error the packets before it have been
    /// assembled, and `partial` receives what was counted.
    /// `tick` runs every 4096 packets (progress, committing batches).
    /// With `stream`, the capture is read from it (libpcap closes it) and `path` only names it.
    public func run(path: String, stream: UnsafeMutablePointer<FILE>? = nil, filter: String?,
                    opened: (CaptureReader) throws -> Void = { _ in },
                    tick: (CaptureReader, FileResult) throws -> Void = { _, _ in },
                    partial: (FileResult) -> Void = { _ in }) throws -> FileResult {
        let reader = if let stream {
            try CaptureReader(path: path, stream: stream, filter: filter)
        } else {
            try CaptureReader(path: path, filter: filter)
        }
        cursor.fileIndex += 1
        try opened(reader)
        var result = FileResult(dlt: reader.dlt, linkTypeName: reader.linkTypeName, snaplen: reader.snaplen)
        let decoder = PacketDecoder(linkType: LinkType(dlt: reader.dlt))
        var packet = DecodedPacket()
        let defragStart = defragmenter?.counters ?? Defragmenter.Counters()
        let evictedStart = datagrams?.evicted ?? 0
        defer { cursor.packetIndex = -1 }
        var sinceTick = 0
        do {
            while let raw = try reader.next() {
                sinceTick &+= 1
                if sinceTick & 4095 == 0 { try tick(reader, result) }
                feed(raw, decoder: decoder, packet: &packet, result: &result)
            }
        } catch {
            result.counters.add(defragmenter?.counters, since: defragStart)
            result.counters.datagramFlowsEvicted += (datagrams?.evicted ?? 0) - evictedStart
            partial(result)
            throw error
        }
        result.counters.add(defragmenter?.counters, since: defragStart)
        result.counters.datagramFlowsEvicted += (datagrams?.evicted ?? 0) - evictedStart
        result.endOffset = reader.byteOffset
        return result
    }

    /// Decodes one packet record and feeds its TCP segment (or, with the last
    /// fragment of a datagram, the rebuilt one) to the assembler, counting it in `result`.
    /// A record holding several packets (an 802.11 A-MSDU) feeds each in turn; it
    /// is counted once, by its first.
    @inline(__always)
    public func feed(_ raw: CapturedPacket, decoder: PacketDecoder, packet: inout DecodedPacket, result: inout FileResult) {
        if result.firstTimestamp == nil { result.firstTimestamp = raw.timestamp }
        result.lastTimestamp = raw.timestamp
        let decoded = decoder.decode(raw.bytes, into: &packet)
        result.counters.record(decoded, capturedBytes: raw.bytes.count, payloadTruncated: packet.payloadTruncated)
        result.counters.record(packet.encapsulation)
        if !packet.encapsulation.isEmpty { recordTunnel(packet.encapsulation, from: 0, raw) }
        handle(decoded, raw, decoder: decoder, packet: &packet, result: &result)
        var subframe = 1
        while packet.moreSubframes {
            let next = decoder.decode(raw.bytes, into: &packet, subframe: subframe)
            handle(next, raw, decoder: decoder, packet: &packet, result: &result)
            subframe += 1
        }
    }

    @inline(__always)
    private func handle(_ decoded: DecodeResult, _ raw: CapturedPacket, decoder: PacketDecoder, packet: inout DecodedPacket,
                        result: inout FileResult) {
        if decoded == .fragment, let defragmenter {
            let zone = packet.encapsulation.isEmpty ? 0 : packet.encapsulation.zone(vlanAware: vlanAware)
            if let datagram = defragmenter.add(raw.bytes, packet.fragment, zone: zone, timestamp: raw.timestamp,
                                               source: RecordLocation(index: raw.index, offset: raw.offset)) {
                datagram.withUnsafeBytes { bytes in
                    let outside = packet.encapsulation.count
                    let inner = decoder.decodeReassembled(bytes, into: &packet)
                    // a tunnel inside the rebuilt datagram (its outer IP was fragmented): its flow's packet
                    if packet.encapsulation.count > outside {
                        recordTunnel(packet.encapsulation, from: outside, raw, fragments: defragmenter.completedSources)
                    }
                    if inner == .udp || inner == .icmp {
                        datagrams?.record(packet, udp: inner == .udp, timestamp: raw.timestamp,
                                          location: RecordLocation(index: raw.index, offset: raw.offset),
                                          fragments: defragmenter.completedSources, conflicts: defragmenter.completedConflicts)
                        return
                    }
                    guard inner == .tcp else { return }
                    // the datagram's packets are the records of all its fragments
                    cursor.fragmentRecords = defragmenter.completedSources
                    cursor.fragmentConflicts = defragmenter.completedConflicts
                    assemble(packet, index: raw.index, offset: raw.offset,
                             context: CaptureInfo(timestamp: raw.timestamp, captureLength: bytes.count, length: bytes.count))
                    cursor.fragmentRecords = []
                    cursor.fragmentConflicts = []
                }
            }
            return
        }
        if decoded == .udp || decoded == .icmp {
            datagrams?.record(packet, udp: decoded == .udp, timestamp: raw.timestamp,
                              location: RecordLocation(index: raw.index, offset: raw.offset))
            return
        }
        guard decoded == .tcp else { return }
        if packet.headerCut { result.counters.tcpHeadersCut += 1 }
        if packet.badOptions { result.counters.tcpBadOptions += 1 }
        assemble(packet, index: raw.index, offset: raw.offset,
                 context: CaptureInfo(timestamp: raw.timestamp, captureLength: raw.bytes.count, length: raw.wireLength))
    }

    /// Gives the outermost UDP tunnel among `layers` (from index `from` on) its
    /// packet in the tunnel's own flow.
    private func recordTunnel(_ layers: Encapsulation, from start: Int, _ raw: CapturedPacket, fragments: [RecordLocation] = []) {
        guard let datagrams else { return }
        for i in start..<layers.count where layers[i].outerPorts != 0 {
            datagrams.recordTunnel(layers[i], timestamp: raw.timestamp, location: RecordLocation(index: raw.index, offset: raw.offset),
                                   fragments: fragments)
            return
        }
    }

    /// Feeds one decoded TCP segment to the assembler (and flushes when due).
    @inline(__always)
    private func assemble(_ packet: DecodedPacket, index: Int, offset: Int64, context: CaptureInfo) {
        cursor.packetIndex = index
        cursor.recordOffset = offset
        cursor.ipLength = packet.ipLength
        cursor.payloadLength = packet.payloadLength
        cursor.hopLimit = packet.hopLimit
        cursor.urgentPointer = packet.urgentPointer
        cursor.badOptions = packet.badOptions
        var context = context
        context.packetIndex = index
        if !packet.encapsulation.isEmpty || !cursor.encapsulation.isEmpty {
            cursor.encapsulation = packet.encapsulation
        }
        assembler.assemble(TCPSegment(packet), key: FlowKey(packet, vlanAware: vlanAware), context: context)
        cursor.packetIndex = -1
        tcpPackets += 1
        if flushPolicy.every > 0 && tcpPackets % flushPolicy.every == 0 {
            _ = assembler.flush(olderThan: context.timestamp &- flushPolicy.after,
                                closeOlderThan: context.timestamp &- flushPolicy.closeAfter)
        }
    }

    /// Delivers everything still buffered and completes every stream.
    public func finish() {
        cursor.packetIndex = -1
        _ = assembler.flushAll()
        datagrams?.finishAll()
    }
}

extension Address {
    init(_ address: IPAddress) {
        self.init(high: address.high, low: address.low, isIPv6: address.isIPv6)
    }
}

extension FlowKey {
    /// The packet's innermost 4-tuple, in the zone of the tunnels around it.
    init(_ p: DecodedPacket, vlanAware: Bool = false) {
        self.init(source: Address(p.source), destination: Address(p.destination),
                  sourcePort: p.sourcePort, destinationPort: p.destinationPort,
                  zone: p.encapsulation.isEmpty ? 0 : p.encapsulation.zone(vlanAware: vlanAware))
    }
}

extension TCPSegment {
    init(_ p: DecodedPacket) {
        self.init(sequence: p.sequence, acknowledgment: p.acknowledgment, flags: TCPFlags(rawValue: p.flags),
                  window: p.window, options: p.options, payload: p.payload)
    }
}

extension DecodeCounters {
    /// Adds what a defragmenter counted since `start`.
    mutating func add(_ now: Defragmenter.Counters?, since start: Defragmenter.Counters) {
        guard let now else { return }
        datagramsReassembled += now.reassembled - start.reassembled
        fragmentsExpired += now.expired - start.expired
        fragmentOverlaps += now.overlapsDiffering - start.overlapsDiffering
        oversizedDatagrams += now.oversized - start.oversized
    }
}
