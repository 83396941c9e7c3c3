import Testing
@testable import Reassembly

/// The page cache makes pages when they are first taken, but its figures and the
/// order it hands pages back in must stay gopacket's: pages keep a stale `end`
/// flag across recycling, so which page comes back is observable.
@Suite struct PageCacheTests {
    /// gopacket 1.1.19's pageCache (reassembly/memory.go) over page numbers: a
    /// stack whose batches are pushed when it runs empty, trimmed from the top.
    struct GopacketModel {
        var free: [Int] = []
        var batch = 1024, size = 0, used = 0, ops = 0, nextShrink = 0, made = 0

        init() { grow() }

        mutating func grow() {
            free.append(contentsOf: (made..<made + batch).reversed())
            made += batch
            size += batch
            nextShrink = batch
            ops = 0
            batch *= 2
        }

        mutating func take() -> Int {
            if free.isEmpty { grow() }
            let page = free.removeLast()
            used += 1
            ops += 1
            if ops > nextShrink {
                ops = 0
                let keep = max(batch / 2, 1024)
                if free.count > keep {
                    size -= free.count - keep
                    free.removeLast(free.count - keep)
                    batch = keep
                }
            }
            return page
        }

        mutating func recycle(_ page: Int) {
            used -= 1
            free.append(page)
        }
    }

    @Test func figuresAndReuseOrderFollowGopacket() {
        var cache = PageCache()
        var model = GopacketModel()
        // pages in use, as (cache's page, model's page number)
        var held: [(Page, Int)] = []
        // the model's number of each page the cache made (by identity)
        var numbers: [ObjectIdentifier: Int] = [:]
        var numbersSeen = Set<Int>()
        // every page made stays alive here, so no identity is reused
        var made: [Page] = []
        var reused = 0
        // which held page goes back is drawn from a fixed seed: a failure comes back run after run
        let seed: UInt64 = 0x9A6E_CAC4E
        var rng = SplitMix64(seed: seed)
        let seedText = "seed 0x" + String(seed, radix: 16, uppercase: true)
        // grow to 7,168 pages in use, give most back, take again: several grows and shrinks
        let plan = [(take: 5000, give: 4000), (take: 6000, give: 6500), (take: 3000, give: 1000), (take: 400, give: 3000)]
        for (take, give) in plan {
            for _ in 0..<take {
                let page = cache.take(seen: 0)
                let number = model.take()
                if let known = numbers[ObjectIdentifier(page)] {
                    // a page made before comes back exactly when gopacket reuses that page
                    #expect(known == number, "\(seedText)")
                    reused += 1
                } else {
                    // a new page where gopacket hands out a page never used before
                    #expect(numbersSeen.insert(number).inserted, "\(seedText)")
                    numbers[ObjectIdentifier(page)] = number
                    made.append(page)
                }
                held.append((page, number))
            }
            if made.count == 5000 {
                // the first 5,000 pages: gopacket has allocated batches of 1,024, 2,048 and 4,096
                #expect(model.made == 7168)
            }
            for _ in 0..<min(give, held.count) {
                let (page, number) = held.remove(at: Int.random(in: 0..<held.count, using: &rng))
                cache.recycle(page)
                model.recycle(number)
            }
            #expect(cache.used == model.used, "\(seedText)")
            #expect(cache.freeCount == model.free.count, "\(seedText)")
            #expect(cache.size == model.size, "\(seedText)")
        }
        // over the whole plan (at most 7,000 pages in use at once)
        #expect(made.count == 7000 && model.made == 7168, "\(seedText)")
        #expect(reused == 14_400 - 7000, "\(seedText)")   // each take that made no page had one back
    }
}

/// The connection table's hash of a key (`FlowKey._rawHashValue(seed:)`).
@Suite struct FlowKeyHashTests {
    func key(_ i: Int, v6: Bool = false) -> FlowKey {
        let client = v6 ? Address(high: 0x2001_0db8 << 32, low: UInt64(i), isIPv6: true) : Address(ipv4: 0x0A00_0000 | UInt32(i >> 6))
        let server = v6 ? Address(high: 0x2001_0db8 << 32, low: 1, isIPv6: true) : Address(ipv4: 0xC0A8_0001)
        return FlowKey(source: client, destination: server, sourcePort: UInt16(truncatingIfNeeded: 1024 + i), destinationPort: 443)
    }

    @Test func equalKeysHashEquallyAndTheSeedChangesTheHash() {
        let a = key(7), b = key(7)
        #expect(a._rawHashValue(seed: 12345) == b._rawHashValue(seed: 12345))
        #expect(a._rawHashValue(seed: 12345) != a._rawHashValue(seed: 54321))
        #expect(a._rawHashValue(seed: 1) != a.reversed._rawHashValue(seed: 1))
        var zoned = a
        zoned.zone = 3
        #expect(a._rawHashValue(seed: 1) != zoned._rawHashValue(seed: 1))
    }

    /// 100,000 keys as a scan makes them (addresses and ports counting up): the low
    /// 20 bits a table of 2^20 buckets uses spread like random values, which leave
    /// about 95.4% distinct.
    @Test(arguments: [false, true]) func lowBitsSpreadLikeRandom(v6: Bool) {
        var buckets = Set<Int>()
        for i in 0..<100_000 {
            buckets.insert(key(i, v6: v6)._rawHashValue(seed: 99) & 0xF_FFFF)
        }
        #expect(buckets.count > 94_500)
        var table: [FlowKey: Int] = [:]
        for i in 0..<100_000 { table[key(i, v6: v6)] = i }
        #expect(table.count == 100_000)
        #expect((0..<100_000).allSatisfy { table[key($0, v6: v6)] == $0 })
    }
}
