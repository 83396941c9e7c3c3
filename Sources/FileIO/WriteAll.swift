#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A write that did not reach its file: the file's name (as the user gave it, or
/// "standard output") and the system's reason.
public struct WriteError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var code: Int32

    public init(path: String, code: Int32) {
        self.path = path
        self.code = code
    }

    public var description: String {
        "\(path): cannot write: \(String(cString: strerror(code)))"
    }
}

/// Writes every byte of `bytes` to `fd`, retrying after signals and short writes.
/// Any other failure (a full disk, a closed pipe, an I/O error) is thrown, naming `path`.
public func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws(WriteError) {
    guard let base = bytes.baseAddress else { return }
    var done = 0
    while done < bytes.count {
        let n = write(fd, base + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw WriteError(path: path, code: errno)
        }
        // write(2) returns 0 only for a zero-length request; guard against a loop anyway
        if n == 0 { throw WriteError(path: path, code: EIO) }
        done += n
    }
}

/// Writes `text` to standard error, best effort: a diagnostic that cannot be
/// written has nowhere else to go.
public func writeToStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        _ = try? writeAll(UnsafeRawBufferPointer(bytes), to: 2, path: "standard error")
    }
}
