import ArgumentParser
import Ingest
import Recording

/// The options of how traffic is reassembled and recorded, declared once for
/// `ingest` and `capture`: every one exists for both.
struct RecordingOptionGroup: ParsableArguments {
    @OptionGroup var assembly: AssemblyOptions

    @Option(help: "A BPF filter, compiled by libpcap (e.g. 'tcp port 443').")
    var filter: String?

    @Flag(help: "Store metadata only: deliveries, gaps and flows without their bytes.")
    var noPayload = false

    @Option(help: "Store at most N bytes of each direction of a flow; the rest is counted, not stored.")
    var maxBytesPerFlow: Int?

    @Option(help: "Payload bytes gathered before each write transaction (memory vs. fewer commits; a live capture uses at most 8 MB).")
    var batchBytes: Int = 32 << 20

    @Option(help: ArgumentHelp("Packets this long after a connection closed (capture time) still belong to it, like Zeek's tcp_close_delay; 0: none.", valueName: "duration"))
    var closeDelay: String = "5s"

    @Option(help: ArgumentHelp("A connection idle this long (capture time) is over: a later packet starts a new one, like Zeek's tcp_inactivity_timeout; 0: never.", valueName: "duration"))
    var tcpInactivityTimeout: String = "5m"

    @Option(help: ArgumentHelp("A UDP or ICMP flow idle this long (capture time) is over: a later datagram starts a new one, like Zeek's udp_inactivity_timeout.", valueName: "duration"))
    var udpTimeout: String = "1m"

    @Option(help: "UDP and ICMP flows tracked at once; past it (a flood of spoofed sources) those idle longest are written and let go, and counted.")
    var maxDatagramFlows: Int = 250_000

    @Flag(help: "VLAN ids separate connections (by default they are recorded but not part of a connection's identity: SPAN ports often tag the two directions differently).")
    var vlanAware = false

    @Option(help: ArgumentHelp("How long (capture time) a fragmented datagram waits for its fragments.", valueName: "duration"))
    var fragTimeout: String = "30s"

    @Option(help: "Bytes held for IP datagrams waiting for fragments (the oldest are dropped past it); 0 skips fragments.")
    var maxFragMemory: Int = 64 << 20

    @Flag(help: "Do not look for HTTP, TLS and SSH in the flows (faster; the http, tls and ssh tables stay empty).")
    var noApps = false

    func validate() throws {
        if let n = maxBytesPerFlow, n < 0 { throw ValidationError("--max-bytes-per-flow must not be negative") }
        if batchBytes < 1 { throw ValidationError("--batch-bytes must be positive") }
        if Durations.nanoseconds(closeDelay) == nil { throw ValidationError("--close-delay: not a duration: \(closeDelay)") }
        if Durations.nanoseconds(tcpInactivityTimeout) == nil {
            throw ValidationError("--tcp-inactivity-timeout: not a duration: \(tcpInactivityTimeout)")
        }
        if let t = Durations.nanoseconds(udpTimeout), t > 0 {} else { throw ValidationError("--udp-timeout: not a positive duration: \(udpTimeout)") }
        if maxDatagramFlows < 1 { throw ValidationError("--max-datagram-flows must be positive") }
        if Durations.nanoseconds(fragTimeout) == nil { throw ValidationError("--frag-timeout: not a duration: \(fragTimeout)") }
        if maxFragMemory < 0 { throw ValidationError("--max-frag-memory must not be negative") }
    }

    /// The options as the pipeline takes them; `flushDefaults` for the flush
    /// options not given.
    func options(flushDefaults: FlushPolicy) -> RecordingOptions {
        var o = RecordingOptions()
        o.assembler = assembly.assembler
        o.flushPolicy = assembly.flushPolicy(defaults: flushDefaults)
        o.payload = PayloadPolicy(maxBytesPerDirection: noPayload ? 0 : maxBytesPerFlow)
        o.batchBytes = batchBytes
        o.closeDelay = Durations.nanoseconds(closeDelay) ?? o.closeDelay
        o.inactivityTimeout = Durations.nanoseconds(tcpInactivityTimeout) ?? o.inactivityTimeout
        o.datagramTimeout = Durations.nanoseconds(udpTimeout) ?? o.datagramTimeout
        o.maxDatagramFlows = maxDatagramFlows
        o.vlanAware = vlanAware
        o.maxFragmentMemory = maxFragMemory
        o.fragmentTimeout = Durations.nanoseconds(fragTimeout) ?? o.fragmentTimeout
        o.parseApplications = !noApps
        return o
    }
}
