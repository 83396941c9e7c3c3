import CFuzzSupport
import Connections
#if canImport(Glibc)
import Glibc
#endif

// Zeek connection accounting under arbitrary packet sequences. Input: 12-byte
// records, each one packet: byte 0 bit 0 the direction (originator or responder),
// byte 1 the TCP flags, bytes 2-5 the sequence number, 6-9 the acknowledgment,
// 10 the payload length / 8, 11 bit 0 a zero window, bit 1 a content gap after it.
// Checked after every packet: the history holds only Zeek's letters; A, D, I and Q
// appear at most once per direction; ^ only first; the state is decided (any code).

let letters = Set("^SHADFRTWGIQshadfrtwgiq".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var connection = TCPConnection(flipped: size > 0 && bytes[0] & 0x80 != 0)
    var i = 0
    func be32(_ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }
    while i + 12 <= size {
        let fromOriginator = bytes[i] & 1 == 0
        let packet = TCPPacket(flags: UInt16(bytes[i + 1]), sequence: be32(i + 2), acknowledgment: be32(i + 6),
                               window: bytes[i + 11] & 1 != 0 ? 0 : 1024, payloadLength: Int(bytes[i + 10]) * 8)
        connection.observe(packet, fromOriginator: fromOriginator)
        if bytes[i + 11] & 2 != 0 { connection.contentGap(fromOriginator: fromOriginator) }
        let history = Array(connection.history.utf8)
        for c in history where !letters.contains(c) { fatalError("history letter \(c): \(connection.history)") }
        for once in "ADIQadiq".utf8 where history.filter({ $0 == once }).count > 1 {
            fatalError("\(Character(Unicode.Scalar(once))) twice: \(connection.history)")
        }
        if history.dropFirst().contains(UInt8(ascii: "^")) { fatalError("^ after the start: \(connection.history)") }
        _ = connection.state.word
        _ = connection.isOver
        i += 12
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
