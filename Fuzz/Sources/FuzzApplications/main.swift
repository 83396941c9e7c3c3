import Applications
import CFuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// The application-protocol parsers on arbitrary stream bytes: each input is the
// start of one direction of a connection. Finding and parsing hellos, and every
// fingerprint of what was found, must never crash, hang or read out of bounds.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let (_, hello) = TLS.findClientHello(in: bytes) {
        _ = TLS.ja3String(hello)
        _ = TLS.ja4Raw(hello)
        _ = TLS.ja4(hello) { String($0.utf8.count) }
        _ = TLS.versionName(hello.offeredVersion)
        if hello.sslv2Record { precondition(hello.cipherSuites.count + hello.sslv2CipherKinds.count <= size / 3) }
    }
    if let (_, hello) = TLS.findServerHello(in: bytes) {
        _ = TLS.ja3sString(hello)
        _ = TLS.versionName(hello.version)
    }
    if let flight = TLS.serverFlight(in: bytes) {
        precondition(flight.certificates.count <= 16)
        _ = flight.keyExchangeGroup.map { TLS.groupNames[$0] }
    }
    // what came before a ClientHello: the input split as client and server bytes
    if size >= 1 {
        let cut = Int(bytes[0]) * size / 256
        let client = bytes[..<cut], server = bytes[cut...]
        _ = TLSPreamble.name(client: client, server: server)
        _ = TLSPreamble.mayPrecedeTLS(client: client, server: server)
    }
    if let id = SSH.identification(in: bytes), let kex = SSH.kexInit(in: bytes, from: id.end) {
        _ = SSH.hasshString(kex)
        _ = SSH.hasshServerString(kex)
        _ = SSH.chosen(client: kex.kex, server: kex.kex.reversed())
    }
    // HTTP: the input split in two at a point it chooses, as client and server bytes,
    // fed in pieces of the sizes its first bytes give.
    if size >= 2 {
        let cut = Int(bytes[0]) * size / 256
        var http = HTTPConnection()
        let piece = max(1, Int(bytes[1]))
        var i = 2
        while i < cut {
            let end = min(cut, i + piece)
            http.feedClient(UnsafeRawBufferPointer(rebasing: bytes[i..<end]))
            i = end
        }
        // gaps of known length (inside a body, or past it: resynchronising) or unknown
        if bytes[1] & 1 == 1 { http.clientGap(length: bytes[1] & 4 == 0 ? Int(bytes[0]) : nil) }
        i = max(cut, 2)
        var pieces = 0
        while i < size {
            let end = min(size, i + piece)
            http.feedServer(UnsafeRawBufferPointer(rebasing: bytes[i..<end]))
            i = end
            pieces += 1
            if bytes[1] & 2 == 2, pieces % 3 == 1 { http.serverGap(length: Int(bytes[0]) + pieces) }
        }
        http.close()
        for t in http.transactions {
            precondition(t.depth >= 1)
            for m in [t.request, t.response].compactMap({ $0 }) {
                precondition(m.bodyLength >= 0 && m.bodyLength <= m.bodyWireLength)
                precondition(m.start >= 0 && m.bodyStart >= m.start)
            }
        }
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
