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
