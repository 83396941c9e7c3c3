import Foundation
import X509

/// What the archive keeps of a certificate sent in the clear, read by
/// apple/swift-certificates: subject and issuer as OpenSSL prints them with its
/// RFC 2253 flags (most specific first: `CN=server.example,O=Example GmbH,C=DE`),
/// the serial number in upper-case hex (as `openssl x509 -serial` prints it), and
/// the validity period in nanoseconds since the epoch.
struct CertificateFields {
    var subject: String
    var issuer: String
    var serial: String
    var notBefore: Int64
    var notAfter: Int64

    /// nil when the bytes are not a certificate swift-certificates can parse.
    init?(der: [UInt8]) {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        subject = Self.name(certificate.subject)
        issuer = Self.name(certificate.issuer)
        var bytes = Array(certificate.serialNumber.bytes)
        while bytes.count > 1 && bytes.first == 0 { bytes.removeFirst() }
        let digits = Array("0123456789ABCDEF".utf8)
        serial = String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
        notBefore = Self.nanoseconds(certificate.notValidBefore)
        notAfter = Self.nanoseconds(certificate.notValidAfter)
    }

    /// swift-certificates' RFC 4514 text, with OpenSSL's name for the e-mail attribute.
    static func name(_ n: DistinguishedName) -> String {
        n.reversed().map { rdn in
            rdn.map { attribute -> String in
                let text = String(describing: attribute)
                return text.hasPrefix("E=") ? "emailAddress=" + text.dropFirst(2) : text
            }.joined(separator: "+")
        }.joined(separator: ",")
    }

    static func nanoseconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 9.2e9 else { return seconds < 0 ? .min : .max }
        return Int64(seconds.rounded()) * 1_000_000_000
    }
}
