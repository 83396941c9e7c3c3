import Reassembly
import Decoding

/// Prints every callback of the assembler as one JSON line, in the format of
/// gopacket-oracle (`../shared/oracle`), so the two engines can be compared
/// event by event (`scripts/oracle-diff.py`). Timestamps are integer nanoseconds.
public final class EventLog {
    let out: OutputBuffer
    let cursor: PacketCursor
    /// With a value, `keepFrom(n)` is asked whenever more than n bytes are available.
    let keepFrom: Int?
    var streams = 0

    public init(out: OutputBuffer, cursor: PacketCursor, keepFrom: Int? = nil) {
        self.out = out
        self.cursor = cursor
        self.keepFrom = keepFrom
    }

    public struct Factory: StreamFactory {
        let log: EventLog
        public init(log: EventLog) { self.log = log }

        public mutating func makeStream(key: FlowKey, segment: TCPSegment, context: CaptureInfo) -> EventStream {
            let id = log.streams
            log.streams += 1
            let net = "\(IPAddress(key.source))->\(IPAddress(key.destination))"
            let tcp = "\(key.sourcePort)->\(key.destinationPort)"
            log.out.write(#"{"ev":"new","id":\#(id),"net":"\#(net)","tcp":"\#(tcp)","pkt":\#(log.cursor.packetIndex)}"# + "\n")
            return EventStream(log: log, id: id, key: "\(net):\(tcp)")
        }
    }

    public final class EventStream: Stream {
        let log: EventLog
        let id: Int
        let key: String

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
            let s = sg.stats
            var line = #"{"ev":"sg","id":\#(id),"pkt":\#(log.cursor.packetIndex),"key":"\#(key)","dir":"\#(direction == .clientToServer ? "client->server" : "server->client")","#
            line += #""start":\#(start),"end":\#(end),"skip":\#(skip),"avail":\#(available),"saved":\#(saved),"data":""#
            log.out.write(line)
            var hex = [UInt8]()
            hex.reserveCapacity(2 * available)
            let digits = Array("0123456789abcdef".utf8)
            sg.forEachChunk { piece in
                for byte in piece {
                    hex.append(digits[Int(byte >> 4)])
                    hex.append(digits[Int(byte & 0x0f)])
                }
            }
            hex.withUnsafeBytes { log.out.write(bytes: $0) }
            line = "\""
            if available > 0 {
                line += #","ts_first":\#(sg.captureInfo(at: 0).timestamp),"ts_last":\#(sg.captureInfo(at: available - 1).timestamp)"#
            }
            line += #","stats":{"chunks":\#(s.chunks),"packets":\#(s.packets),"queued_bytes":\#(s.queuedBytes),"queued_packets":\#(s.queuedPackets),"overlap_bytes":\#(s.overlapBytes),"overlap_packets":\#(s.overlapPackets)}}"#
            log.out.write(line + "\n")
            if let keep = log.keepFrom, available > keep { sg.keepFrom(keep) }
        }

        public func reassemblyComplete(context: CaptureInfo?) -> Bool {
            log.out.write(#"{"ev":"complete","id":\#(id),"key":"\#(key)","pkt":\#(log.cursor.packetIndex)}"# + "\n")
            return true
        }
    }
}
