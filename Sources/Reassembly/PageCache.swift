/// Number of payload bytes one page holds.
let pageSize = 1900

/// A fixed-size buffer holding bytes that must outlive the packet they came
/// from (out-of-order data, or data a stream asked to keep). Pages are linked
/// into per-half lists and recycled through `PageCache`.
final class Page {
    let storage: UnsafeMutableRawPointer
    /// Start of the valid bytes inside `storage`.
    var offset = 0
    /// Number of valid bytes.
    var count = 0
    /// TCPSequence number of the first valid byte.
    var seq = TCPSequence(0)
    var next: Page?
    unowned(unsafe) var prev: Page?
    /// Capture info of the packet the bytes came from (kept on every page of a split packet).
    var captureInfo = CaptureInfo()
    /// The whole segment the bytes came from: its first sequence number and length.
    var segmentStart = TCPSequence(0)
    var segmentCount = 0
    /// True for the first page of a packet (gopacket keeps the context only there).
    var isPacketHead = false
    /// Set when the packet carried FIN or RST; like gopacket, only written on a
    /// packet's last page and never cleared when a page is recycled.
    var end = false
    /// Capture timestamp of the packet, used by time-based flushing.
    var seen: Int64 = 0

    init() {
        storage = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + offset, count: count)
    }

    /// Drops the first `n` bytes.
    func dropFirst(_ n: Int) {
        offset += n
        count -= n
        seq = seq.adding(n)
    }
}

/// Free list of pages, with gopacket's page cache figures: it grows by doubling
/// batches and periodically trims the free list back.
///
/// Unlike gopacket, a batch is only counted when it grows: its pages are made
/// when first taken, and a page given back is reused before a new one is made.
/// The figures (`size`, `used`, `freeCount`) are gopacket's exactly, but memory
/// follows the pages in use at the peak instead of the batch sizes, which double
/// past it: 100,000 connections each holding two out-of-order segments made
/// 260,096 pages of 1,900 bytes where about 200,000 were ever in use.
struct PageCache {
    static let initialBatch = 1024

    /// Pages made and given back, reused first.
    private var free: [Page] = []
    /// Free pages counted but not made yet.
    private var unmade = 0
    /// Size of the next batch counted by `grow`.
    private var batchSize = PageCache.initialBatch
    /// Pages owned by the cache (free or in use), as gopacket counts them.
    private(set) var size = 0
    private(set) var used = 0
    private var operations = 0
    private var nextShrink = 0

    init() {
        free.reserveCapacity(Self.initialBatch)
        grow()
    }

    /// Free pages, as gopacket counts them (`len(free)`).
    var freeCount: Int { free.count + unmade }

    private mutating func grow() {
        unmade += batchSize
        size += batchSize
        nextShrink = batchSize
        operations = 0
        batchSize *= 2
    }

    private mutating func tryShrink() {
        let keep = max(batchSize / 2, Self.initialBatch)
        guard freeCount > keep else { return }
        // gopacket keeps the bottom of its free stack: the pages of the last batch
        // never taken, under the pages given back since (which are reused, and
        // dropped, first).
        let excess = freeCount - keep
        size -= excess
        let dropMade = min(excess, free.count)
        free.removeLast(dropMade)
        unmade -= excess - dropMade
        batchSize = keep
    }

    /// Takes a page from the free list, reset to hold no bytes.
    mutating func take(seen: Int64) -> Page {
        if freeCount == 0 {
            grow()
        }
        let page: Page
        if let reused = free.popLast() {
            page = reused
            page.offset = 0
            page.count = 0
        } else {
            unmade -= 1
            page = Page()
        }
        page.seen = seen
        used += 1
        operations += 1
        if operations > nextShrink {
            operations = 0
            tryShrink()
        }
        return page
    }

    /// Returns a page to the free list.
    mutating func recycle(_ page: Page) {
        used -= 1
        page.prev = nil
        page.next = nil
        free.append(page)
    }
}
