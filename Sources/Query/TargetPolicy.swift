import Store

/// How a receiving operating system resolves bytes that arrived twice, differently:
/// the target-based reassembly policies of Novak and Sturges (2007), as Suricata
/// documents and implements them. Comparing the two copies' whole segments:
///
/// - `first`: the earlier copy, always (Windows Vista and later).
/// - `last`: the later copy, always (also over bytes already accepted in order).
/// - `bsd`, `windows`, `macos`: the later copy when its segment starts before the
///   earlier one's (Suricata groups Windows XP/2003 and macOS with BSD here).
/// - `linux`: as `bsd`, and also when both start together and the later one ends after.
/// - `solaris`: the later copy when its segment ends at or after the earlier one's
///   end and starts before or with it, or starts after it and ends after its end.
///
/// Bytes the sensor saw delivered in order were accepted by the receiver then: every
/// target but `last` keeps their earlier copy.
public enum TargetPolicy: String, CaseIterable, Sendable {
    case first, last, linux, bsd, windows, solaris, macos

    /// Whether the target reads the later copy. Segments are stream ranges; `earlier`
    /// is nil when the earlier copy had been delivered in order.
    public func readsLater(earlier: Range<Int64>?, later: Range<Int64>) -> Bool {
        if self == .last { return true }
        guard let earlier, self != .first else { return false }
        let startsBefore = later.lowerBound < earlier.lowerBound
        let startsWith = later.lowerBound == earlier.lowerBound
        let endsAfter = later.upperBound > earlier.upperBound
        let endsWithOrAfter = later.upperBound >= earlier.upperBound
        switch self {
        case .first, .last: return self == .last
        case .bsd, .windows, .macos: return startsBefore
        case .linux: return startsBefore || (startsWith && endsAfter)
        case .solaris: return ((startsBefore || startsWith) && endsWithOrAfter) || (!startsBefore && !startsWith && endsAfter)
        }
    }
}

/// One recorded conflict, as `overlap_conflict` holds it.
public struct ConflictRecord: Sendable, Equatable {
    public var dir: Int
    public var streamOffset: Int64
    public var earlierSegment: Range<Int64>?
    public var laterSegment: Range<Int64>
    public var earlierBytes: [UInt8]?
    public var laterBytes: [UInt8]?
    public var kept: String
    /// Bytes of each copy the archive did not keep (past its bounds).
    public var bytesCut: Int

    public init(dir: Int, streamOffset: Int64, earlierSegment: Range<Int64>?, laterSegment: Range<Int64>,
                earlierBytes: [UInt8]?, laterBytes: [UInt8]?, kept: String, bytesCut: Int = 0) {
        self.bytesCut = bytesCut
        self.dir = dir
        self.streamOffset = streamOffset
        self.earlierSegment = earlierSegment
        self.laterSegment = laterSegment
        self.earlierBytes = earlierBytes
        self.laterBytes = laterBytes
        self.kept = kept
    }
}

/// The bytes a target reads where a flow's copies conflicted: replacements for the
/// stored stream, by direction and stream offset, in order.
public struct PolicyPatches: Sendable {
    /// Per direction: (stream offset, bytes), sorted, not overlapping.
    public private(set) var runs: [[(offset: Int64, bytes: [UInt8])]] = [[], []]
    /// Conflicts whose copies the archive did not keep whole (past its bounds), or
    /// whose values make no sense: those bytes are shown as stored.
    public private(set) var unresolved = 0

    public init() {}

    /// Resolves `conflicts` (in the order they arrived) by `policy`. Where the target
    /// reads the earlier copy of bytes an earlier conflict already settled, that
    /// settlement stands: the "earlier copy" of a later conflict is what the sensor
    /// held, which the target may itself have rejected.
    public init(_ conflicts: [ConflictRecord], policy: TargetPolicy) {
        var chosen: [[Int64: UInt8]] = [[:], [:]]
        for c in conflicts where c.dir == 0 || c.dir == 1 {
            // whole copies only (a cut one would be half applied), at offsets that add up
            guard let earlier = c.earlierBytes, let later = c.laterBytes, earlier.count == later.count, c.bytesCut == 0,
                  c.streamOffset >= 0, c.streamOffset <= Int64.max - Int64(later.count) else {
                unresolved += 1
                continue
            }
            let takeLater = policy.readsLater(earlier: c.earlierSegment, later: c.laterSegment)
            let bytes = takeLater ? later : earlier
            for (i, b) in bytes.enumerated() {
                let at = c.streamOffset + Int64(i)
                if takeLater || chosen[c.dir][at] == nil { chosen[c.dir][at] = b }
            }
        }
        for dir in 0..<2 {
            var list: [(offset: Int64, bytes: [UInt8])] = []
            for (at, b) in chosen[dir].sorted(by: { $0.key < $1.key }) {
                if let last = list.last, last.offset + Int64(last.bytes.count) == at {
                    list[list.count - 1].bytes.append(b)
                } else {
                    list.append((at, [b]))
                }
            }
            runs[dir] = list
        }
    }

    public var isEmpty: Bool { runs[0].isEmpty && runs[1].isEmpty }

    /// Writes the replacements that fall in `bytes`, which hold direction `dir`'s
    /// stream from `offset` on.
    public func apply(dir: Int, offset: Int64, to bytes: inout [UInt8]) {
        guard dir == 0 || dir == 1, !bytes.isEmpty, offset >= 0 else { return }
        let (end, overflow) = offset.addingReportingOverflow(Int64(bytes.count))
        guard !overflow else { return }
        let list = runs[dir]
        // the first replacement ending after `offset` (they are sorted and disjoint)
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid].offset + Int64(list[mid].bytes.count) <= offset { low = mid + 1 } else { high = mid }
        }
        var i = low
        while i < list.count, list[i].offset < end {
            let run = list[i]
            let from = max(run.offset, offset), to = min(run.offset + Int64(run.bytes.count), end)
            if from < to { for at in from..<to { bytes[Int(at - offset)] = run.bytes[Int(at - run.offset)] } }
            i += 1
        }
    }
}

extension FlowReader {
    /// The flow's recorded conflicts, in the order they arrived (none in an archive
    /// older than migration 0019).
    public func conflicts(flowID: Int64) throws -> [ConflictRecord] {
        guard try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'overlap_conflict'") == 1 else { return [] }
        let s = try connection.prepare("""
            SELECT dir, stream_offset, earlier_segment_offset, earlier_segment_length, later_segment_offset, later_segment_length,
                   earlier_bytes, later_bytes, kept, bytes_cut
            FROM overlap_conflict WHERE flow_id = ? ORDER BY rowid
            """)
        try s.bind(flowID, at: 1)
        var out: [ConflictRecord] = []
        while try s.step() {
            // values from the archive: ranges are built only when they make sense
            func range(_ at: Int32) -> Range<Int64>? {
                let (end, overflow) = s.int64(at).addingReportingOverflow(s.int64(at + 1))
                return overflow || end < s.int64(at) ? nil : s.int64(at)..<end
            }
            let earlier = s.isNull(2) ? nil : range(2)
            guard let later = range(4) else { continue }
            out.append(ConflictRecord(dir: s.int(0), streamOffset: s.int64(1), earlierSegment: earlier, laterSegment: later,
                                      earlierBytes: s.isNull(6) ? nil : Array(s.blob(6)),
                                      laterBytes: s.isNull(7) ? nil : Array(s.blob(7)), kept: s.text(8) ?? "",
                                      bytesCut: s.isNull(9) ? 0 : s.int(9)))
        }
        return out
    }
}
