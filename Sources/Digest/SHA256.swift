import CCrypto

/// SHA-256, incremental, for capture files, reassembled streams and extracted
/// files. The work is done by libcrypto, which uses the CPU's SHA instructions
/// where they exist (a pure Swift version hashed at about 60 instructions a byte,
/// which made hashing the slowest part of an ingest). A value type: copies hash
/// independently.
public struct SHA256: @unchecked Sendable {
    private final class Context {
        let ctx: OpaquePointer

        init() {
            ctx = EVP_MD_CTX_new()
            EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        }

        init(copying other: Context) {
            ctx = EVP_MD_CTX_new()
            EVP_MD_CTX_copy_ex(ctx, other.ctx)
        }

        deinit { EVP_MD_CTX_free(ctx) }
    }

    private var context = Context()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        EVP_DigestUpdate(context.ctx, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added; the value itself is left unchanged.
    public func finalize() -> [UInt8] {
        let copy = Context(copying: context)
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(copy.ctx, &digest, &length)
        return digest
    }

    public var hexDigest: String {
        Hex.encode(finalize())
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        var h = SHA256()
        h.update(bytes)
        return h.hexDigest
    }
}

/// MD5, for fingerprints defined on it (JA3, JA3S, HASSH): not for integrity.
public enum MD5 {
    /// The lowercase hex MD5 of `text`'s UTF-8 bytes.
    public static func hex(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        var bytes = Array(text.utf8)
        let ctx = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(ctx) }
        EVP_DigestInit_ex(ctx, EVP_md5(), nil)
        bytes.withUnsafeMutableBytes { _ = EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
        EVP_DigestFinal_ex(ctx, &digest, &length)
        return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
