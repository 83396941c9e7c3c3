import CCrypto

/// The keys of QUIC's Initial packets and the ciphers that open them (RFC 9001
/// section 5, and RFC 9369 for version 2): derived from the client's first
/// Destination Connection ID, which the packet carries in the clear, so any
/// observer can read a handshake's first flight, as the protocol intends.
public enum QUICInitialProtection {
    public struct Keys: Sendable, Equatable {
        public var key: [UInt8], iv: [UInt8], hp: [UInt8]
    }

    public static let version1: UInt32 = 0x0000_0001
    public static let version2: UInt32 = 0x6b33_43cf

    static let salt1: [UInt8] = [0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
                                 0xcc, 0xbb, 0x7f, 0x0a]
    static let salt2: [UInt8] = [0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
                                 0xf9, 0xbd, 0x2e, 0xd9]

    /// The client's (or server's) Initial keys for `dcid`; nil for a version
    /// other than 1 and 2.
    public static func keys(dcid: [UInt8], version: UInt32, client: Bool) -> Keys? {
        let salt: [UInt8], prefix: String
        switch version {
        case version1: (salt, prefix) = (salt1, "quic ")
        case version2: (salt, prefix) = (salt2, "quicv2 ")
        default: return nil
        }
        let initial = hmacSHA256(key: salt, data: dcid)
        let secret = expandLabel(initial, client ? "client in" : "server in", length: 32)
        return Keys(key: expandLabel(secret, prefix + "key", length: 16), iv: expandLabel(secret, prefix + "iv", length: 12),
                    hp: expandLabel(secret, prefix + "hp", length: 16))
    }

    /// HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with an empty context, for up
    /// to 32 bytes (one HMAC block).
    static func expandLabel(_ secret: [UInt8], _ label: String, length: Int) -> [UInt8] {
        let full = Array("tls13 ".utf8) + Array(label.utf8)
        let info = [UInt8(length >> 8), UInt8(length & 0xff), UInt8(full.count)] + full + [0, 1]
        return Array(hmacSHA256(key: secret, data: info).prefix(length))
    }

    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        _ = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.bindMemory(to: UInt8.self).baseAddress, d.count, &out, &length)
            }
        }
        return out
    }

    /// The header-protection mask: AES-128 of the 16-byte sample (ECB, one block).
    public static func mask(hp: [UInt8], sample: UnsafeRawBufferPointer) -> [UInt8]? {
        guard sample.count == 16, hp.count == 16, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 32)
        var written: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nil, hp, nil) == 1 else { return nil }
        EVP_CIPHER_CTX_set_padding(ctx, 0)
        let ok = out.withUnsafeMutableBufferPointer { o in
            EVP_EncryptUpdate(ctx, o.baseAddress, &written, sample.bindMemory(to: UInt8.self).baseAddress, 16) == 1
        }
        return ok && written == 16 ? Array(out.prefix(16)) : nil
    }

    /// Opens an AES-128-GCM payload whose last 16 bytes are its tag; nil when
    /// the tag does not verify (not this connection's Initial, or damaged).
    public static func open(key: [UInt8], nonce: [UInt8], aad: [UInt8], sealed: UnsafeRawBufferPointer) -> [UInt8]? {
        guard sealed.count >= 16, key.count == 16, nonce.count == 12, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let bodyLength = sealed.count - 16
        var out = [UInt8](repeating: 0, count: max(bodyLength, 1))
        var written: Int32 = 0, final: Int32 = 0
        let input = sealed.bindMemory(to: UInt8.self)
        guard EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nil) == 1,
              EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1,
              EVP_DecryptUpdate(ctx, nil, &written, aad, Int32(aad.count)) == 1 else { return nil }
        let updated = out.withUnsafeMutableBufferPointer { o in
            EVP_DecryptUpdate(ctx, o.baseAddress, &written, input.baseAddress, Int32(bodyLength)) == 1
        }
        guard updated else { return nil }
        var tag = Array(UnsafeRawBufferPointer(rebasing: sealed[bodyLength...]))
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1 else { return nil }
        let verified = out.withUnsafeMutableBufferPointer { o in
            EVP_DecryptFinal_ex(ctx, o.baseAddress! + Int(written), &final) == 1
        }
        return verified ? Array(out.prefix(bodyLength)) : nil
    }
}
