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
