/// Where an IP fragment's parts lie in its packet (filled by `PacketDecoder` when
/// it returns `.fragment`).
public struct FragmentInfo: Sendable, Equatable {
    public var isIPv6 = false
    public var source = IPAddress(high: 0, low: 0, isIPv6: false)
    public var destination = IPAddress(high: 0, low: 0, isIPv6: false)
    public var identification: UInt32 = 0
    /// Offset of the fragment's data in the datagram's payload, in bytes.
    public var offset = 0
    public var moreFragments = false
    /// The protocol of the datagram's payload (IPv4 protocol, or the next header
    /// after the IPv6 fragment header).
    public var payloadProtocol: UInt8 = 0
    /// The IP header in the packet: IPv4's with its options, or IPv6's fixed 40 bytes.
    public var headerStart = 0
    public var headerLength = 0
    /// The fragment's data in the packet (the bytes captured of it).
    public var dataStart = 0
    public var dataLength = 0
    /// The capture cut the fragment short: its data is not whole.
    public var truncated = false

    public init() {}
}

/// Reassembles IPv4 and IPv6 datagrams from their fragments, in any order, with
/// duplicates and overlaps, within a memory bound and a timeout in capture time.
///
/// Overlap policy: the first bytes received for a position win, and a later
/// fragment that disagrees is counted (`overlapsDiffering`). This is the policy of
/// the TCP engine for delivered bytes, it keeps what a receiver that accepted the
/// first copy saw, and the count says when a capture holds an evasion attempt:
/// receivers differ here (Linux drops IPv6 datagrams with overlaps, as RFC 5722
/// asks, and older stacks let the last copy win).
///
/// The fragments' bytes are copied (they must outlive the capture's buffer); the
/// reassembled datagram is handed out once, to be decoded at once.
/// Where a packet record lies in its capture: its index among the packet records
/// and the byte offset where reading it begins (-1 when unknown). The
/// defragmenter only carries it, so that a rebuilt datagram names its fragments.
public struct RecordLocation: Sendable, Hashable {
    public var index: Int
    public var offset: Int64
    public init(index: Int, offset: Int64) {
        self.index = index
        self.offset = offset
    }
}

public final class Defragmenter {
    public struct Counters: Sendable, Equatable {
        /// Datagrams put back together.
        public var reassembled = 0
        /// Fragments dropped unused: their datagram timed out, or was evicted for memory.
        public var expired = 0
        /// Fragments whose bytes overlapped bytes already received and differed from them.
        public var overlapsDiffering = 0
        /// Datagrams that would be longer than 65,535 bytes (dropped).
        public var oversized = 0
        public init() {}
    }

    struct Key: Hashable {
        var source: IPAddress, destination: IPAddress
        var identification: UInt32, payloadProtocol: UInt8, isIPv6: Bool, zone: UInt64
    }

    final class Datagram {
        let firstSeen: Int64
        var header: [UInt8] = []
        var payload: [UInt8] = []
        /// Received ranges of the payload, sorted, disjoint, not adjacent.
        var ranges: [Range<Int>] = []
        var total: Int?
        var fragments = 0
        /// The records of its fragments, in arrival order.
        var sources: [RecordLocation] = []
        /// Where its fragments' bytes disagreed (bounded: `conflictsKept`).
        var conflicts: [FragmentConflict] = []
        var memory: Int { header.count + payload.count + ranges.count * 16 + sources.count * 16 + conflicts.count * 160 + 128 }
        init(firstSeen: Int64) { self.firstSeen = firstSeen }
    }

    public let maxMemory: Int
    public let timeout: Int64
    public private(set) var counters = Counters()
    public private(set) var memory = 0
    private var datagrams: [Key: Datagram] = [:]
    /// Keys in order of first appearance, for expiry and eviction.
    private var order: [Key] = []
    private var orderStart = 0

    /// `maxMemory`: bytes held for incomplete datagrams before the oldest are dropped;
    /// `timeout`: nanoseconds of capture time a datagram may wait for its fragments.
    public init(maxMemory: Int = 64 << 20, timeout: Int64 = 30_000_000_000) {
        self.maxMemory = maxMemory
        self.timeout = timeout
    }

    /// Datagrams waiting for fragments.
    public var pending: Int { datagrams.count }

    /// The records of the fragments of the datagram the last `add` completed.
    public private(set) var completedSources: [RecordLocation] = []
    /// Where the fragments of that datagram disagreed (the first copy is kept).
    public private(set) var completedConflicts: [FragmentConflict] = []
    /// Conflicts kept per datagram, and bytes of each copy kept per conflict.
    public static let conflictsKept = 8
    public static let conflictBytesKept = 64

    /// Adds one fragment of `packet`. Returns the datagram (an IP header without
    /// fragmentation, then the whole payload) when this fragment completes it.
    /// `source` names the fragment's record; `completedSources` lists them all once
    /// the datagram is complete.
    public func add(_ packet: UnsafeRawBufferPointer, _ f: FragmentInfo, zone: UInt64, timestamp: Int64,
                    source: RecordLocation = RecordLocation(index: -1, offset: -1)) -> [UInt8]? {
        expire(before: timestamp &- timeout)
        let key = Key(source: f.source, destination: f.destination, identification: f.identification,
                      payloadProtocol: f.payloadProtocol, isIPv6: f.isIPv6, zone: zone)
        let d: Datagram
        let before: Int
        if let existing = datagrams[key] {
            d = existing
            before = d.memory
        } else {
            d = Datagram(firstSeen: timestamp)
            datagrams[key] = d
            order.append(key)
            before = 0
        }
        d.fragments += 1
        d.sources.append(source)
        let end = f.offset + f.dataLength
        // (a datagram whose header takes it past 65,535 is caught when it is rebuilt)
        if end > 65_535 {
            counters.oversized += 1
            drop(key, expired: false)
            return nil
        }
        if f.offset == 0 && d.header.isEmpty {
            d.header = Array(UnsafeRawBufferPointer(rebasing: packet[f.headerStart..<(f.headerStart + f.headerLength)]))
        }
        if !f.moreFragments && !f.truncated {
            if let total = d.total, total != end {
                // two different ends: the datagram cannot be rebuilt faithfully
                counters.overlapsDiffering += 1
            } else {
                d.total = end
            }
        }
        merge(UnsafeRawBufferPointer(rebasing: packet[f.dataStart..<(f.dataStart + f.dataLength)]), at: f.offset, into: d,
              source: source)
        memory += d.memory - before
        if let total = d.total, !d.header.isEmpty, d.ranges.count == 1, d.ranges[0] == 0..<total {
            let datagram = rebuild(d, total: total, f)
            if datagram == nil { counters.oversized += 1 } else { counters.reassembled += 1 }
            completedSources = d.sources
            completedConflicts = d.conflicts
            drop(key, expired: false)
            return datagram
        }
        while memory > maxMemory, let oldest = nextKey(), oldest != key {
            drop(oldest, expired: true)
        }
        return nil
    }

    /// Drops the datagrams first seen before `t`, counting their fragments as expired.
    public func expire(before t: Int64) {
        while let key = nextKey() {
            guard let d = datagrams[key] else { orderStart += 1; continue }
            guard d.firstSeen < t else { break }
            drop(key, expired: true)
        }
        compactOrder()
    }

    /// Drops everything waiting (the end of the input), counting it as expired.
    public func expireAll() {
        for (key, _) in datagrams { drop(key, expired: true) }
        order.removeAll()
        orderStart = 0
    }

    private func nextKey() -> Key? {
        while orderStart < order.count {
            if datagrams[order[orderStart]] != nil { return order[orderStart] }
            orderStart += 1
        }
        return nil
    }

    private func compactOrder() {
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func drop(_ key: Key, expired: Bool) {
        guard let d = datagrams.removeValue(forKey: key) else { return }
        memory -= d.memory
        if expired { counters.expired += d.fragments }
    }

    /// Copies the bytes of `data` that no earlier fragment gave; counts a
    /// disagreement with bytes already there.
    private func merge(_ data: UnsafeRawBufferPointer, at offset: Int, into d: Datagram, source: RecordLocation) {
        let end = offset + data.count
        guard end > offset else { return }
        if d.payload.count < end { d.payload.append(contentsOf: repeatElement(0, count: end - d.payload.count)) }
        var differs = false
        var position = offset
        var merged: [Range<Int>] = []
        var newStart = offset, newEnd = end
        for r in d.ranges {
            if r.upperBound < offset || r.lowerBound > end {
                merged.append(r)
                continue
            }
            // r touches or overlaps the new range: compare the shared bytes, copy the gap before r
            if r.lowerBound > position {
                copy(data, from: position - offset, count: r.lowerBound - position, to: position, in: d)
            }
            let sharedStart = max(r.lowerBound, offset), sharedEnd = min(r.upperBound, end)
            if sharedEnd > sharedStart, let first = (sharedStart..<sharedEnd).first(where: { d.payload[$0] != data[$0 - offset] }) {
                differs = true
                if d.conflicts.count < Self.conflictsKept {
                    let last = min(sharedEnd, first + Self.conflictBytesKept)
                    d.conflicts.append(FragmentConflict(offset: first, length: sharedEnd - first,
                                                        earlier: Array(d.payload[first..<last]),
                                                        later: Array(data[(first - offset)..<(last - offset)]), laterSource: source))
                }
            }
            position = max(position, r.upperBound)
            newStart = min(newStart, r.lowerBound)
            newEnd = max(newEnd, r.upperBound)
        }
        if position < end { copy(data, from: position - offset, count: end - position, to: position, in: d) }
        if differs { counters.overlapsDiffering += 1 }
        merged.append(newStart..<newEnd)
        merged.sort { $0.lowerBound < $1.lowerBound }
        d.ranges = merged
    }

    private func copy(_ data: UnsafeRawBufferPointer, from: Int, count: Int, to position: Int, in d: Datagram) {
        guard count > 0 else { return }
        d.payload.withUnsafeMutableBytes { dst in
            dst.baseAddress!.advanced(by: position).copyMemory(from: data.baseAddress!.advanced(by: from), byteCount: count)
        }
    }

    /// The datagram with a header that announces it whole and unfragmented.
    private func rebuild(_ d: Datagram, total: Int, _ f: FragmentInfo) -> [UInt8]? {
        var out = d.header
        if f.isIPv6 {
            // the fixed header, its next header now the payload's; extension headers
            // before the fragment header are not carried over
            guard out.count >= 40, total <= 65_535 else { return nil }
            out.removeLast(out.count - 40)
            out[4] = UInt8(total >> 8)
            out[5] = UInt8(total & 0xff)
            out[6] = f.payloadProtocol
        } else {
            let length = out.count + total
            guard length <= 65_535 else { return nil }
            out[2] = UInt8(length >> 8)
            out[3] = UInt8(length & 0xff)
            out[6] = 0
            out[7] = 0
        }
        out.append(contentsOf: d.payload.prefix(total))
        return out
    }
}

/// Bytes of an IP datagram that two of its fragments gave differently: from the
/// payload offset `offset`, `length` shared bytes from the first differing one;
/// up to `Defragmenter.conflictBytesKept` of each copy. The datagram keeps the earlier.
public struct FragmentConflict: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    public var earlier: [UInt8]
    public var later: [UInt8]
    /// The record of the fragment that brought the later copy.
    public var laterSource: RecordLocation

    init(offset: Int, length: Int, earlier: [UInt8], later: [UInt8], laterSource: RecordLocation) {
        self.offset = offset
        self.length = length
        self.earlier = earlier
        self.later = later
        self.laterSource = laterSource
    }
}
