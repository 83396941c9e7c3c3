import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// A failure to open or read a capture, with the context an analyst needs.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    /// libpcap could not open the file (missing, unreadable, not a capture).
    case open(path: String, message: String)
    /// The BPF filter did not compile.
    case badFilter(path: String, filter: String, message: String)
    /// A record could not be read (truncated or broken). `packetIndex` is the
    /// 0-based index of the record that failed, `byteOffset` where reading stopped
    /// when libpcap can tell.
    case read(path: String, packetIndex: Int, byteOffset: Int?, message: String)
    /// A file beside the capture could not be opened or written (standard input's
    /// spool file, a capture file being written).
    case file(path: String, message: String)

    public var description: String {
        switch self {
        case let .open(path, message):
            "\(path): cannot open capture: \(message)"
        case let .badFilter(path, filter, message):
            "\(path): bad filter '\(filter)': \(message)"
        case let .read(path, index, offset, message):
            "\(path): packet \(index)\(offset.map { " at byte offset \($0)" } ?? ""): \(message)"
        case let .file(path, message):
            "\(path): \(message)"
        }
    }
}

/// One packet record. `bytes` borrows libpcap's buffer and is valid only until
/// the next call to `CaptureReader.next()`.
public struct CapturedPacket {
    /// 0-based index of the record among the file's packet records (a BPF filter
    /// skips records but does not renumber them: index n is tshark's frame n + 1).
    public var index: Int
    /// Byte offset in the file where reading this record began, -1 when the
    /// stream cannot tell (a pipe). In a pcap file that is the record's header;
    /// in a pcapng file, its packet block, or the non-packet blocks (interface
    /// descriptions, statistics, name resolution) read before it.
    public var offset: Int64
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// Bytes on the wire (may exceed `bytes.count` when the snaplen cut the packet).
    public var wireLength: Int
    public var bytes: UnsafeRawBufferPointer

    public init(index: Int, offset: Int64, timestamp: Int64, wireLength: Int, bytes: UnsafeRawBufferPointer) {
        self.index = index
        self.offset = offset
        self.timestamp = timestamp
        self.wireLength = wireLength
        self.bytes = bytes
    }
}

/// Reads pcap and pcapng files (or stdin, as `-`) through libpcap with
/// nanosecond timestamps and an optional BPF filter.
public final class CaptureReader {
    public let path: String
    /// The link-layer type as libpcap reports it (a DLT_ number).
    public let dlt: Int32
    public let linkTypeName: String
    public let snaplen: Int
    /// Packet records read so far, those a filter rejected included.
    public private(set) var packetsRead = 0
    private let handle: OpaquePointer
    /// The compiled filter, applied here rather than by libpcap so that records it
    /// rejects keep their place in the numbering and the offsets.
    private var program = bpf_program()
    private let filtered: Bool
    /// The stream libpcap reads, when its position can be asked (not a pipe).
    private let file: UnsafeMutablePointer<FILE>?
    /// Where the stream stood after the last record (or the file's header).
    private var position: Int64 = -1
    /// Whether positions are counted rather than asked: in a pcap file a record is
    /// its 16-byte header and its bytes, so the next begins where this one ends.
    /// Checked on the first record (a pcap variant with longer record headers, or
    /// a pcapng file, keeps asking), and asked again for a record as long as the
    /// snaplen, which libpcap may have cut shorter than the file's record.
    private var counting = false
    private var checkedCounting = false
    /// The stdio buffer of the capture stream, when flowdb opened it; freed after
    /// libpcap closes the stream.
    private let streamBuffer: UnsafeMutableRawPointer?

    /// Opens `path` ("-" for standard input).
    public convenience init(path: String, filter: String? = nil) throws(CaptureError) {
        // libpcap reads records through stdio; with its default 4 KB buffer a 1 GB
        // capture costs 270,000 read calls. The stream is opened here with a 1 MB
        // buffer and handed to libpcap, which closes it.
        let file: UnsafeMutablePointer<FILE>? = path == "-" ? fdopen(dup(0), "rb") : fopen(path, "rb")
        guard let file else {
            throw .open(path: path, message: String(cString: strerror(errno)))
        }
        // glibc ignores the size unless it is given the buffer too
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        setvbuf(file, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, 1 << 20)
        try self.init(path: path, stream: file, streamBuffer: buffer, filter: filter)
    }

    /// Reads a capture from an open stream, which libpcap closes (also when this
    /// throws). `path` names it in errors.
    public convenience init(path: String, stream: UnsafeMutablePointer<FILE>, filter: String? = nil) throws(CaptureError) {
        try self.init(path: path, stream: stream, streamBuffer: nil, filter: filter)
    }

    private init(path: String, stream file: UnsafeMutablePointer<FILE>, streamBuffer buffer: UnsafeMutableRawPointer?,
                 filter: String?) throws(CaptureError) {
        self.path = path
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        streamBuffer = buffer
        guard let handle = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            fclose(file)
            buffer?.deallocate()
            throw .open(path: path, message: Self.string(errbuf))
        }
        self.handle = handle
        dlt = pcap_datalink(handle)
        if let name = pcap_datalink_val_to_name(dlt) {
            linkTypeName = String(cString: name)
        } else {
            linkTypeName = "DLT \(dlt)"
        }
        snaplen = Int(pcap_snapshot(handle))
        // ftell on a pipe would fail with a system call per packet: asked once here.
        let stream = pcap_file(handle)
        let start = stream.map { ftello($0) } ?? -1
        self.file = start >= 0 ? stream : nil
        position = Int64(start)
        filtered = !(filter ?? "").isEmpty
        if let filter, filtered {
            guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                // every stored property is set, so deinit closes the handle
                let message = String(cString: pcap_geterr(handle))
                throw .badFilter(path: path, filter: filter, message: message)
            }
        }
    }

    deinit {
        if filtered { pcap_freecode(&program) }
        pcap_close(handle)
        streamBuffer?.deallocate()
    }

    /// The next packet, or nil at the end of the file.
    public func next() throws(CaptureError) -> CapturedPacket? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            switch pcap_next_ex(handle, &header, &data) {
            case 1:
                guard let header, let data else { return nil }
                let offset = position
                if let file {
                    let caplen = Int64(header.pointee.caplen)
                    if counting && caplen < Int64(min(snaplen, 65535)) {
                        position &+= 16 &+ caplen
                    } else {
                        position = Int64(ftello(file))
                        if !checkedCounting {
                            checkedCounting = true
                            counting = offset == 24 && position == offset + 16 + caplen
                        }
                    }
                }
                let index = packetsRead
                packetsRead += 1
                if filtered && pcap_offline_filter(&program, header, data) == 0 { continue }
                let h = header.pointee
                return CapturedPacket(
                    index: index,
                    offset: offset,
                    timestamp: Self.nanoseconds(seconds: Int64(h.ts.tv_sec), fraction: Int64(h.ts.tv_usec)),
                    wireLength: Int(h.len),
                    bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen))
                )
            case PCAP_ERROR_BREAK:
                return nil
            default:
                let message = String(cString: pcap_geterr(handle))
                throw .read(path: path, packetIndex: packetsRead, byteOffset: byteOffset, message: message)
            }
        }
    }

    /// Where libpcap's reading stands in the file, when it reads a seekable file.
    public var byteOffset: Int? {
        guard path != "-", let file = pcap_file(handle) else { return nil }
        let position = ftell(file)
        return position >= 0 ? Int(position) : nil
    }

    /// Nanoseconds since the epoch, saturating instead of trapping on absurd
    /// timestamps (a hostile pcapng can carry any 64-bit time).
    @inlinable
    static func nanoseconds(seconds: Int64, fraction: Int64) -> Int64 {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(fraction)
        if overflow2 { return .max }
        return sum
    }

    private static func string(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
