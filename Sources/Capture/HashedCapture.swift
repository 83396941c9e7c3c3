import CStream
import Digest
import Dispatch
import FileIO
#if canImport(Glibc)
import Glibc
#endif

/// A regular capture file read once: libpcap reads it through a stdio stream whose
/// bytes come from here, and another thread computes the SHA-256 of the same bytes.
///
/// The file is opened once, so the digest is that of the bytes ingested, even if
/// the path is replaced meanwhile. It used to be read twice, by libpcap and by the
/// hasher; the second `read` of every byte cost 0.12–0.15 s of CPU per GB.
///
/// The main thread reads the file in 1 MB blocks into a ring of `blockCount`
/// buffers, serves libpcap's stdio buffer from the current block, and hands each
/// block to the hasher when it is used up. It waits only when every block is still
/// waiting to be hashed. `finish()` reads what libpcap left (after a bad record,
/// say), so that the digest always covers the whole file; called without libpcap
/// ever taking the stream, it simply hashes the file. Blocks are filled by read(2),
/// never through a memory map: a file cut while it is read then only ends early,
/// where a mapped page past the new end would raise SIGBUS.
///
/// Standard input is read the same way (`init(standardInputKeptIn:)`): its bytes
/// are hashed, the stream can tell libpcap's position (so packet positions are
/// recorded), and with a spool file every block is also written there before
/// libpcap sees it, so the capture is kept for `query --pcap`.
public final class HashedCapture: @unchecked Sendable {
    /// The file's size when it was opened (0 for standard input).
    public let openedSize: Int
    /// Whether it reads a regular file (its size can be compared at the end).
    public let isFile: Bool
    /// The file standard input is kept in, and why writing it failed.
    private var spool: Int32 = -1
    public private(set) var spoolFailure: String?
    /// The stream to hand to libpcap (which closes it); nil once taken.
    private var stream: UnsafeMutablePointer<FILE>?

    private let fd: Int32
    private static let blockSize = 1 << 20, blockCount = 16
    /// glibc's buffer for the stream, refilled from the blocks.
    private static let streamBuffer = 1 << 16
    private let blocks: UnsafeMutableRawPointer
    /// Bytes in each block; -1 marks the end for the hasher. A block is written by
    /// the main thread before `filled` is signalled and read by the hasher after.
    private let lengths: UnsafeMutablePointer<Int>
    // Both start at 0: libdispatch traps when a semaphore is freed below its
    // initial value, and `empty` ends with blocks still taken.
    private let empty = DispatchSemaphore(value: 0)
    private let filled = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    // The reading side (the thread that reads the capture).
    private var current = -1            // the block being served, -1 before the first
    private var position = 0            // next byte of it to serve
    private var next = 0                // the next block to fill
    private var readBytes = 0           // bytes read from the file
    private var served = 0              // bytes handed to libpcap
    private var atEnd = false
    private var readFailed = false
    private var finished = false

    // The hashing thread's result, read after `done`.
    private var digest: String?

    /// Opens `path` when it is a regular file; nil for anything else (a FIFO, a
    /// device, `-`), which libpcap reads itself and nobody hashes, or when it
    /// cannot be opened (libpcap then reports why).
    public convenience init?(path: String) {
        guard path != "-" else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        self.init(fd: fd, size: Int(st.st_size), isFile: true)
    }

    /// Reads standard input; with `spoolPath`, keeps its bytes in that new file
    /// (created with mode 0600, never over an existing file). Throws when the
    /// spool file cannot be created.
    public convenience init(standardInputKeptIn spoolPath: String?) throws(CaptureError) {
        var spool: Int32 = -1
        if let spoolPath {
            spool = open(spoolPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard spool >= 0 else {
                throw .file(path: spoolPath, message: "cannot keep standard input there: \(String(cString: strerror(errno)))")
            }
        }
        let fd = dup(0)
        guard fd >= 0 else {
            if spool >= 0 { close(spool) }
            throw .file(path: "-", message: "cannot read standard input: \(String(cString: strerror(errno)))")
        }
        self.init(fd: fd, size: 0, isFile: false)
        self.spool = spool
    }

    private init(fd: Int32, size: Int, isFile: Bool) {
        self.fd = fd
        openedSize = size
        self.isFile = isFile
        blocks = .allocate(byteCount: Self.blockSize * Self.blockCount, alignment: 4096)
        lengths = .allocate(capacity: Self.blockCount)
        lengths.initialize(repeating: 0, count: Self.blockCount)
        for _ in 0..<Self.blockCount { empty.signal() }

        let context = Unmanaged.passRetained(self).toOpaque()
        let stream = flowdb_stream_open(context, { context, buffer, size in
            let capture = Unmanaged<HashedCapture>.fromOpaque(context!).takeUnretainedValue()
            return capture.serve(UnsafeMutableRawPointer(buffer!), size)
        }, { context in
            Int64(Unmanaged<HashedCapture>.fromOpaque(context!).takeUnretainedValue().served)
        }, { context in
            Unmanaged<HashedCapture>.fromOpaque(context!).release()
        }, Self.streamBuffer)
        // Without a stream (out of memory), libpcap gets none and reports the file
        // as unreadable; deinit frees the blocks and closes the file.
        if let stream {
            self.stream = stream
        } else {
            Unmanaged<HashedCapture>.fromOpaque(context).release()
        }
        startHasher()
    }

    deinit {
        blocks.deallocate()
        lengths.deallocate()
        close(fd)
        if spool >= 0 { close(spool) }
    }

    /// The stream for libpcap, which then owns it.
    public func takeStream() -> UnsafeMutablePointer<FILE>? {
        defer { stream = nil }
        return stream
    }

    // MARK: the reading side

    private func block(_ i: Int) -> UnsafeMutableRawPointer { blocks + i * Self.blockSize }

    /// Fills the next block from the file; false at the end of the file or on an error.
    private func fill() -> Bool {
        guard !atEnd, !readFailed else { return false }
        empty.wait()
        let i = next
        var n: Int
        repeat { n = read(fd, block(i), Self.blockSize) } while n < 0 && errno == EINTR
        if n <= 0 {
            if n < 0 { readFailed = true } else { atEnd = true }
            empty.signal()
            return false
        }
        if spool >= 0 && spoolFailure == nil { keep(block(i), n) }
        lengths[i] = n
        readBytes += n
        current = i
        position = 0
        next = (i + 1) % Self.blockCount
        return true
    }

    /// Writes a block to the spool file; a failure ends the reading.
    private func keep(_ bytes: UnsafeMutableRawPointer, _ count: Int) {
        do {
            try writeAll(UnsafeRawBufferPointer(start: bytes, count: count), to: spool, path: "standard input's spool file")
        } catch {
            spoolFailure = "cannot keep standard input: \(String(cString: strerror(error.code)))"
            readFailed = true
        }
    }

    /// Flushes the spool file to disk; nil when it was written whole.
    public func closeSpool() -> String? {
        guard spool >= 0 else { return spoolFailure }
        if spoolFailure == nil && fsync(spool) != 0 {
            spoolFailure = "cannot keep standard input: \(String(cString: strerror(errno)))"
        }
        close(spool)
        spool = -1
        return spoolFailure
    }

    /// Gives the current block to the hasher.
    private func handOver() {
        guard current >= 0 else { return }
        current = -1
        filled.signal()
    }

    /// libpcap's read: up to `size` bytes into `buffer`.
    private func serve(_ buffer: UnsafeMutableRawPointer, _ size: Int) -> Int {
        var copied = 0
        while copied < size {
            if current < 0 || position == lengths[current] {
                handOver()
                guard fill() else { break }
            }
            let n = min(size - copied, lengths[current] - position)
            (buffer + copied).copyMemory(from: block(current) + position, byteCount: n)
            position += n
            copied += n
        }
        served += copied
        if copied == 0 && readFailed {
            errno = EIO
            return -1
        }
        return copied
    }

    /// Reads and hashes whatever libpcap did not read, and waits for the digest:
    /// nil when the file could not be read. `size` is the bytes read from the file.
    public func finish() -> (sha256: String?, size: Int) {
        if !finished {
            closeStream()
            handOver()
            while fill() { handOver() }
            end()
        }
        done.wait()
        done.signal()
        return (readFailed ? nil : digest, readBytes)
    }

    /// Stops without reading further (the ingest is failing): the hasher thread
    /// ends and nothing waits for it. Nothing happens after `finish()`.
    public func abandon() {
        guard !finished else { return }
        closeStream()
        handOver()
        end()
    }

    /// A stream libpcap never took is closed here (its close releases the cookie).
    private func closeStream() {
        if let stream = takeStream() { fclose(stream) }
    }

    /// Tells the hasher that no block follows.
    private func end() {
        finished = true
        empty.wait()
        lengths[next] = -1
        filled.signal()
    }

    // MARK: the hashing thread

    private func startHasher() {
        // Its own thread, so that lowering its priority touches no shared worker.
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self)
        let started = pthread_create(&thread, nil, { context in
            let capture = Unmanaged<HashedCapture>.fromOpaque(context!).takeRetainedValue()
            // The archive writer is the ingest's critical path: on two cores the
            // digest takes the time the writer leaves rather than an even share.
            // (On Linux, `who` 0 is the calling thread.)
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            capture.hashBlocks()
            return nil
        }, context.toOpaque())
        if started == 0 {
            pthread_detach(thread)
        } else {
            context.release()
            // No thread: hash on the reading side instead, as blocks are handed over.
            DispatchQueue.global().async { [self] in hashBlocks() }
        }
    }

    private func hashBlocks() {
        var sha = SHA256()
        var i = 0
        while true {
            filled.wait()
            let n = lengths[i]
            if n < 0 { break }
            sha.update(UnsafeRawBufferPointer(start: block(i), count: n))
            empty.signal()
            i = (i + 1) % Self.blockCount
        }
        digest = sha.hexDigest
        done.signal()
    }
}
