import Applications
import Digest
import Store

/// What a QUIC flow's client sent in its Initial packets so far.
final class QUICHandshake {
    /// The Destination Connection ID of the client's first Initial: both sides'
    /// Initial keys come from it.
    var keys: QUICInitialProtection.Keys?
    var serverKeys: QUICInitialProtection.Keys?
    /// The `tls` row written from the ClientHello, completed by the ServerHello.
    var row: RowValues?
    var serverFrames: [(offset: Int, data: [UInt8])] = []
    var serverDatagrams = 0
    var serverDone = false
    var frames: [(offset: Int, data: [UInt8])] = []
    var heldBytes = 0
    var firstTime: Int64?
    var datagrams = 0
    var done = false
}

/// Reads the TLS ClientHello of a QUIC connection from its client's Initial
/// packets (RFC 9001 5: protected with keys any observer can derive): header
/// protection removed, the payload opened, its CRYPTO frames put in order. The
/// hello is recorded as a `tls` row, as Zeek logs QUIC handshakes in ssl.log,
/// with a JA4 of transport `q`; the flow's `app` is 'quic' and its host the SNI.
/// A packet that does not open (another version, damaged, not an Initial) is
/// left alone: nothing is guessed.
enum QUICRecorder {
    /// Client datagrams looked at before giving up, and CRYPTO bytes held.
    static let maxDatagrams = 16
    static let maxCryptoBytes = 1 << 16

    /// A datagram from the client of a UDP flow.
    static func clientDatagram(_ bytes: UnsafeRawBufferPointer, at time: Int64, flow: FlowState, writer: ArchiveWriter) {
        let handshake = flow.quic ?? QUICHandshake()
        flow.quic = handshake
        guard !handshake.done else { return }
        handshake.datagrams += 1
        if handshake.datagrams > maxDatagrams {
            handshake.done = true
            return
        }
        var start = 0
        // a datagram may coalesce packets: each Initial is read, the rest left
        while let header = QUIC.initialHeader(bytes, at: start) {
            if handshake.keys == nil {
                handshake.keys = QUICInitialProtection.keys(dcid: header.destinationID, version: header.version, client: true)
                handshake.serverKeys = QUICInitialProtection.keys(dcid: header.destinationID, version: header.version, client: false)
            }
            if let keys = handshake.keys, let plaintext = open(bytes, start: start, header: header, keys: keys),
               let frames = QUIC.cryptoFrames(plaintext) {
                if handshake.firstTime == nil { handshake.firstTime = time }
                for f in frames where handshake.heldBytes + f.data.count <= maxCryptoBytes {
                    handshake.frames.append(f)
                    handshake.heldBytes += f.data.count
                }
            }
            start = header.end
        }
        guard let message = QUIC.handshakeMessage(1, in: handshake.frames, limit: maxCryptoBytes) else { return }
        handshake.done = true
        handshake.frames = []
        guard let hello = TLS.clientHello(message) else { return }
        writer.setApplication(flow, app: "quic", host: hello.serverName)
        var row = Tables.tls.row()
        row.set("flow_id", flow.handle.id)
        row.set("ts", handshake.firstTime)
        row.set("server_name", hello.serverName)
        row.set("alpn_offered", hello.alpn.isEmpty ? nil
                : "[" + hello.alpn.map { JSONText.string(String(decoding: $0, as: UTF8.self)) }.joined(separator: ",") + "]")
        row.set("ja3", MD5.hex(TLS.ja3String(hello)))
        row.set("ja4", TLS.ja4(hello, transport: "q") { String(SHA256.hex(Array($0.utf8)).prefix(12)) })
        row.set("client_version", TLS.versionName(hello.offeredVersion))
        row.set("resumed", false)
        row.set("established", false)
        writer.addTLS(row)
        handshake.row = row
    }

    /// A datagram from the server of a QUIC flow whose ClientHello was read: its
    /// Initials, opened with the server's Initial keys, carry the ServerHello (the
    /// version and cipher chosen, the key share's group); the flow's `tls` row is
    /// written again with them (the rest of the server's handshake is encrypted
    /// with keys an observer does not have).
    static func serverDatagram(_ bytes: UnsafeRawBufferPointer, flow: FlowState, writer: ArchiveWriter) {
        guard let handshake = flow.quic, !handshake.serverDone, let keys = handshake.serverKeys, var row = handshake.row else { return }
        handshake.serverDatagrams += 1
        if handshake.serverDatagrams > maxDatagrams {
            handshake.serverDone = true
            return
        }
        var start = 0
        while let header = QUIC.initialHeader(bytes, at: start) {
            if let plaintext = open(bytes, start: start, header: header, keys: keys), let frames = QUIC.cryptoFrames(plaintext) {
                handshake.serverFrames += frames.prefix(64)
            }
            start = header.end
        }
        guard let message = QUIC.handshakeMessage(2, in: handshake.serverFrames, limit: maxCryptoBytes) else { return }
        handshake.serverDone = true
        handshake.serverFrames = []
        guard let hello = TLS.serverHello(message) else { return }
        row.set("version", TLS.versionName(hello.version))
        row.set("cipher", TLS.cipherSuiteNames[hello.cipherSuite] ?? "0x" + String(hello.cipherSuite, radix: 16))
        if let group = hello.keyShareGroup { row.set("curve", TLS.groupNames[group] ?? "0x" + String(group, radix: 16)) }
        row.set("ja3s", MD5.hex(TLS.ja3sString(hello)))
        writer.addTLS(row)
        handshake.row = nil
    }

    /// Removes the header protection of the Initial at `start` and opens its payload.
    static func open(_ b: UnsafeRawBufferPointer, start: Int, header: QUIC.InitialHeader,
                     keys: QUICInitialProtection.Keys) -> [UInt8]? {
        let pn = header.packetNumberOffset
        guard pn + 4 + 16 <= header.end,
              let mask = QUICInitialProtection.mask(hp: keys.hp, sample: UnsafeRawBufferPointer(rebasing: b[(pn + 4)..<(pn + 20)]))
        else { return nil }
        let first = b[start] ^ (mask[0] & 0x0f)
        let pnLength = Int(first & 0x03) + 1
        var aad = Array(UnsafeRawBufferPointer(rebasing: b[start..<(pn + pnLength)]))
        aad[0] = first
        var number: UInt64 = 0
        for k in 0..<pnLength {
            let byte = b[pn + k] ^ mask[1 + k]
            aad[pn - start + k] = byte
            number = number << 8 | UInt64(byte)
        }
        var nonce = keys.iv
        for k in 0..<8 { nonce[11 - k] ^= UInt8(truncatingIfNeeded: number >> (8 * UInt64(k))) }
        return QUICInitialProtection.open(key: keys.key, nonce: nonce, aad: aad,
                                          sealed: UnsafeRawBufferPointer(rebasing: b[(pn + pnLength)..<header.end]))
    }
}
