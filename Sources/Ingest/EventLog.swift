import Decoding
import Digest
import FileIO
import Reassembly
import Recording

/// Prints every callback of the assembler as one JSON line, in the format of
/// gopacket-oracle (`../shared/oracle`), so the two engines can be compared
/// event by event (`scripts/oracle-diff.py`). Timestamps are integer nanoseconds.
public final class EventLog {
    let out: OutputBuffer
    let cursor: PacketCursor
    /// With a value, `keepFrom(n)` is asked whenever more than n bytes are available.
    let keepFrom: Int?
    /// Per-direction totals instead of events (gopacket-oracle's `-summary`).
    let summary: Bool
    var streams = 0
    var totals: [(key: String, dir: String, totals: DirectionTotals)] = []
    /// The first write that failed (the engine's callbacks cannot throw): nothing
    /// is written after it, and the command reports it (`check()`).
    public private(set) var failure: WriteError?

    public init(out: OutputBuffer, cursor: PacketCursor, keepFrom: Int? = nil, summary: Bool = false) {
        self.out = out
        self.cursor = cursor
        self.keepFrom = keepFrom
        self.summary = summary
    }

    /// Throws the first failed write, if any.
    public func check() throws(WriteError) {
        if let failure { throw failure }
    }

    private func emit(_ text: String) {
        guard failure == nil else { return }
        do throws(WriteError) { try out.write(text) } catch { failure = error }
    }

    private func emit(bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        do throws(WriteError) { try out.write(bytes: bytes) } catch { failure = error }
    }

    /// What one direction of one stream delivered.
    final class DirectionTotals {
        var bytes = 0, chunks = 0, skips = 0, skipped = 0
        var digest = SHA256()
    }

    /// Prints the summary lines (sorted by key, then direction), in summary mode.
    public func writeSummary() {
        guard summary else { return }
        for t in totals.sorted(by: { ($0.key, $0.dir) < ($1.key, $1.dir) }) {
            let d = t.totals
            emit(#"{"key":"\#(t.key)","dir":"\#(t.dir)","bytes":\#(d.bytes),"chunks":\#(d.chunks),"skips":\#(d.skips),"skipped":\#(d.skipped),"sha256":"\#(d.digest.hexDigest)"}"# + "\n")
        }
    }

    public struct Factory: StreamFactory {
        let log: EventLog
        public init(log: EventLog) { self.log = log }

        public mutating func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> EventStream {
            let id = log.streams
            log.streams += 1
            let net = "\(IPAddress(key.source))->\(IPAddress(key.destination))"
            let tcp = "\(key.sourcePort)->\(key.destinationPort)"
            if !log.summary { log.emit(#"{"ev":"new","id":\#(id),"net":"\#(net)","tcp":"\#(tcp)","pkt":\#(log.cursor.packetIndex)}"# + "\n") }
            return EventStream(log: log, id: id, key: "\(net):\(tcp)")
        }
    }

    public final class EventStream: Stream {
        let log: EventLog
        let id: Int
        let key: String
        var directions: [DirectionTotals?] = [nil, nil]

        init(log: EventLog, id: Int, key: String) {
            self.log = log
            self.id = id
            self.key = key
        }

        public func accept(_ segment: TCPSegment, captureInfo: CaptureInfo, direction: FlowDirection,
                           nextSequence: TCPSequence?, start: inout Bool) -> Bool {
            true
        }

        public func reassembled(_ sg: ScatterGather, context: CaptureInfo?) {
            let (direction, start, end, skip) = sg.info
            let (available, saved) = sg.lengths()
            if log.summary {
                let index = direction == .clientToServer ? 0 : 1
                let totals = directions[index] ?? {
                    let t = DirectionTotals()
                    directions[index] = t
                    log.totals.append((key, index == 0 ? "client->server" : "server->client", t))
                    return t
                }()
                totals.bytes += available
                totals.chunks += 1
                if skip != 0 { totals.skips += 1; if skip > 0 { totals.skipped += skip } }
                sg.forEachChunk { totals.digest.update($0) }
                if let keep = log.keepFrom, available > keep { sg.keepFrom(keep) }
                return
            }
            let s = sg.stats
            var line = #"{"ev":"sg","id":\#(id),"pkt":\#(log.cursor.packetIndex),"key":"\#(key)","dir":"\#(direction == .clientToServer ? "client->server" : "server->client")","#
            line += #""start":\#(start),"end":\#(end),"skip":\#(skip),"avail":\#(available),"saved":\#(saved),"data":""#
            log.emit(line)
            var hex = [UInt8]()
            hex.reserveCapacity(2 * available)
            let digits = Array("0123456789abcdef".utf8)
            sg.forEachChunk { piece in
                for byte in piece {
                    hex.append(digits[Int(byte >> 4)])
                    hex.append(digits[Int(byte & 0x0f)])
                }
            }
            hex.withUnsafeBytes { log.emit(bytes: $0) }
            line = "\""
            if available > 0 {
                line += #","ts_first":\#(sg.captureInfo(at: 0).timestamp),"ts_last":\#(sg.captureInfo(at: available - 1).timestamp)"#
            }
            line += #","stats":{"chunks":\#(s.chunks),"packets":\#(s.packets),"queued_bytes":\#(s.queuedBytes),"queued_packets":\#(s.queuedPackets),"overlap_bytes":\#(s.overlapBytes),"overlap_packets":\#(s.overlapPackets)}}"#
            log.emit(line + "\n")
            if let keep = log.keepFrom, available > keep { sg.keepFrom(keep) }
        }

        public func reassemblyComplete(context: CaptureInfo?) -> Bool {
            if log.summary { return true }
            log.emit(#"{"ev":"complete","id":\#(id),"key":"\#(key)","pkt":\#(log.cursor.packetIndex)}"# + "\n")
            return true
        }
    }
}
