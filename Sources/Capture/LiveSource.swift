import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// A failure to open or read a network interface.
public enum LiveCaptureError: Error, Equatable, CustomStringConvertible {
    /// Capturing needs privileges the process lacks.
    case permission(interface: String, message: String)
    /// No interface of that name.
    case noSuchInterface(interface: String, message: String)
    /// Any other failure to open it (down, unsupported, out of memory, ...).
    case open(interface: String, message: String)
    /// The BPF filter did not compile or could not be set.
    case badFilter(interface: String, filter: String, message: String)
    /// Reading failed after the capture began (the interface went away, say).
    case read(interface: String, packets: Int, message: String)

    public var description: String {
        switch self {
        case let .permission(interface, message):
            "\(interface): capturing needs root or the CAP_NET_RAW capability (\(message)); run it as root, or grant it once: setcap cap_net_raw,cap_net_admin+ep \(CommandLine.arguments.first ?? "flowdb")"
        case let .noSuchInterface(interface, message):
            "\(interface): no such interface (\(message)); `ip link` lists them"
        case let .open(interface, message):
            "\(interface): cannot capture: \(message)"
        case let .badFilter(interface, filter, message):
            "\(interface): bad filter '\(filter)': \(message)"
        case let .read(interface, packets, message):
            "\(interface): reading failed after \(packets) packets: \(message)"
        }
    }
}

/// How a live capture is opened.
public struct LiveSourceOptions: Sendable {
    public var interface: String
    public var filter: String?
    /// Bytes kept of each packet (tcpdump's default: 262,144, whole packets).
    public var snaplen = 262_144
    public var promiscuous = false
    /// The kernel's ring buffer: what absorbs a burst while flowdb is busy.
    public var bufferBytes = 64 << 20
    /// How long a read waits for a packet before `next()` returns `.idle`, so that
    /// the caller commits, flushes and notices a stop request on a quiet link.
    public var pollMilliseconds: Int32 = 200

    public init(interface: String) { self.interface = interface }
}

/// Counters of the kernel and the interface since the capture began (`pcap_stats`).
public struct LiveStatistics: Sendable, Equatable {
    /// Packets the kernel handed to the capture (on Linux: passed the filter), read or dropped.
    public var received: Int = 0
    /// Packets the kernel dropped because the ring buffer was full.
    public var droppedByKernel: Int = 0
    /// Packets the interface (driver) dropped, as it reports them.
    public var droppedByInterface: Int = 0
    public init() {}
    public init(received: Int, droppedByKernel: Int, droppedByInterface: Int) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
    }
    public static func - (a: Self, b: Self) -> Self {
        Self(received: a.received - b.received, droppedByKernel: a.droppedByKernel - b.droppedByKernel,
             droppedByInterface: a.droppedByInterface - b.droppedByInterface)
    }
}

/// Reads packets from a network interface through libpcap: immediate mode (each
/// packet is handed over as it arrives, not when a kernel block fills), a large
/// kernel buffer, nanosecond timestamps.
public final class LiveSource {
    public enum Next {
        /// A packet; its bytes are valid until the next call.
        case packet(CapturedPacket)
        /// No packet within the poll interval.
        case idle
        /// `requestStop()` (or a stop signal) interrupted the read.
        case stopped
    }

    public let interface: String
    public let dlt: Int32
    public let linkTypeName: String
    public let snaplen: Int
    /// Packets read so far.
    public private(set) var packetsRead = 0
    private let handle: OpaquePointer
    /// libpcap's warning when it activated the capture (promiscuous mode refused, ...).
    public let warning: String?
    /// The capture's descriptor, waited on with poll(2).
    private var descriptor: Int32 = -1
    private let pollMilliseconds: Int32
    /// When a stop was first seen (the capture's clock, nanoseconds): packets
    /// stamped up to it are still read.
    private var stopTime: Int64?

    public init(_ options: LiveSourceOptions) throws(LiveCaptureError) {
        let name = options.interface
        interface = name
        pollMilliseconds = options.pollMilliseconds
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_create(name, &errbuf) else {
            throw .open(interface: name, message: Self.string(errbuf))
        }
        pcap_set_snaplen(handle, Int32(clamping: options.snaplen))
        pcap_set_promisc(handle, options.promiscuous ? 1 : 0)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_buffer_size(handle, Int32(clamping: options.bufferBytes))
        pcap_set_timeout(handle, options.pollMilliseconds)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = String(cString: pcap_geterr(handle))
            let message = detail.isEmpty ? String(cString: pcap_statustostr(status)) : detail
            pcap_close(handle)
            switch status {
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED:
                throw .permission(interface: name, message: message)
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw .noSuchInterface(interface: name, message: message)
            default:
                throw .open(interface: name, message: message)
            }
        }
        warning = status > 0 ? String(cString: pcap_statustostr(status)) + ": " + String(cString: pcap_geterr(handle)) : nil
        self.handle = handle
        dlt = pcap_datalink(handle)
        linkTypeName = pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "DLT \(dlt)"
        snaplen = Int(pcap_snapshot(handle))
        if let filter = options.filter, !filter.isEmpty {
            var program = bpf_program()
            var net: bpf_u_int32 = 0, mask: bpf_u_int32 = 0
            if pcap_lookupnet(name, &net, &mask, &errbuf) != 0 { mask = PCAP_NETMASK_UNKNOWN }
            // (every stored property is set: deinit closes the handle when this throws)
            guard pcap_compile(handle, &program, filter, 1, mask) == 0 else {
                throw .badFilter(interface: name, filter: filter, message: String(cString: pcap_geterr(handle)))
            }
            defer { pcap_freecode(&program) }
            guard pcap_setfilter(handle, &program) == 0 else {
                throw .badFilter(interface: name, filter: filter, message: String(cString: pcap_geterr(handle)))
            }
        }
        // libpcap's own wait ignores the timeout in immediate mode on Linux (it
        // blocks until a packet comes): reads are non-blocking, and `next` waits
        // with poll(2) on the capture's descriptor.
        guard pcap_setnonblock(handle, 1, &errbuf) == 0 else {
            throw .open(interface: name, message: "cannot make reads non-blocking: \(Self.string(errbuf))")
        }
        descriptor = pcap_get_selectable_fd(handle)
        guard descriptor >= 0 else { throw .open(interface: name, message: "libpcap gives no descriptor to wait on") }
        StopSignals.attach(handle)
    }

    deinit {
        StopSignals.detach(handle)
        pcap_close(handle)
    }

    /// The next packet, `.idle` after the poll interval without one, or `.stopped`.
    ///
    /// After a stop request, the packets the kernel captured before it are still
    /// read, without waiting: a reader that had fallen behind (a slow disk, a
    /// burst) would otherwise lose the end of its capture, which the kernel counts
    /// as neither received by us nor dropped. The first packet stamped after the
    /// request, or an empty buffer, ends the capture.
    public func next() throws(LiveCaptureError) -> Next {
        var waited = false
        while true {
            if StopSignals.requested && stopTime == nil {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                stopTime = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
            }
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            switch pcap_next_ex(handle, &header, &data) {
            case 1:
                guard let header, let data else { return stopTime == nil ? .idle : .stopped }
                let h = header.pointee
                if let stopTime, Self.timestamp(h) > stopTime { return .stopped }
                return .packet(packet(h, data))
            case 0:
                if stopTime != nil { return .stopped }
                // nothing ready: wait once for the descriptor, then say so
                if waited { return .idle }
                waited = true
                var p = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, pollMilliseconds)
                if ready == 0 { return .idle }
                if ready < 0 && errno != EINTR {
                    throw .read(interface: interface, packets: packetsRead, message: "poll: \(String(cString: strerror(errno)))")
                }
                // readable, or an error condition libpcap's next read reports (the
                // interface went down or away): read again
            case PCAP_ERROR_BREAK:
                continue   // a stop request's interruption, taken once: the loop notes the request
            default:
                if StopSignals.requested { return .stopped }
                throw .read(interface: interface, packets: packetsRead, message: String(cString: pcap_geterr(handle)))
            }
        }
    }

    private func packet(_ h: pcap_pkthdr, _ data: UnsafePointer<UInt8>) -> CapturedPacket {
        let index = packetsRead
        packetsRead += 1
        return CapturedPacket(index: index, offset: -1, timestamp: Self.timestamp(h), wireLength: Int(h.len),
                              bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)))
    }

    private static func timestamp(_ h: pcap_pkthdr) -> Int64 {
        CaptureReader.nanoseconds(seconds: Int64(h.ts.tv_sec), fraction: Int64(h.ts.tv_usec))
    }

    /// The kernel's and the interface's counters since the capture began.
    public func statistics() -> LiveStatistics? {
        var s = pcap_stat()
        guard pcap_stats(handle, &s) == 0 else { return nil }
        return LiveStatistics(received: Int(s.ps_recv), droppedByKernel: Int(s.ps_drop), droppedByInterface: Int(s.ps_ifdrop))
    }

    private static func string(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// SIGINT and SIGTERM as a request to stop: the first one interrupts the live
/// capture's read (`pcap_breakloop`) and is noted for the capture loop, which then
/// finishes cleanly; a second one ends the process at once (the archive stays
/// consistent: SQLite's journal covers it).
///
/// The handlers are installed whatever the signals' dispositions were: a
/// background job of a shell script starts with SIGINT ignored, and a sensor must
/// still stop cleanly when sent it.
public enum StopSignals {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0
    nonisolated(unsafe) private static var handle: OpaquePointer?
    nonisolated(unsafe) public private(set) static var signal: Int32 = 0

    /// Whether a stop was requested.
    public static var requested: Bool { flag != 0 }

    /// Installs the handlers for SIGINT and SIGTERM, and unblocks both (a mask
    /// inherited from the parent would hold them pending forever).
    public static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                if StopSignals.flag != 0 {
                    // a second request: stop now, with the default action
                    Glibc.signal(received, SIG_DFL)
                    Glibc.raise(received)
                    return
                }
                StopSignals.flag = 1
                StopSignals.signal = received
                if let h = StopSignals.handle { pcap_breakloop(h) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0      // no SA_RESTART: a blocking read returns
            sigaction(sig, &action, nil)
        }
    }

    /// Asks the capture to stop, as a signal would (tests, `--duration`).
    public static func request() {
        flag = 1
        if let h = handle { pcap_breakloop(h) }
    }

    /// Clears a request (between captures in one process: tests).
    public static func reset() {
        flag = 0
        signal = 0
    }

    static func attach(_ h: OpaquePointer) { handle = h }
    static func detach(_ h: OpaquePointer) { if handle == h { handle = nil } }
}
