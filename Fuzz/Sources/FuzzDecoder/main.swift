import CFuzzSupport
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// One input: the first byte picks a link type, the rest is one packet. Every
/// decode must stay inside the buffer (AddressSanitizer checks) and a `.tcp`
/// result must describe views that lie inside the packet.
// Also exported under libFuzzer's conventional name (its archive references it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let links: [Int32] = [1, 0, 108, 12, 101, 228, 229, 113, 276, 147, 104, 239]
    let link = LinkType(dlt: links[Int(data[0]) % links.count])
    // An exact-size copy, so a read one byte past the end is caught.
    let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: size - 1, alignment: 1)
    defer { packet.deallocate() }
    packet.copyMemory(from: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    let bytes = UnsafeRawBufferPointer(packet)
    var decoded = DecodedPacket()
    let decoder = PacketDecoder(linkType: link)
    // every packet of the record (an A-MSDU holds several); each subframe's header
    // is at least 14 bytes, so a record of n bytes cannot announce more than n / 14
    var subframe = 0
    repeat {
        if decoder.decode(bytes, into: &decoded, subframe: subframe) == .tcp {
            let start = bytes.baseAddress!, end = start + bytes.count
            for view in [decoded.payload, decoded.options] where view.count > 0 {
                precondition(view.baseAddress! >= start && view.baseAddress! + view.count <= end, "view outside the packet")
            }
            _ = decoded.source.description
        }
        subframe += 1
        precondition(subframe <= bytes.count / 14 + 1, "more subframes than the record can hold")
    } while decoded.moreSubframes
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
