import Applications
import Connections
import Decoding
import Reassembly

/// Records UDP datagrams and ICMP messages as flows: who sent what to whom, each
/// datagram's payload as a delivery of its own, every packet's place in the
/// capture, and Zeek's `conn_state` for them.
///
/// A flow is, as Zeek's: for UDP the addresses and ports (and tenant zone) within
/// an inactivity timeout; for ICMP echo the addresses and the echo identifier (a
/// request and its reply together); for any other ICMP message the addresses, the
/// direction, type and code. A flow idle longer than the timeout is over, and its
/// next packet starts another. At most `maximumFlows` are tracked at once: past
/// that (a flood of spoofed sources) the ones idle longest are written and let go,
/// and counted in `evicted`.
public final class DatagramRecorder {
    let writer: ArchiveWriter
    /// Nanoseconds of capture time a flow may be idle and go on (Zeek's
    /// `udp_inactivity_timeout` and `icmp_inactivity_timeout`: one minute).
    public let timeout: Int64
    public let maximumFlows: Int
    public var vlanAware = false
    /// Flows let go before their timeout because `maximumFlows` were tracked.
    public private(set) var evicted = 0

    private var flows: [Key: FlowState] = [:]
    /// Capture time of the last sweep for idle flows.
    private var sweptAt = Int64.min

    struct Key: Hashable {
        var flow: FlowKey
        /// 17: UDP; 1: ICMP echo (keyed by identifier); 2: other ICMP (keyed by type and code, one way).
        var kind: UInt8

        func hash(into hasher: inout Hasher) {
            hasher.combine(flow)
            hasher.combine(kind)
        }

        /// The flow key's fast keyed hash (not SipHash: one per datagram), the kind in its seed.
        func _rawHashValue(seed: Int) -> Int {
            flow._rawHashValue(seed: seed ^ Int(kind) &* 0x9e37_79b9)
        }
    }

    public init(writer: ArchiveWriter, timeout: Int64 = 60_000_000_000, maximumFlows: Int = 250_000) {
        self.writer = writer
        self.timeout = timeout
        self.maximumFlows = max(1, maximumFlows)
    }

    /// Flows tracked now.
    public var count: Int { flows.count }

    /// Records one `.udp` or `.icmp` packet from the record `location`; a datagram
    /// put back together from fragments came from the records `fragments` (then
    /// `location` is the last of them).
    public func record(_ p: DecodedPacket, udp: Bool, timestamp: Int64, location: RecordLocation,
                       fragments: [RecordLocation] = [], conflicts: [FragmentConflict] = []) {
        let zone = p.encapsulation.isEmpty ? 0 : p.encapsulation.zone(vlanAware: vlanAware)
        let isIPv6 = p.source.isIPv6
        let source = Address(high: p.source.high, low: p.source.low, isIPv6: isIPv6)
        let destination = Address(high: p.destination.high, low: p.destination.low, isIPv6: isIPv6)
        let key: Key
        let packetKey: FlowKey
        if udp {
            packetKey = FlowKey(source: source, destination: destination, sourcePort: p.sourcePort,
                                destinationPort: p.destinationPort, zone: zone)
            key = Key(flow: packetKey.canonical, kind: 17)
        } else if p.icmpIdentifier != 0 || Self.isEcho(p.icmpType, isIPv6: isIPv6) {
            packetKey = FlowKey(source: source, destination: destination, sourcePort: p.icmpIdentifier,
                                destinationPort: p.icmpIdentifier, zone: zone)
            key = Key(flow: packetKey.canonical, kind: 1)
        } else {
            packetKey = FlowKey(source: source, destination: destination, sourcePort: UInt16(p.icmpType),
                                destinationPort: UInt16(p.icmpCode), zone: zone)
            key = Key(flow: packetKey, kind: 2)
        }
        let state = tracked(key, at: timestamp)
            ?? open(p, udp: udp, packetKey: packetKey, key: key, timestamp: timestamp, firstPacket: fragments.first?.index ?? location.index)
        let fromClient = state.isFromClient(packetKey)
        add(p, to: state, fromClient: fromClient, timestamp: timestamp, location: location, fragments: fragments)
        if !conflicts.isEmpty { writer.noteFragmentConflicts(conflicts, of: state, dir: fromClient ? 0 : 1, timestamp: timestamp) }
    }

    /// The flow tracked under `key`, unless it was idle longer than the timeout
    /// (then it is over, and written); sweeps for idle flows when due.
    private func tracked(_ key: Key, at timestamp: Int64) -> FlowState? {
        if timestamp &- sweptAt > timeout / 2 || flows.count >= maximumFlows { sweep(now: timestamp) }
        guard let flow = flows[key] else { return nil }
        guard timestamp &- flow.totals.lastTimestamp <= timeout else {
            finish(flow)
            flows[key] = nil
            return nil
        }
        return flow
    }

    /// A new flow's row and record, tracked under `key`.
    private func start(_ key: Key, isIPv6: Bool, client: Address, clientPort: UInt16, row: (client: UInt16, server: UInt16),
                       server: Address, timestamp: Int64, firstPacket: Int, encapsulation: String?,
                       transport: DatagramConnection.Transport) -> FlowState {
        let handle = writer.addFlow(isIPv6: isIPv6, client: client, clientPort: row.client, server: server, serverPort: row.server,
                                    firstTimestamp: timestamp, firstPacket: firstPacket, encapsulation: encapsulation,
                                    proto: transport == .udp ? .udp : .icmp)
        let flow = FlowState(handle: handle, key: key.flow, client: client, clientPort: clientPort, firstTimestamp: timestamp,
                             flipped: false, buffers: writer.buffers)
        flow.datagram = DatagramConnection(transport)
        writer.attach(flow)
        writer.opened(flow)
        flows[key] = flow
        return flow
    }

    /// Counts one packet of `flow`: its time, its IP length, its place in the capture.
    private func count(_ flow: FlowState, dir: Int, ipLength: Int, timestamp: Int64, location: RecordLocation,
                       fragments: [RecordLocation]) {
        flow.changes &+= 1
        if timestamp > flow.totals.lastTimestamp { flow.totals.lastTimestamp = timestamp }
        flow.totals.packets[dir] += 1
        flow.totals.ipBytes[dir] += ipLength
        if fragments.isEmpty {
            writer.recordPacket(flow, index: location.index, offset: location.offset)
        } else {
            for f in fragments { writer.recordPacket(flow, index: f.index, offset: f.offset) }
        }
        flow.datagram?.observe(fromOriginator: dir == 0)
    }

    /// Records the outer UDP datagram of a tunnelled packet as a packet of the
    /// tunnel's own flow (Zeek's vxlan, geneve, gtpv1, teredo, ayiya connection):
    /// its packets and IP bytes each way, its place in the capture; the bytes it
    /// carries are the inner packets, recorded in their own flows, so no delivery.
    public func recordTunnel(_ layer: EncapsulationLayer, timestamp: Int64, location: RecordLocation,
                             fragments: [RecordLocation] = [], conflicts: [FragmentConflict] = []) {
        guard let service = layer.udpService, let outerSource = layer.outerSource, let outerDestination = layer.outerDestination
        else { return }
        let sourcePort = UInt16(layer.outerPorts >> 16), destinationPort = UInt16(layer.outerPorts & 0xffff)
        let packetKey = FlowKey(source: Address(high: outerSource.high, low: outerSource.low, isIPv6: outerSource.isIPv6),
                                destination: Address(high: outerDestination.high, low: outerDestination.low,
                                                     isIPv6: outerDestination.isIPv6),
                                sourcePort: sourcePort, destinationPort: destinationPort)
        let key = Key(flow: packetKey.canonical, kind: 17)
        let state: FlowState
        if let flow = tracked(key, at: timestamp) {
            state = flow
        } else {
            let flipped = DatagramConnection.responderSentFirst(sourcePort: sourcePort, destinationPort: destinationPort)
            let (client, server) = flipped ? (packetKey.destination, packetKey.source) : (packetKey.source, packetKey.destination)
            let ports = flipped ? (destinationPort, sourcePort) : (sourcePort, destinationPort)
            state = start(key, isIPv6: outerSource.isIPv6, client: client, clientPort: ports.0, row: ports, server: server,
                          timestamp: timestamp, firstPacket: fragments.first?.index ?? location.index, encapsulation: nil,
                          transport: .udp)
        }
        // named here also when its signalling (a GTP echo) opened it
        if state.appName == nil { writer.setApplication(state, app: service, host: nil) }
        count(state, dir: state.isFromClient(packetKey) ? 0 : 1, ipLength: Int(layer.outerIPLength), timestamp: timestamp,
              location: location, fragments: fragments)
    }

    static func isEcho(_ type: UInt8, isIPv6: Bool) -> Bool {
        isIPv6 ? (type == 128 || type == 129) : (type == 8 || type == 0)
    }

    /// A new flow's row and record: its originator by Zeek's rules, and for ICMP
    /// the type and code in the port columns.
    private func open(_ p: DecodedPacket, udp: Bool, packetKey: FlowKey, key: Key, timestamp: Int64,
                      firstPacket: Int) -> FlowState {
        let isIPv6 = p.source.isIPv6
        let flipped = udp
            ? DatagramConnection.responderSentFirst(sourcePort: p.sourcePort, destinationPort: p.destinationPort)
            : DatagramConnection.isICMPAnswer(type: p.icmpType, isIPv6: isIPv6)
        let (client, clientPort, server) = flipped
            ? (packetKey.destination, packetKey.destinationPort, packetKey.source)
            : (packetKey.source, packetKey.sourcePort, packetKey.destination)
        let rowPorts: (UInt16, UInt16)
        if udp {
            rowPorts = flipped ? (p.destinationPort, p.sourcePort) : (p.sourcePort, p.destinationPort)
        } else {
            rowPorts = (UInt16(DatagramConnection.icmpRequestType(p.icmpType, isIPv6: isIPv6)), UInt16(p.icmpCode))
        }
        return start(key, isIPv6: isIPv6, client: client, clientPort: clientPort, row: rowPorts, server: server,
                     timestamp: timestamp, firstPacket: firstPacket,
                     encapsulation: p.encapsulation.isEmpty ? nil : p.encapsulation.text, transport: udp ? .udp : .icmp)
    }

    /// One packet of `flow`: its counts, its place in the capture, its payload.
    private func add(_ p: DecodedPacket, to flow: FlowState, fromClient: Bool, timestamp: Int64,
                     location: RecordLocation, fragments: [RecordLocation]) {
        let dir = fromClient ? 0 : 1
        count(flow, dir: dir, ipLength: p.ipLength, timestamp: timestamp, location: location, fragments: fragments)
        let length = p.payload.count
        if writer.parsesApplications, flow.datagram?.transport == .udp,
           DNS.isPort(p.sourcePort) || DNS.isPort(p.destinationPort),
           let message = DNS.parse(p.payload, cut: p.payloadTruncated) {
            DNSRecorder.message(message, at: timestamp, flow: flow, writer: writer)
        } else if writer.parsesApplications, flow.datagram?.transport == .udp, length > 0, p.payload[0] & 0xc0 == 0xc0 {
            if fromClient {
                if flow.quic?.done != true { QUICRecorder.clientDatagram(p.payload, at: timestamp, flow: flow, writer: writer) }
            } else if flow.quic?.serverDone == false {
                QUICRecorder.serverDatagram(p.payload, flow: flow, writer: writer)
            }
        }
        // bytes the snaplen cut off are missed, as a TCP gap's are
        flow.totals.missed[dir] += max(0, p.payloadLength - length)
        guard length > 0 else { return }
        var store = length
        if let limit = writer.payloadPolicy.maxBytesPerDirection {
            store = max(0, min(length, limit - flow.totals.stored[dir]))
        }
        writer.addDatagram(flowID: flow.totals.flowID, dir: dir, run: &flow.openRuns[dir], bytes: p.payload, store: store,
                           streamOffset: flow.offsets[dir], isStart: flow.offsets[dir] == 0, timestamp: timestamp)
        flow.offsets[dir] += Int64(length)
        flow.totals.bytes[dir] += length
        flow.totals.stored[dir] += store
        flow.totals.dataPackets[dir] += 1
    }

    /// A flow is over: its totals are written.
    private func finish(_ flow: FlowState) {
        DNSRecorder.finish(flow, writer: writer)
        flow.finished = true
        flow.openRuns = PerDirection(nil)
        writer.finishFlow(flow)
    }

    /// Ends the flows idle longer than the timeout at `now`; when the table is
    /// full, also the eighth of it idle longest.
    private func sweep(now: Int64) {
        sweptAt = now
        var over: [Key] = []
        for (key, flow) in flows where now &- flow.totals.lastTimestamp > timeout { over.append(key) }
        for key in over { finish(flows.removeValue(forKey: key)!) }
        guard flows.count >= maximumFlows else { return }
        let times = flows.values.map(\.totals.lastTimestamp).sorted()
        let cutoff = times[min(times.count - 1, max(0, times.count / 8 - 1))]
        var oldest: [Key] = []
        for (key, flow) in flows where flow.totals.lastTimestamp <= cutoff { oldest.append(key) }
        for key in oldest { finish(flows.removeValue(forKey: key)!) }
        evicted += oldest.count
    }

    /// Ends every flow (the end of the input).
    public func finishAll() {
        for flow in flows.values { finish(flow) }
        flows.removeAll()
    }
}
