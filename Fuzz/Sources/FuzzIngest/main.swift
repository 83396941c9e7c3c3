import CFuzzSupport
import Ingest
import Store
#if canImport(Glibc)
import Glibc
#endif

// A whole capture file through libpcap, decoding, reassembly and the archive:
// each input is written to a file on tmpfs and ingested into a fresh archive,
// which must then pass PRAGMA integrity_check and foreign_key_check. A broken
// file may be refused (a CaptureError), but nothing may crash, hang or leak.

let directory = "/dev/shm/flowdb-fuzz-ingest-\(getpid())"
mkdir(directory, 0o700)
// libFuzzer ends a run with exit(): leave nothing behind in /dev/shm.
atexit {
    for name in ["input.pcap", "a.sqlite", "a.sqlite-journal", "a.sqlite.ingest-lock"] { unlink(directory + "/" + name) }
    rmdir(directory)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let capture = directory + "/input.pcap", db = directory + "/a.sqlite"
    for path in [db, db + "-journal", db + ".ingest-lock"] { unlink(path) }
    let fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0)
    _ = write(fd, data, size)
    close(fd)
    do {
        let archive = try Archive(path: db, create: true)
        var options = IngestOptions()
        options.recording.flushPolicy = FlushPolicy(every: 7, after: 1_000_000_000, closeAfter: 2_000_000_000)
        options.recording.assembler.maxBufferedPagesPerConnection = 8
        options.recording.batchBytes = 4096
        _ = try Ingestor(archive: archive, options: options).run(paths: [capture])
        let check = try SQLiteConnection(path: db, mode: .readOnly)
        let integrity = try check.prepare("PRAGMA integrity_check")
        let stepped = try integrity.step()
        precondition(stepped && integrity.text(0) == "ok", "integrity_check failed")
        let brokenKeys = try check.scalar("SELECT count(*) FROM pragma_foreign_key_check")
        precondition(brokenKeys == 0, "foreign keys broken")
        let running = try check.scalar("SELECT count(*) FROM capture WHERE status = 'running'")
        precondition(running == 0, "capture left running")
    } catch {
        // A bad capture is reported in the ingest's result, never thrown: anything
        // thrown here failed on the archive side (or in the checks), which no input
        // may cause.
        preconditionFailure("archive side failed: \(error)")
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
