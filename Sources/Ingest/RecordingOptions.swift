import Decoding
import Reassembly
import Recording
import Store

/// How a run reassembles and records what it reads: the options `flowdb ingest`
/// and `flowdb capture` share, so that each exists for both.
public struct RecordingOptions: Sendable {
    public var assembler = AssemblerOptions()
    /// When buffered data is delivered and idle connections closed. A live capture
    /// applies `after` and `closeAfter` in wall-clock time and ignores `every`.
    public var flushPolicy = FlushPolicy.never
    public var payload = PayloadPolicy()
    /// Payload bytes gathered before each write transaction (a live capture uses at most 8 MB).
    public var batchBytes = 32 << 20
    /// Largest payload run (one row of `payload`).
    public var runBytes = 256 << 10
    /// Most deliveries in one `delivery_block` row.
    public var deliveriesPerBlock = 4096
    /// Capture time during which packets after a connection closed (the last ACK,
    /// a retransmitted FIN or RST, late data) still belong to it, as Zeek's
    /// `tcp_close_delay`; 0 gives each such stream a flow of its own, as gopacket does.
    public var closeDelay: Int64 = 5_000_000_000
    /// Capture time a connection may be idle and go on; a later packet starts a new
    /// connection (Zeek's `tcp_inactivity_timeout`, 5 minutes). 0: never.
    public var inactivityTimeout: Int64 = 300_000_000_000
    /// VLAN ids separate connections (`--vlan-aware`); by default they are only recorded.
    public var vlanAware = false
    /// Bytes held for incomplete fragmented datagrams (0: fragments are skipped,
    /// not reassembled), and how long (capture time) a datagram waits for its fragments.
    public var maxFragmentMemory = 64 << 20
    public var fragmentTimeout: Int64 = 30_000_000_000
    /// Recognise HTTP, TLS and SSH and record what they say (`--no-apps` turns it off).
    public var parseApplications = true
    /// Capture time a UDP or ICMP flow may be idle and go on (Zeek's
    /// `udp_inactivity_timeout`, 1 minute); and how many such flows are tracked at
    /// once (past that, those idle longest are written and let go, and counted).
    public var datagramTimeout: Int64 = 60_000_000_000
    public var maxDatagramFlows = 250_000

    public init() {}
}

/// The recording pipeline both commands run, built in one place: the archive
/// writer with its limits, the recording streams, the assembler, the defragmenter.
struct RecordingPipeline {
    let writer: ArchiveWriter
    let pipeline: Pipeline<RecordingStream.Factory>

    /// `live`: for `flowdb capture`: more batches in flight (the interface does
    /// not wait for the disk) but smaller ones (memory stays near 6 × 8 MB), open
    /// flows' totals written at each commit, and flushes by the clock, not by packet count.
    init(archive: Archive, options o: RecordingOptions, live: Bool) throws {
        writer = try ArchiveWriter(archive: archive, payloadPolicy: o.payload, depth: live ? 6 : 2)
        writer.batchBytes = live ? min(o.batchBytes, 8 << 20) : o.batchBytes
        writer.runBytes = o.runBytes
        writer.deliveriesPerBlock = max(1, o.deliveriesPerBlock)
        writer.parsesApplications = o.parseApplications
        writer.recordsOpenFlows = live
        let cursor = PacketCursor()
        let factory = RecordingStream.Factory(writer: writer, cursor: cursor, closeDelay: o.closeDelay,
                                              inactivityTimeout: o.inactivityTimeout)
        var policy = o.flushPolicy
        if live { policy.every = 0 }
        pipeline = Pipeline(factory: factory, cursor: cursor, options: o.assembler, flushPolicy: policy)
        pipeline.vlanAware = o.vlanAware
        let datagrams = DatagramRecorder(writer: writer, timeout: o.datagramTimeout, maximumFlows: o.maxDatagramFlows)
        datagrams.vlanAware = o.vlanAware
        pipeline.datagrams = datagrams
        if o.maxFragmentMemory > 0 {
            pipeline.defragmenter = Defragmenter(maxMemory: o.maxFragmentMemory, timeout: o.fragmentTimeout)
        }
    }
}
