#if canImport(Glibc)
import Glibc
#endif

/// The one-writer lock of an archive: an exclusive `flock` on `ARCHIVE.ingest-lock`,
/// an empty file beside it. Take it before the archive is created or migrated, so
/// that two ingests starting together on a new archive never both create it. The
/// lock goes with the process (or with this value), so a killed ingest never leaves
/// the archive locked.
///
/// The lock file is never followed if it is a symbolic link, and anything but a
/// regular file is refused: a link planted there cannot make flowdb create or open
/// a file elsewhere.
public final class IngestLock {
    /// The archive this lock guards.
    public let archivePath: String
    public let lockPath: String
    private let fd: Int32

    public init(archivePath: String) throws(IngestError) {
        self.archivePath = archivePath
        let lockPath = archivePath + ".ingest-lock"
        self.lockPath = lockPath
        let fd = open(lockPath, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            var st = stat()
            if code == ELOOP, lstat(lockPath, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
                throw IngestError(description: "\(archivePath): the lock file \(lockPath) is a symbolic link; flowdb does not follow it (remove it)")
            }
            throw IngestError(description: "\(archivePath): cannot open the lock file \(lockPath): \(String(cString: strerror(code)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw IngestError(description: "\(archivePath): cannot open the lock file \(lockPath): \(String(cString: strerror(code)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw IngestError(description: "\(archivePath): the lock file \(lockPath) is not a regular file; flowdb does not use it (remove it)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw IngestError(description: "\(archivePath): another flowdb ingest or capture is writing to this archive")
            }
            throw IngestError(description: "\(archivePath): cannot lock \(lockPath): \(String(cString: strerror(code)))")
        }
        self.fd = fd
    }

    deinit {
        close(fd)
    }
}
