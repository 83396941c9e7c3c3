/// Parses capture-time durations as analysts write them: `90` or `90s`, `500ms`,
/// `2m`, `1h`, `1h30m`, `250us`, `10ns`. Returns nanoseconds, or nil.
public enum Durations {
    public static func nanoseconds(_ text: String) -> Int64? {
        guard !text.isEmpty else { return nil }
        if let seconds = Int64(text) { return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow ? nil : seconds * 1_000_000_000 }
        let units: [(String, Int64)] = [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
                                        ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var total: Int64 = 0
        var rest = Substring(text)
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            guard let factor = units.first(where: { $0.0 == unit })?.1 else { return nil }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return total
    }
}

/// Parses sizes as analysts write them: `1GB`, `500MB`, `64KB`, `1G`, `100M`,
/// `2048` (bytes). Units are powers of 1024. Returns bytes, or nil.
public enum ByteSizes {
    public static func bytes(_ text: String) -> Int? {
        let trimmed = text.uppercased()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count)
        let factors: [Substring: Int] = ["": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20,
                                         "MIB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30, "T": 1 << 40, "TB": 1 << 40,
                                         "TIB": 1 << 40]
        guard let factor = factors[unit] else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }
}
