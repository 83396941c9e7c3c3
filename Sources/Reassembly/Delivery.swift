extension AssemblerCore {
    /// Completes the staged delivery, hands it to the stream, recycles or
    /// keeps its pages, and closes the half if it ended with FIN/RST.
    /// Returns the sequence following the delivered bytes.
    func sendToConnection(_ connection: Connection, half: HalfConnection, context: CaptureInfo?) -> TCPSequence {
        let (end, next) = completeDelivery(half)
        connection.stream.reassembled(sg, context: context)
        releaseDelivered(half)
        if end {
            closeHalf(connection, half)
        }
        return next
    }

    /// Fills in the skip (measured at the first staged piece), puts kept pages
    /// in front and contiguous queued pages behind, and moves the half's
    /// statistics into the delivery.
    private func completeDelivery(_ half: HalfConnection) -> (end: Bool, next: TCPSequence) {
        let head = sg.chunks[0]
        let headSeq = sg.seq(of: head)
        let skip = half.nextSeq.map { $0.difference(to: headSeq) } ?? -1
        let afterHead = headSeq.adding(sg.length(of: head))
        let saved = prependSaved(half, before: headSeq)
        let next = appendContiguous(half, from: afterHead)

        sg.direction = half.direction
        sg.skip = skip
        sg.saved = saved
        sg.toKeep = -1
        sg.queuedBytes = half.queuedBytes
        sg.queuedPackets = half.queuedPackets
        sg.overlapBytes = half.overlapBytes
        sg.overlapPackets = half.overlapPackets
        half.queuedBytes = 0
        half.queuedPackets = 0
        half.overlapBytes = 0
        half.overlapPackets = 0
        return (sg.isEnd(sg.chunks[sg.chunks.count - 1]), next)
    }

    /// Puts the pages kept from the previous delivery in front, provided they
    /// end exactly where this delivery starts; otherwise recycles them.
    /// Returns the number of kept bytes delivered again.
    private func prependSaved(_ half: HalfConnection, before firstSeq: TCPSequence) -> Int {
        guard let head = half.saved else { return 0 }
        var total = 0
        var page: Page? = head
        while let current = page {
            total += current.count
            page = current.next
        }
        if head.seq.adding(total) != firstSeq {
            page = head
            while let current = page {
                page = current.next
                pageCache.recycle(current)
            }
            half.saved = nil
            return 0
        }
        var index = 0
        page = head
        while let current = page {
            sg.chunks.insert(.page(current), at: index)
            index += 1
            page = current.next
        }
        return total
    }

    /// Moves queued pages that continue at `seq` into the delivery.
    /// Returns the sequence after the last byte delivered.
    private func appendContiguous(_ half: HalfConnection, from seq: TCPSequence) -> TCPSequence {
        var next = seq
        while let page = half.first, next.difference(to: page.seq) == 0 {
            next = next.adding(page.count)
            popFirstQueued(half)
        }
        return next
    }

    /// Moves the lowest queued page into the delivery.
    func popFirstQueued(_ half: HalfConnection) {
        guard let head = half.first else { return }
        sg.chunks.append(.page(head))
        half.first = head.next
        if let following = half.first {
            following.prev = nil
        } else {
            half.last = nil
        }
    }

    /// After a delivery: recycles the pieces before the `keepFrom` offset and
    /// turns the rest into the half's saved pages (copying the live packet).
    private func releaseDelivered(_ half: HalfConnection) {
        let count = sg.chunks.count
        var keepIndex = count
        var skip = 0
        if sg.toKeep >= 0 {
            skip = sg.toKeep
            var position = 0
            for index in 0..<count {
                let length = sg.length(of: sg.chunks[index])
                if sg.toKeep < position + length {
                    keepIndex = index
                    break
                }
                position += length
                if skip >= length {
                    skip -= length
                }
            }
        }

        for index in 0..<keepIndex {
            if case .page(let page) = sg.chunks[index] {
                half.pages -= 1
                pageCache.recycle(page)
            }
        }

        half.saved = nil
        var tail: Page? = nil
        for index in keepIndex..<count {
            let kept: (first: Page, last: Page)
            let dropped: Int
            switch sg.chunks[index] {
            case .live:
                let pages = copyLiveToPages(skip: skip)
                kept = (pages.first, pages.last)
                // gopacket measures the live packet after conversion, which
                // leaves it unchanged: the skip carries over to later pieces.
                dropped = 0
            case .page(let page):
                // gopacket slices out of range (and panics) if the skip exceeds
                // the page; we clamp instead.
                dropped = min(skip, page.count)
                if dropped != 0 {
                    page.dropFirst(dropped)
                }
                page.prev = nil
                page.next = nil
                kept = (page, page)
            }
            skip = dropped > skip ? 0 : skip - dropped
            if let tail {
                tail.next = kept.first
                kept.first.prev = tail
            } else {
                half.saved = kept.first
            }
            tail = kept.last
        }
        sg.chunks.removeAll(keepingCapacity: true)
    }

    /// Marks a half closed and completes the stream once both halves are.
    /// Like gopacket, only the head of the out-of-order queue is recycled;
    /// further queued pages are dropped without being returned to the cache.
    func closeHalf(_ connection: Connection, _ half: HalfConnection) {
        half.closed = true
        if let head = half.first {
            half.pages -= 1
            pageCache.recycle(head)
        }
        half.first = nil
        half.last = nil
        if connection.bothClosed && connection.stream.reassemblyComplete(context: nil) {
            pool.remove(connection)
        }
    }

    /// Gives up waiting for the gap before the lowest queued page: delivers it
    /// and what follows it contiguously. Closes the half when nothing is queued.
    func skipFlush(_ connection: Connection, _ half: HalfConnection) {
        guard let head = half.first else {
            closeHalf(connection, half)
            return
        }
        sg.chunks.removeAll(keepingCapacity: true)
        popFirstQueued(half)
        let context: CaptureInfo? = head.isPacketHead ? head.captureInfo : nil
        half.nextSeq = sendToConnection(connection, half: half, context: context)
    }
}
