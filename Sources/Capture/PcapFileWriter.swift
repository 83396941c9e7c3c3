import Digest
import FileIO
#if canImport(Glibc)
import Glibc
#endif

/// Writes packets to a new pcap file (nanosecond timestamps, this machine's byte
/// order), counting where each record begins and hashing the bytes on the way:
/// when the file is closed its SHA-256 is known without reading it again.
///
/// Records are gathered in a 1 MB buffer and written with write(2); `flush()`
/// writes what is buffered, so that every packet the archive names (committed
/// after a flush) is in the file even if the process is killed.
public final class PcapFileWriter {
    public let path: String
    public private(set) var fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private static let capacity = 1 << 20
    private var used = 0
    /// Bytes of the file so far, buffered ones included: where the next record begins.
    public private(set) var size = 0
    /// Packet records written.
    public private(set) var packets = 0
    private var sha = SHA256()

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates `path` (never over an existing file; mode 0600, as captures hold
    /// secrets) and writes `header`. Throws `EEXIST` failures as `exists`.
    public init(path: String, header: [UInt8]) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw Exists() }
            throw Failure(description: "\(path): cannot create the capture file: \(String(cString: strerror(errno)))")
        }
        buffer = .allocate(byteCount: Self.capacity, alignment: 64)
        header.withUnsafeBytes { append($0) }
        try flush()     // a file is a valid (empty) capture from the start
    }

    public struct Exists: Error {}

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        buffer.deallocate()
    }

    /// Appends one record; returns the byte offset where it begins.
    @inline(__always)
    public func write(_ packet: CapturedPacket) throws -> Int64 {
        let offset = Int64(size)
        let caplen = packet.bytes.count
        if used + PcapRecordHeader.size + caplen > Self.capacity { try flush() }
        PcapRecordHeader.encode(timestamp: packet.timestamp, capturedLength: caplen, wireLength: packet.wireLength,
                                into: buffer + used)
        used += PcapRecordHeader.size
        size += PcapRecordHeader.size
        if caplen > Self.capacity {
            // larger than the buffer (a snaplen beyond 1 MB): written directly
            try flush()
            sha.update(packet.bytes)
            try writeAll(packet.bytes)
            size += caplen
        } else {
            append(packet.bytes)
        }
        packets += 1
        return offset
    }

    @inline(__always)
    private func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        (buffer + used).copyMemory(from: base, byteCount: bytes.count)
        used += bytes.count
        size += bytes.count
    }

    /// Writes what is buffered to the file (not to the disk: `fdatasync` is the
    /// archive writer's, before it commits).
    public func flush() throws {
        guard used > 0 else { return }
        let pending = UnsafeRawBufferPointer(start: buffer, count: used)
        sha.update(pending)
        try writeAll(pending)
        used = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try FileIO.writeAll(bytes, to: fd, path: path)
        } catch {
            throw Failure(description: "\(path): cannot write the capture file: \(String(cString: strerror(error.code)))")
        }
    }

    /// Writes what is buffered and hands over the descriptor (the caller syncs and
    /// closes it: `ArchiveWriter.syncAndClose`); returns the file's size and SHA-256.
    public func finish() throws -> (size: Int, sha256: String, fd: Int32) {
        try flush()
        let fd = self.fd
        self.fd = -1
        return (size, sha.hexDigest, fd)
    }

    /// Flushes, syncs and closes the file; returns its size and SHA-256.
    public func close() throws -> (size: Int, sha256: String) {
        let (size, digest, fd) = try finish()
        defer { Glibc.close(fd) }
        if fdatasync(fd) != 0 {
            throw Failure(description: "\(path): cannot flush the capture file to disk: \(String(cString: strerror(errno)))")
        }
        return (size, digest)
    }
}
