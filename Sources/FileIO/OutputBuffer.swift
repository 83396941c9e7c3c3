#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to a file descriptor (standard output by default), flushed
/// in 64 KB blocks, so printing millions of lines makes few system calls.
///
/// A write that fails (a full disk, a closed pipe) is thrown, naming `path`; the
/// caller must `flush()` at the end, since `deinit` can only try.
public final class OutputBuffer {
    let fd: Int32
    /// What errors call the destination.
    public let path: String
    var buffer: [UInt8] = []
    private static let blockSize = 1 << 16

    public init(fd: Int32 = 1, path: String = "standard output") {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(Self.blockSize)
    }

    deinit { try? flush() }

    public func write(_ text: String) throws(WriteError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.blockSize { try flush() }
    }

    public func write(bytes: UnsafeRawBufferPointer) throws(WriteError) {
        // a piece as large as the buffer goes out as it is, without a copy
        if bytes.count >= Self.blockSize {
            try flush()
            try writeAll(bytes, to: fd, path: path)
            return
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.blockSize { try flush() }
    }

    public func flush() throws(WriteError) {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        var failure: WriteError?
        buffer.withUnsafeBytes { raw in
            do throws(WriteError) { try writeAll(raw, to: fd, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
