import Applications
import CFuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// The DNS parser on arbitrary bytes: as one message (a UDP payload, whole or cut
// by a snaplen) and as a TCP stream of length-prefixed messages. Parsing must never
// crash, hang or read out of bounds, and what it gives stays within what the bytes
// can hold.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    // an exact-size copy, so a read one byte past the end is caught
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size))
    let bytes = UnsafeRawBufferPointer(copy)
    for cut in [false, true] {
        if let m = DNS.parse(bytes, cut: cut) {
            // every answer takes at least 11 bytes of the message
            precondition(m.answers.count == m.ttls.count && m.answers.count * 11 <= size)
            precondition(m.query.map { $0.utf8.count <= 4 * 255 } ?? true)
        }
    }
    let messages = DNS.tcpMessages(bytes)
    precondition(messages.count * 14 <= size)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
