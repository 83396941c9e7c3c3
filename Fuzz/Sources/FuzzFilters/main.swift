import CFuzzSupport
import Query
#if canImport(Glibc)
import Glibc
#endif

// The filter parameters as they arrive over HTTP (`flowdb serve`) and on the
// command line: arbitrary names and values, split from the input as a query string
// (`&` between pairs, `=` within). Reading them must never crash or hang; a
// filter that reads builds SQL whose placeholders match its values, and no value
// text ever appears in the SQL.
func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return false }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
        return true
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var pairs: [(name: String, value: String)] = []
    for part in text.split(separator: "&", omittingEmptySubsequences: false).prefix(64) {
        let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        pairs.append((String(kv[0]), kv.count > 1 ? String(kv[1]) : ""))
    }
    guard let selection = try? FlowSelection(pairs) else { return 0 }
    let (clause, values) = selection.filter.sql()
    precondition(clause.filter { $0 == "?" }.count == values.count, "placeholders and values differ")
    // compared as bytes: a String search may stop at a NUL (the first finding was that, not flowdb)
    let sql = Array(clause.utf8)
    for (_, value) in pairs where value.count >= 8 && !value.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" || $0 == "/" }) {
        precondition(!occurs(Array(value.utf8), in: sql), "a value reached the SQL text")
    }
    _ = AddressRange(text)
    _ = TimeParser.nanoseconds(text)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
