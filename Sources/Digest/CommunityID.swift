import CCrypto

/// Community ID v1 (corelight/community-id-spec): the flow hash Zeek, Suricata,
/// Arkime and most SIEMs log, so their records and flowdb's join on it.
/// `1:` and the base64 of SHA-1 over: the seed (2 bytes), the lower endpoint's
/// address, the higher's, the IP protocol, a zero byte, the lower's port, the
/// higher's (network byte order). For ICMP the "ports" are the type and code,
/// except that a request or a reply stands for both: its counterpart's type takes
/// the code's place, so both directions hash alike.
public enum CommunityID {
    /// `source`/`destination` are 4 or 16 address bytes; `proto` the IP protocol
    /// (6, 17, 1, 58, ...); for ICMP, `sourcePort` is the type and `destinationPort` the code.
    public static func v1(source: [UInt8], destination: [UInt8], proto: UInt8, sourcePort: UInt16, destinationPort: UInt16,
                          seed: UInt16 = 0) -> String {
        // a context of its own: for one-off hashes (many: keep a Hasher)
        Hasher().v1(source: source, destination: destination, proto: proto, sourcePort: sourcePort,
                    destinationPort: destinationPort, seed: seed)
    }

    /// Computes Community IDs with one libcrypto context, reused (a fresh one per
    /// hash cost four times as much). One thread at a time.
    public final class Hasher {
        private let context: OpaquePointer
        private let sha1: OpaquePointer

        public init() {
            context = EVP_MD_CTX_new()
            sha1 = EVP_MD_fetch(nil, "SHA1", nil)
        }

        deinit {
            EVP_MD_CTX_free(context)
            EVP_MD_free(sha1)
        }

        /// An address as `high`/`low` 64-bit halves (IPv4: the low 32 bits of `low`).
        public struct Address {
            public var high: UInt64, low: UInt64, isIPv6: Bool
            public init(high: UInt64, low: UInt64, isIPv6: Bool) { (self.high, self.low, self.isIPv6) = (high, low, isIPv6) }

            init(_ bytes: [UInt8]) {
                isIPv6 = bytes.count == 16
                var h: UInt64 = 0, l: UInt64 = 0
                for (i, b) in bytes.enumerated() {
                    if isIPv6 && i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
                }
                (high, low) = (h, l)
            }

            static func < (a: Address, b: Address) -> Bool { (a.high, a.low) < (b.high, b.low) }
            static func == (a: Address, b: Address) -> Bool { a.high == b.high && a.low == b.low }
        }

        public func v1(source: [UInt8], destination: [UInt8], proto: UInt8, sourcePort: UInt16, destinationPort: UInt16,
                       seed: UInt16 = 0) -> String {
            v1(source: Address(source), destination: Address(destination), proto: proto, sourcePort: sourcePort,
               destinationPort: destinationPort, seed: seed)
        }

        public func v1(source: Address, destination: Address, proto: UInt8, sourcePort: UInt16, destinationPort: UInt16,
                       seed: UInt16 = 0) -> String {
            var (a, b, pa, pb) = (source, destination, sourcePort, destinationPort)
            var oneWay = false
            if proto == 1 || proto == 58 {
                let type = UInt8(truncatingIfNeeded: sourcePort)
                if let counterpart = (proto == 1 ? icmpCounterparts : icmp6Counterparts)[type] {
                    pb = UInt16(counterpart)
                } else {
                    oneWay = true
                }
            }
            // ordered so that both directions give one hash (ICMP without a counterpart: as seen)
            if !oneWay && (b < a || (a == b && pa > pb)) {
                swap(&a, &b)
                swap(&pa, &pb)
            }
            let hasPorts = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { input in
                var n = 0
                func put(_ byte: UInt8) { input[n] = byte; n += 1 }
                func put(_ value: UInt64, bytes: Int) { for i in (0..<bytes).reversed() { put(UInt8(truncatingIfNeeded: value >> (8 * i))) } }
                put(UInt64(seed), bytes: 2)
                for address in [a, b] {
                    if address.isIPv6 { put(address.high, bytes: 8); put(address.low, bytes: 8) } else { put(address.low, bytes: 4) }
                }
                put(proto); put(0)
                if hasPorts { put(UInt64(pa), bytes: 2); put(UInt64(pb), bytes: 2) }
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { digest in
                    var length: UInt32 = 0
                    EVP_DigestInit_ex2(context, sha1, nil)
                    EVP_DigestUpdate(context, input.baseAddress, n)
                    EVP_DigestFinal_ex(context, digest.baseAddress, &length)
                    return "1:" + Base64.encode(UnsafeBufferPointer(rebasing: digest[0..<20]))
                }
            }
        }
    }

    /// The IP protocol of a flow's transport as the archive names it ('tcp', 'udp', 'icmp').
    public static func protocolNumber(_ name: String, isIPv6: Bool) -> UInt8? {
        switch name {
        case "tcp": 6
        case "udp": 17
        case "icmp": isIPv6 ? 58 : 1
        default: nil
        }
    }

    /// ICMP types whose messages come in pairs: request and reply, each the other's.
    static let icmpCounterparts: [UInt8: UInt8] = [8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17]
    static let icmp6Counterparts: [UInt8: UInt8] = [128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136, 136: 135,
                                                     139: 140, 140: 139, 144: 145, 145: 144]
}

/// Standard base64 (RFC 4648) with padding.
/// Lowercase hexadecimal text of bytes.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { encode($0) }
    }

    public static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="),
                    UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
