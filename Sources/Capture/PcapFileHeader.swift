import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// The 24-byte header of a pcap file.
public enum PcapFileHeader {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A nanosecond pcap file header in this machine's byte order, as libpcap
    /// writes it (libpcap also maps the DLT value to the file's LINKTYPE value,
    /// which differ for some link types).
    public static func nanosecond(dlt: Int32, snaplen: Int) throws(Failure) -> [UInt8] {
        guard let dead = pcap_open_dead_with_tstamp_precision(dlt, Int32(clamping: snaplen), UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw Failure(description: "libpcap cannot write link type \(dlt)")
        }
        defer { pcap_close(dead) }
        var buffer: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let memory = open_memstream(&buffer, &size) else { throw Failure(description: "out of memory") }
        guard let dumper = pcap_dump_fopen(dead, memory) else {
            fclose(memory)
            free(buffer)
            throw Failure(description: "libpcap cannot write link type \(dlt): \(String(cString: pcap_geterr(dead)))")
        }
        pcap_dump_close(dumper)     // closes the memory stream, which sets buffer and size
        defer { free(buffer) }
        guard let buffer, size == 24 else { throw Failure(description: "libpcap wrote a \(size)-byte file header") }
        return UnsafeRawBufferPointer(start: buffer, count: size).map { $0 }
    }
}

/// The 16-byte header of a pcap record as flowdb writes it: nanosecond
/// timestamps, this machine's byte order (the file header's magic says both).
public enum PcapRecordHeader {
    public static let size = 16

    /// Writes the header of a record captured at `timestamp` (ns since the epoch)
    /// holding `capturedLength` of the packet's `wireLength` bytes, at `out`.
    @inline(__always)
    public static func encode(timestamp: Int64, capturedLength: Int, wireLength: Int, into out: UnsafeMutableRawPointer) {
        var seconds = timestamp / 1_000_000_000, nanoseconds = timestamp % 1_000_000_000
        if nanoseconds < 0 { seconds -= 1; nanoseconds += 1_000_000_000 }
        encode(seconds: UInt32(truncatingIfNeeded: seconds), nanoseconds: UInt32(truncatingIfNeeded: nanoseconds),
               capturedLength: UInt32(truncatingIfNeeded: capturedLength), wireLength: UInt32(truncatingIfNeeded: wireLength),
               into: out)
    }

    /// Writes a header from its four fields, at `out` (which need not be aligned).
    @inline(__always)
    public static func encode(seconds: UInt32, nanoseconds: UInt32, capturedLength: UInt32, wireLength: UInt32,
                              into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: seconds, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: nanoseconds, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: capturedLength, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: wireLength, toByteOffset: 12, as: UInt32.self)
    }
}
