import Applications
import CFuzzSupport
import Digest
#if canImport(Glibc)
import Glibc
#endif

// QUIC Initial packets from arbitrary bytes: the header, the keys derived from its
// connection id, header protection removed and the payload opened (a random
// payload never verifies, a real seed does), then the frames; and the frame
// parser on the bytes themselves, as if they were a decrypted payload.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size))
    let bytes = UnsafeRawBufferPointer(copy)
    var start = 0
    while let header = QUIC.initialHeader(bytes, at: start) {
        precondition(header.end > start && header.end <= size && header.packetNumberOffset < header.end)
        let pn = header.packetNumberOffset
        if let keys = QUICInitialProtection.keys(dcid: header.destinationID, version: header.version, client: true),
           pn + 20 <= header.end,
           let mask = QUICInitialProtection.mask(hp: keys.hp, sample: UnsafeRawBufferPointer(rebasing: bytes[(pn + 4)..<(pn + 20)])) {
            // as the recorder does: the first byte and the packet number unmasked, the nonce from it
            let first = bytes[start] ^ (mask[0] & 0x0f)
            let pnLength = Int(first & 0x03) + 1
            var aad = Array(bytes[start..<(pn + pnLength)])
            aad[0] = first
            var number: UInt64 = 0
            for k in 0..<pnLength {
                aad[pn - start + k] = bytes[pn + k] ^ mask[1 + k]
                number = number << 8 | UInt64(aad[pn - start + k])
            }
            var nonce = keys.iv
            for k in 0..<8 { nonce[11 - k] ^= UInt8(truncatingIfNeeded: number >> (8 * UInt64(k))) }
            if let plain = QUICInitialProtection.open(key: keys.key, nonce: nonce, aad: aad,
                                                      sealed: UnsafeRawBufferPointer(rebasing: bytes[(pn + pnLength)..<header.end])) {
                precondition(plain.count == header.end - pn - pnLength - 16)
                _ = QUIC.cryptoFrames(plain)
            }
        }
        start = header.end
    }
    if let frames = QUIC.cryptoFrames(Array(bytes)) {
        precondition(QUIC.contiguous(frames).count <= 1 << 16)
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
