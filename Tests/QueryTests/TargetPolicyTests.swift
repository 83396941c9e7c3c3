import Query
import Testing

/// The target-based policies' rules, and their resolution of recorded conflicts.
@Suite struct TargetPolicyTests {
    /// Which copy each target reads, for each way the later segment can lie against
    /// the earlier one (Suricata's rules; `nil` earlier: bytes delivered in order).
    @Test func rulesByRelation() {
        let earlier: Range<Int64> = 10..<20
        let relations: [(String, Range<Int64>?)] = [
            ("before, ends inside", 5..<15), ("before, ends with", 5..<20), ("before, ends after", 5..<25),
            ("with, ends inside", 10..<15), ("with, ends with", 10..<20), ("with, ends after", 10..<25),
            ("after, ends inside", 12..<15), ("after, ends with", 12..<20), ("after, ends after", 12..<25),
        ]
        let expected: [TargetPolicy: String] = [
            .first: "---------", .last: "LLLLLLLLL",
            .bsd: "LLL------", .windows: "LLL------", .macos: "LLL------",
            .linux: "LLL--L---",
            .solaris: "-LL-LL--L",
        ]
        for policy in TargetPolicy.allCases {
            let got = String(relations.map { policy.readsLater(earlier: earlier, later: $0.1!) ? "L" : "-" })
            #expect(got == expected[policy], "\(policy)")
            #expect(policy.readsLater(earlier: nil, later: 5..<25) == (policy == .last), "\(policy) over delivered bytes")
        }
    }

    /// Three different copies of the same bytes, A then B then C: `first` keeps A
    /// although the second conflict's "earlier" copy is B; `last` takes C.
    @Test func chainsOfCopiesInArrivalOrder() {
        let conflicts = [
            ConflictRecord(dir: 0, streamOffset: 4, earlierSegment: 4..<8, laterSegment: 4..<8, earlierBytes: Array("AAAA".utf8),
                           laterBytes: Array("BBBB".utf8), kept: "later"),
            ConflictRecord(dir: 0, streamOffset: 4, earlierSegment: 4..<8, laterSegment: 4..<8, earlierBytes: Array("BBBB".utf8),
                           laterBytes: Array("CCCC".utf8), kept: "later"),
        ]
        func read(_ policy: TargetPolicy) -> String {
            var bytes = Array("0123CCCC89".utf8)       // as stored: the last copy
            PolicyPatches(conflicts, policy: policy).apply(dir: 0, offset: 0, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(read(.first) == "0123AAAA89")
        #expect(read(.last) == "0123CCCC89")
        #expect(read(.bsd) == "0123AAAA89")           // same start: the earlier, twice
        #expect(read(.solaris) == "0123CCCC89")       // same start and end: the later, twice
    }

    /// Patches apply to any piece of the stream they fall in, and nowhere else.
    @Test func patchesOnPieceBoundaries() {
        let conflicts = [ConflictRecord(dir: 1, streamOffset: 6, earlierSegment: nil, laterSegment: 6..<10,
                                        earlierBytes: Array("abcd".utf8), laterBytes: Array("WXYZ".utf8), kept: "earlier")]
        let patches = PolicyPatches(conflicts, policy: .last)
        var first = Array("......ab".utf8), second = Array("cd....".utf8), other = Array("..........".utf8)
        patches.apply(dir: 1, offset: 0, to: &first)
        patches.apply(dir: 1, offset: 8, to: &second)
        patches.apply(dir: 0, offset: 0, to: &other)
        #expect(String(decoding: first + second, as: UTF8.self) == "......WXYZ....")
        #expect(String(decoding: other, as: UTF8.self) == "..........")
    }

    /// Rows the archive could not keep whole, or whose values make no sense, change
    /// nothing and are counted.
    @Test func unusableRowsAreCounted() {
        let rows = [
            ConflictRecord(dir: 0, streamOffset: 0, earlierSegment: 0..<4, laterSegment: 0..<4, earlierBytes: nil, laterBytes: nil, kept: "later"),
            ConflictRecord(dir: 0, streamOffset: 0, earlierSegment: 0..<4, laterSegment: 0..<4, earlierBytes: [1, 2], laterBytes: [3], kept: "later"),
            ConflictRecord(dir: 0, streamOffset: -5, earlierSegment: nil, laterSegment: 0..<1, earlierBytes: [1], laterBytes: [2], kept: "earlier"),
            ConflictRecord(dir: 7, streamOffset: 0, earlierSegment: nil, laterSegment: 0..<1, earlierBytes: [1], laterBytes: [2], kept: "earlier"),
        ]
        let patches = PolicyPatches(rows, policy: .last)
        #expect(patches.isEmpty)
        #expect(patches.unresolved == 3)
        // offsets at the end of Int64: refused, never a trap
        let far = PolicyPatches([ConflictRecord(dir: 0, streamOffset: .max, earlierSegment: nil, laterSegment: 0..<1,
                                                earlierBytes: [0, 0], laterBytes: [1, 1], kept: "earlier"),
                                 ConflictRecord(dir: 0, streamOffset: 2, earlierSegment: nil, laterSegment: 2..<3,
                                                earlierBytes: [0], laterBytes: [1], kept: "earlier")], policy: .last)
        #expect(far.unresolved == 1)
        var near = [UInt8](repeating: 7, count: 4)
        far.apply(dir: 0, offset: .max - 2, to: &near)
        far.apply(dir: 0, offset: -3, to: &near)
        #expect(near == [7, 7, 7, 7])
        // a copy cut by the archive's bounds is not half applied
        let cut = PolicyPatches([ConflictRecord(dir: 0, streamOffset: 0, earlierSegment: nil, laterSegment: 0..<8,
                                                earlierBytes: [0, 0], laterBytes: [1, 1], kept: "earlier", bytesCut: 6)], policy: .last)
        #expect(cut.isEmpty && cut.unresolved == 1)
    }
}
