// DecodeThroughput FILE [RUNS]
// Reads a capture through flowdb's Capture and Decoding layers (libpcap read,
// link/IP/TCP decode, payload views; no reassembly, no storage) and prints the
// best and median of RUNS runs in MB/s of file size.
import Capture
import Foundation
import Decoding
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: DecodeThroughput FILE [RUNS]")
    exit(2)
}
let path = arguments[1]
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
var info = stat()
stat(path, &info)
let size = Double(info.st_size)

var times: [Double] = []
var counters = DecodeCounters()
var checksum: UInt64 = 0
for _ in 0..<runs {
    counters = DecodeCounters()
    let start = now()
    do {
        let reader = try CaptureReader(path: path)
        let decoder = PacketDecoder(linkType: LinkType(dlt: reader.dlt))
        var packet = DecodedPacket()
        while let raw = try reader.next() {
            let result = decoder.decode(raw.bytes, into: &packet)
            counters.record(result, capturedBytes: raw.bytes.count, payloadTruncated: packet.payloadTruncated)
            if result == .tcp { checksum &+= UInt64(packet.sequence) &+ UInt64(packet.payload.count) }
        }
    } catch {
        print("error: \(error)")
        exit(1)
    }
    times.append(now() - start)
}
times.sort()
let median = times[times.count / 2], best = times[0]
print("file \(path): \(Int(size)) bytes, packets \(counters.packets), tcp \(counters.tcpPackets), checksum \(checksum)")
print(String(format: "capture+decode: median %.3f s (%.0f MB/s), best %.3f s (%.0f MB/s), runs %d",
             median, size / 1e6 / median, best, size / 1e6 / best, runs))
