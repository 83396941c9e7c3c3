import Dispatch
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Hashes a file (SHA-256) on another thread while the ingest reads it, so the
/// digest costs no time on the reassembly path.
final class FileHasher: @unchecked Sendable {
    private let path: String
    private let done = DispatchSemaphore(value: 0)
    // written by the hashing thread before `done` is signalled, read after waiting
    private var digest: String?
    private var bytes = 0

    init(path: String) {
        self.path = path
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { done.signal() }
            (digest, bytes) = Self.hash(path: path)
        }
    }

    /// Waits for the digest; nil when the file could not be read.
    func result() -> (sha256: String?, size: Int) {
        done.wait()
        done.signal()
        return (digest, bytes)
    }

    static func hash(path: String) -> (String?, Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (nil, 0) }
        defer { close(fd) }
        var sha = SHA256()
        var st = stat()
        // A regular file is hashed through memory maps of 16 MB windows: its pages
        // are read from the page cache in place, without the copy read(2) makes,
        // and each window is unmapped at once so the process's RSS stays small.
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
            let size = Int(st.st_size), window = 16 << 20
            var offset = 0
            while offset < size {
                let length = min(window, size - offset)
                guard let map = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(offset)), map != MAP_FAILED else {
                    return (nil, offset)
                }
                sha.update(UnsafeRawBufferPointer(start: map, count: length))
                munmap(map, length)
                offset += length
            }
            return (sha.hexDigest, size)
        }
        var total = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 { if errno == EINTR { continue }; return (nil, total) }
            if n == 0 { break }
            sha.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += n
        }
        return (sha.hexDigest, total)
    }
}
