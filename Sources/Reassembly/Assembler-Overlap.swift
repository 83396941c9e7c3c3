extension AssemblerCore {
    /// Drops the front of an in-order live packet that repeats bytes already
    /// delivered, so that it starts exactly at the expected sequence.
    func trimAlreadyDelivered(_ half: HalfConnection) {
        guard let expected = half.nextSeq else { return }
        let overlap = sg.live.seq.difference(to: expected)
        guard overlap != 0 else { return }
        let count = sg.live.bytes.count
        if count != 0 {
            half.overlapPackets += 1
            half.overlapBytes += overlap
        }
        let cut = max(0, min(overlap, count))
        if cut > 0, let reporter {
            // The earlier copy went to the stream: only the stream can compare.
            // the overlap starts at the segment's first payload byte (one after a
            // retransmitted SYN's sequence number, which gopacket leaves as it is)
            reporter.overlapped(Overlap(direction: half.direction, earlier: .delivered, nextExpected: expected,
                                        start: sg.live.segmentStart, laterBytes: UnsafeRawBufferPointer(rebasing: sg.live.bytes[..<cut]),
                                        earlierBytes: UnsafeRawBufferPointer(start: nil, count: 0), earlierInfo: CaptureInfo(),
                                        laterInfo: sg.live.captureInfo,
                                        earlierSegment: (sg.live.seq, 0),
                                        laterSegment: (sg.live.segmentStart, sg.live.segmentCount), laterKept: false))
        }
        sg.live.bytes = UnsafeRawBufferPointer(rebasing: sg.live.bytes[cut...])
        sg.live.seq = expected
    }

    /// Reconciles the live packet with the out-of-order queue, walking it from
    /// the highest sequence down. Queued bytes covered by the packet are
    /// dropped or trimmed; a packet falling inside one queued page overwrites
    /// those bytes in place and is consumed. With `queue`, whatever is left of
    /// the packet is copied into pages and linked at its place in the queue.
    func resolveOverlaps(_ half: HalfConnection, queue: Bool) {
        var bytes = sg.live.bytes
        let start = sg.live.seq
        let end = start.adding(bytes.count)
        var successor: Page? = nil
        var current = half.last

        while let page = current {
            // Entirely after the packet: keep looking lower.
            if end.difference(to: page.seq) > 0 {
                successor = page
                current = page.prev
                continue
            }
            let pageEnd = page.seq.adding(page.count)
            // Entirely before the packet: this is where it goes.
            if start.difference(to: pageEnd) <= 0 {
                break
            }
            let fromStart = start.difference(to: page.seq)
            let fromEnd = end.difference(to: pageEnd)
            if let reporter, !bytes.isEmpty {
                reportQueuedOverlap(half, page: page, live: bytes, liveStart: start, to: reporter)
            }

            if fromEnd <= 0 && fromStart >= 0 {
                // The packet covers the whole page: drop the page.
                if page.isPacketHead {
                    half.overlapPackets += 1
                }
                half.overlapBytes += page.count
                let previous = page.prev
                if let previous { previous.next = page.next } else { half.first = page.next }
                if let next = page.next { next.prev = previous } else { half.last = previous }
                half.pages -= 1
                pageCache.recycle(page)
                current = previous
                continue
            }

            if fromEnd < 0 && start.difference(to: pageEnd) > 0 {
                // The packet runs past the page's end: cut the page short.
                page.count = -fromStart
                break
            } else if fromStart > 0 && end.difference(to: page.seq) < 0 {
                // The packet ends inside the page: drop the page's front.
                page.dropFirst(-end.difference(to: page.seq))
                successor = page
            } else if fromEnd >= 0 && fromStart <= 0 {
                // The packet lies inside the page: overwrite those bytes.
                if let source = bytes.baseAddress, !bytes.isEmpty {
                    (page.storage + page.offset - fromStart).copyMemory(from: source, byteCount: bytes.count)
                }
                bytes = UnsafeRawBufferPointer(rebasing: bytes[..<0])
            } else {
                successor = page
            }
            current = page.prev
        }

        sg.live.bytes = bytes
        sg.live.seq = start
        guard queue && !bytes.isEmpty else { return }

        let (first, last, count) = copyLiveToPages(skip: 0)
        half.queuedPackets += 1
        half.queuedBytes += bytes.count
        half.pages += count
        if let current {
            current.next = first
            first.prev = current
        } else {
            half.first = first
        }
        if let successor {
            last.next = successor
            successor.prev = last
        } else {
            half.last = last
        }
    }

    /// Tells `reporter` when the live packet's bytes over `page` differ from the
    /// page's (called before the page is cut or overwritten: the later copy wins).
    private func reportQueuedOverlap(_ half: HalfConnection, page: Page, live: UnsafeRawBufferPointer,
                                     liveStart: TCPSequence, to reporter: any Stream) {
        let liveEnd = liveStart.adding(live.count)
        let pageEnd = page.seq.adding(page.count)
        let from = liveStart.difference(to: page.seq) > 0 ? page.seq : liveStart
        let to = liveEnd.difference(to: pageEnd) < 0 ? pageEnd : liveEnd
        let length = from.difference(to: to)
        guard length > 0, let expected = half.nextSeq else { return }
        let later = UnsafeRawBufferPointer(rebasing: live[liveStart.difference(to: from)...].prefix(length))
        let earlier = UnsafeRawBufferPointer(rebasing: page.bytes[page.seq.difference(to: from)...].prefix(length))
        guard !later.sameBytes(as: earlier) else { return }
        reporter.overlapped(Overlap(direction: half.direction, earlier: .queued, nextExpected: expected, start: from,
                                    laterBytes: later, earlierBytes: earlier, earlierInfo: page.captureInfo, laterInfo: sg.live.captureInfo,
                                    earlierSegment: (page.segmentStart, page.segmentCount),
                                    laterSegment: (sg.live.segmentStart, sg.live.segmentCount), laterKept: true))
    }

    /// Copies the live packet, from `skip` bytes in, into freshly taken pages
    /// linked together. Returns the first and last page and how many were used.
    func copyLiveToPages(skip: Int) -> (first: Page, last: Page, count: Int) {
        let live = sg.live
        let timestamp = live.captureInfo.timestamp
        let first = pageCache.take(seen: timestamp)
        first.prev = nil
        first.isPacketHead = true
        first.captureInfo = live.captureInfo
        first.segmentStart = live.segmentStart
        first.segmentCount = live.segmentCount
        var current = first
        var count = 1
        var seq = live.seq.adding(skip)
        var rest = UnsafeRawBufferPointer(rebasing: live.bytes[min(skip, live.bytes.count)...])
        while true {
            let length = min(rest.count, pageSize)
            current.offset = 0
            current.count = length
            if length > 0, let source = rest.baseAddress {
                current.storage.copyMemory(from: source, byteCount: length)
            }
            current.seq = seq
            rest = UnsafeRawBufferPointer(rebasing: rest[length...])
            if rest.isEmpty {
                current.end = live.end
                current.next = nil
                break
            }
            seq = seq.adding(length)
            let page = pageCache.take(seen: timestamp)
            current.next = page
            page.prev = current
            current = page
            current.isPacketHead = false
            current.captureInfo = live.captureInfo
            current.segmentStart = live.segmentStart
            current.segmentCount = live.segmentCount
            count += 1
        }
        return (first, current, count)
    }
}
