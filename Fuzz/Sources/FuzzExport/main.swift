import CFuzzSupport
import Ingest
import Query
import Store
#if canImport(Glibc)
import Glibc
#endif

// Packet provenance on hostile captures: each input is written to a file on
// tmpfs, ingested into a fresh archive, and every flow's packets are exported
// with PacketExporter (records read at their recorded offsets from pcap files,
// through libpcap from pcapng and other formats). The capture is the file that
// was ingested, so the export must succeed, write a whole pcap, and hold exactly
// the distinct records the archive lists. Nothing may crash, hang or leak.

let directory = "/dev/shm/flowdb-fuzz-export-\(getpid())"
mkdir(directory, 0o700)
atexit {
    for name in ["input.pcap", "a.sqlite", "a.sqlite-journal", "a.sqlite.ingest-lock", "out.pcap"] { unlink(directory + "/" + name) }
    rmdir(directory)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let capture = directory + "/input.pcap", db = directory + "/a.sqlite", out = directory + "/out.pcap"
    for path in [db, db + "-journal", db + ".ingest-lock", out] { unlink(path) }
    let fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0)
    _ = write(fd, data, size)
    close(fd)
    do {
        let archive = try Archive(path: db, create: true)
        var options = IngestOptions()
        options.recording.flushPolicy = FlushPolicy(every: 7, after: 1_000_000_000, closeAfter: 2_000_000_000)
        options.recording.batchBytes = 4096
        _ = try Ingestor(archive: archive, options: options).run(paths: [capture])
        let flows = try archive.connection.prepare("SELECT id FROM flow ORDER BY id")
        var ids: [Int64] = []
        while try flows.step() { ids.append(flows.int64(0)) }
        guard !ids.isEmpty else { return 0 }
        let listed = try archive.connection.scalar("SELECT count(*) FROM (SELECT DISTINCT capture_id, packet_index FROM packet)") ?? -1
        let files = CaptureFiles(archive: archive)
        let report = try ExportFile.write(out) { fd in
            try PacketExporter(archive: archive, files: files).export(flowIDs: ids, to: ExportSink(fd: fd, name: out))
        }
        precondition(Int64(report.packets) == listed, "exported \(report.packets) packets, the archive lists \(listed)")
        var st = stat()
        precondition(stat(out, &st) == 0 && Int(st.st_size) == report.bytes, "the pcap written is not whole")
    } catch {
        preconditionFailure("ingest or export failed on the file it ingested: \(error)")
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
