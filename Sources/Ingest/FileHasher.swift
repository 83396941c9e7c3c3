import Dispatch
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Hashes a file (SHA-256) on another thread while the ingest reads it, so the
/// digest costs no time on the reassembly path.
final class FileHasher: @unchecked Sendable {
    /// The file's size when it was opened, for a regular file.
    let openedSize: Int?
    private let done = DispatchSemaphore(value: 0)
    // written by the hashing thread before `done` is signalled, read after waiting
    private var digest: String?
    private var bytes = 0

    /// Opens a regular file at once (so the bytes hashed are those of the file
    /// being ingested, even if the path is unlinked or replaced meanwhile) and
    /// hashes it on another thread. Anything else (a FIFO, `<(...)`) is left alone:
    /// it can be read once, by libpcap, and hashing it would take bytes away.
    init(path: String) {
        var st = stat()
        var fd = stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? open(path, O_RDONLY | O_CLOEXEC) : -1
        if fd >= 0, fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
            openedSize = Int(st.st_size)
        } else {
            if fd >= 0 { close(fd) }
            fd = -1
            openedSize = nil
        }
        self.fd = fd
        guard fd >= 0 else { done.signal(); return }
        // Its own thread, so that lowering its priority touches no shared worker.
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self)
        let started = pthread_create(&thread, nil, { context in
            let hasher = Unmanaged<FileHasher>.fromOpaque(context!).takeRetainedValue()
            // The archive writer is the ingest's critical path: on two cores the
            // digest takes the time the writer leaves rather than an even share.
            // (On Linux, `who` 0 is the calling thread.)
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            hasher.run()
            return nil
        }, context.toOpaque())
        if started == 0 {
            pthread_detach(thread)
        } else {
            context.release()
            run()
        }
    }

    private let fd: Int32

    private func run() {
        defer { done.signal() }
        defer { close(fd) }
        (digest, bytes) = Self.hash(fd: fd)
    }

    /// Waits for the digest; nil when the file could not be read or is not a regular file.
    func result() -> (sha256: String?, size: Int) {
        done.wait()
        done.signal()
        return (digest, bytes)
    }

    /// The digest and size of the file's bytes, or nil (and the bytes read before
    /// the failure) when it could not be read.
    static func hash(path: String) -> (String?, Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (nil, 0) }
        defer { close(fd) }
        return hash(fd: fd)
    }

    /// Hashes an open file from its current position to its end.
    static func hash(fd: Int32) -> (String?, Int) {
        // read(2) into one buffer, not a memory map: a file that shrinks while it
        // is hashed (cut by its writer) only ends the loop early, where touching a
        // mapped page past the new end raises SIGBUS and kills the process. The
        // copy costs little: hashing 1.1 GB (page cache warm) took 743, 852 and
        // 794 ms with a 1 MB buffer against 738, 898 and 746 ms through 16 MB maps
        // (medians of 3, three sittings on a loaded 2-core machine).
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        var sha = SHA256()
        var total = 0
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
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
