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

    /// swift-certificates' RFC 4514 text, with OpenSSL's short names for the
    /// attributes it prints as numbers (or names otherwise).
    static func name(_ n: DistinguishedName) -> String {
        n.reversed().map { rdn in
            rdn.map { attribute -> String in
                let text = String(describing: attribute)
                guard let equals = text.firstIndex(of: "=") else { return text }
                let key = String(text[..<equals])
                return (Self.openSSLNames[key] ?? key) + text[equals...]
            }.joined(separator: "+")
        }.joined(separator: ",")
    }

    /// Attribute types as swift-certificates prints them -> OpenSSL's short names.
    static let openSSLNames: [String: String] = [
        "E": "emailAddress", "STREET": "street",
        "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.12": "title", "2.5.4.15": "businessCategory",
        "2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
        "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
        "0.9.2342.19200300.100.1.1": "UID", "1.2.840.113549.1.9.1": "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
    ]

    static func nanoseconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 9.2e9 else { return seconds < 0 ? .min : .max }
        return Int64(seconds.rounded()) * 1_000_000_000
    }
}
