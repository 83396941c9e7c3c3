import CFuzzSupport
import Ingest
import Query
import Store
#if canImport(Glibc)
import Glibc
#endif

// A whole capture file through libpcap, decoding, reassembly and the archive:
// each input is written to a file on tmpfs and ingested into a fresh archive,
// which must then pass PRAGMA integrity_check and foreign_key_check, and whose
// flows with overlap conflicts read as every target policy must keep their length
// and differ from the stored stream only inside the conflicts. A broken
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
        // Flows with conflicts, read as every target would: as long as stored, and
        // different from it only inside the conflicts' ranges.
        let conflicted = try check.prepare("SELECT id FROM flow WHERE overlap_conflicts > 0 ORDER BY id LIMIT 4")
        var ids: [Int64] = []
        while try conflicted.step() { ids.append(conflicted.int64(0)) }
        let reader = try FlowReader(archive: Archive(path: db, create: false))
        for id in ids {
            let conflicts = try reader.conflicts(flowID: id)
            precondition(!conflicts.isEmpty, "a flow counts conflicts it has no rows for")
            // delivery by delivery (a stream's gaps may be gigabytes: never filled here)
            reader.policy = nil
            let deliveries = try reader.deliveries(flowID: id)
            let stored = try deliveries.map { try reader.bytes(of: $0) }
            for policy in TargetPolicy.allCases {
                reader.policy = policy
                _ = try reader.deliveries(flowID: id)
                for (d, before) in zip(deliveries, stored) {
                    let read = try reader.bytes(of: d)
                    precondition(read.count == before.count, "--policy changed a delivery's length")
                    for i in read.indices where read[i] != before[i] {
                        let at = d.streamOffset + Int64(i)
                        let inside = conflicts.contains { $0.dir == d.dir && at >= $0.streamOffset
                                                          && at < $0.streamOffset + Int64($0.laterBytes?.count ?? 0) }
                        precondition(inside, "--policy changed a byte outside every conflict")
                    }
                }
            }
        }
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
