import Decoding
import Reassembly
import Store

/// What the archive keeps about a capture's packets (capture table).
public struct CaptureTotals: Sendable, Equatable {
    public var counters = DecodeCounters()
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    public init(counters: DecodeCounters = DecodeCounters(), firstTimestamp: Int64? = nil, lastTimestamp: Int64? = nil) {
        self.counters = counters
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
    }
}

/// A live capture's counters from the kernel (libpcap's `pcap_stats`), for its
/// `capture` row: packets handed to the capture, dropped by the kernel, dropped
/// by the interface.
public struct LiveCounters: Sendable, Equatable {
    public var received: Int
    public var kernelDrops: Int
    public var interfaceDrops: Int
    public init(received: Int, kernelDrops: Int, interfaceDrops: Int) {
        self.received = received
        self.kernelDrops = kernelDrops
        self.interfaceDrops = interfaceDrops
    }
}

/// How much of each direction's bytes is stored.
public struct PayloadPolicy: Sendable, Equatable {
    /// Bytes stored per direction of a flow; nil: all of them. 0 keeps metadata only.
    public var maxBytesPerDirection: Int?
    public init(maxBytesPerDirection: Int? = nil) { self.maxBytesPerDirection = maxBytesPerDirection }
}

/// The rows of one write transaction, filled on the reassembly thread
/// (`ArchiveWriter`) and handed whole to the writer thread (`BatchWriter`).
final class Batch {
    var flows: [FlowRow] = []
    var deliveries: [DeliveryRow] = []
    var gaps: [GapRow] = []
    var flowUpdates: [RecordingStream.Totals] = []
    var runs: [Run] = []
    var packetBlocks: [PacketBlockRow] = []
    /// Rows of `Tables.http`, `.tls` and `.ssh`.
    var http: [RowValues] = []
    var tls: [RowValues] = []
    var ssh: [RowValues] = []
    var dns: [RowValues] = []
    /// Rows of `Tables.anomaly`.
    var anomalies: [RowValues] = []
    /// Rows of `Tables.overlapConflict`.
    var conflicts: [RowValues] = []
    /// The text of the flows' last packet blocks, which their totals point into.
    var text: [UInt8] = []

    var isEmpty: Bool {
        flows.isEmpty && deliveries.isEmpty && gaps.isEmpty && flowUpdates.isEmpty && packetBlocks.isEmpty
            && http.isEmpty && tls.isEmpty && ssh.isEmpty && dns.isEmpty && anomalies.isEmpty && conflicts.isEmpty
    }
}

/// A new flow's row.
struct FlowRow {
    var id: Int64, captureID: Int64, isIPv6: Bool
    var client: Address, clientPort: UInt16, server: Address, serverPort: UInt16
    var firstTimestamp: Int64, firstPacket: Int
    /// The tunnels around the packet that opened it (`flow.encapsulation`).
    var encapsulation: String?
    /// Its transport (`flow.proto`).
    var proto: Transport = .tcp
    /// The flow it goes on from in the archive before (`ARCHIVE:ID`), across an archive period's boundary.
    var continuesFrom: String?
    /// The flow's totals when it finished before its row was written: one
    /// INSERT then replaces an INSERT and an UPDATE. Taken at the commit.
    var totals: RecordingStream.Totals?
    /// The flow's record, until the commit takes its totals (reassembly thread only).
    var flow: FlowState?
    /// What the row holds before the flow's first totals arrive.
    var initialTotals: RecordingStream.Totals {
        RecordingStream.Totals(flowID: id, lastTimestamp: firstTimestamp)
    }
}

/// Where a flow's row waits: in batch `generation`, at `row` of its flows.
struct FlowHandle { var id: Int64, generation: Int, row: Int }

struct DeliveryRow {
    var id: Int64, flowID: Int64, dir: Int, isStart: Bool, isEnd: Bool, skip: Int, length: Int, stored: Int
    var payloadID: Int64, payloadOffset: Int, streamOffset: Int64
    var tsFirst: Int64?, tsLast: Int64?
    var stats: ReassemblyStats
    /// The capture index of the packet that carried its first byte (-1: not known).
    var firstPacket: Int
}

struct GapRow { var flowID: Int64, dir: Int, streamOffset: Int64, length: Int?, timestamp: Int64? }

struct PacketBlockRow {
    var flowID: Int64, block: Int, captureID: Int64, packets: Int, first: Int, last: Int, records: [UInt8]
}

/// A run of one direction's stored bytes, becoming one payload row. It joins
/// its batch when created, and takes bytes until it is full, the stream skips,
/// or its batch is committed (`generation` then differs from the writer's).
final class Run {
    let id: Int64, flowID: Int64, dir: Int, streamOffset: Int64, generation: Int
    var bytes: [UInt8] = []
    /// The direction's run before this one in the same batch, while the batch lives
    /// (weak: a written batch's runs are not kept for it).
    weak var previous: Run?
    /// Stream offset just past the run's last byte: a run holds contiguous bytes only.
    var end: Int64 { streamOffset + Int64(bytes.count) }
    init(id: Int64, flowID: Int64, dir: Int, streamOffset: Int64, generation: Int) {
        self.id = id; self.flowID = flowID; self.dir = dir; self.streamOffset = streamOffset
        self.generation = generation
    }
}

/// A flow's transport, as `flow.proto` (and Zeek's conn.log) spells it.
public enum Transport: UInt8, Sendable {
    case tcp, udp, icmp

    public var name: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .icmp: "icmp"
        }
    }
}
