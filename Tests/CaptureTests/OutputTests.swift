#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Capture
import FileIO

/// Checked writes and the pcap record header, shared by every writer of captures.
@Suite struct OutputTests {
    @Test func writeAllReportsTheFileAndTheReason() throws {
        let fd = open("/dev/full", O_WRONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        let bytes: [UInt8] = [1, 2, 3]
        #expect(throws: WriteError(path: "out.pcap", code: ENOSPC)) {
            try bytes.withUnsafeBytes { try writeAll($0, to: fd, path: "out.pcap") }
        }
        #expect(WriteError(path: "out.pcap", code: ENOSPC).description == "out.pcap: cannot write: No space left on device")
    }

    @Test func outputBufferThrowsAtFlush() throws {
        let fd = open("/dev/full", O_WRONLY)
        defer { close(fd) }
        let out = OutputBuffer(fd: fd, path: "list.txt")
        try out.write("small")        // buffered: nothing written yet
        #expect(throws: WriteError(path: "list.txt", code: ENOSPC)) { try out.flush() }
        // a piece of a block or more goes out at once
        let big = [UInt8](repeating: 0x41, count: 1 << 16)
        #expect(throws: WriteError(path: "list.txt", code: ENOSPC)) {
            try big.withUnsafeBytes { try out.write(bytes: $0) }
        }
    }

    @Test func outputBufferWritesEverything() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let out = OutputBuffer(fd: fds[1], path: "pipe")
        try out.write("a line\n")
        try [UInt8](repeating: 0x42, count: 3).withUnsafeBytes { try out.write(bytes: $0) }
        try out.flush()
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &buffer, 64)
        close(fds[0])
        #expect(Array(buffer[0..<max(0, n)]) == Array("a line\nBBB".utf8))
    }

    /// Nanoseconds in this machine's order; a time before 1970 has its seconds
    /// rounded down and a positive fraction, as libpcap reads it.
    @Test func recordHeader() {
        var header = [UInt8](repeating: 0, count: PcapRecordHeader.size)
        header.withUnsafeMutableBytes {
            PcapRecordHeader.encode(timestamp: 1_764_075_135_275_393_123, capturedLength: 60, wireLength: 1514, into: $0.baseAddress!)
        }
        #expect(header == [0x7f, 0xa6, 0x25, 0x69, 0x63, 0x2a, 0x6a, 0x10, 60, 0, 0, 0, 0xea, 0x05, 0, 0])
        header.withUnsafeMutableBytes {
            PcapRecordHeader.encode(timestamp: -1, capturedLength: 0, wireLength: 0, into: $0.baseAddress!)
        }
        #expect(header[0..<8] == [0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x9a, 0x3b])
    }
}
