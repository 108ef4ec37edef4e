import Testing
@testable import EdgeScraper

/// The scrape cache's open-addressing table: every series is found by its bytes, also when hashes
/// collide (same hash, or same slot), across growth and compaction.
@Suite struct SeriesCacheTests {
    func find(_ c: SeriesCache, _ s: String, _ h: UInt64) -> Int? {
        Array(s.utf8).withUnsafeBytes { c.find($0, hash: h) }
    }

    @Test func findsEverySeriesThroughCollisionsAndGrowth() {
        var c = SeriesCache()
        // 500 series (the table grows from 64 slots several times); every fifth pair shares a hash.
        for i in 0..<500 {
            Array("m{i=\"\(i)\"}".utf8).withUnsafeBytes { c.insert(hash: UInt64(i / 5), raw: $0, ref: i, lastUsed: 0) }
        }
        for i in 0..<500 {
            #expect(find(c, "m{i=\"\(i)\"}", UInt64(i / 5)).map { c[$0].ref } == i)
        }
        #expect(find(c, "m{i=\"500\"}", 100) == nil)
        #expect(find(c, "m{i=\"1\"}", 1) == nil)  // right bytes, wrong hash: not this entry
        #expect(find(c, "m{i=\"1\"", 0) == nil)   // a prefix of a stored series is another series
    }

    @Test func compactionKeepsAndRenumbersWhatTheTransformReturns() {
        var c = SeriesCache()
        for i in 0..<200 {
            Array("s\(i)".utf8).withUnsafeBytes { c.insert(hash: UInt64(i) &* 0x9E37_79B9_7F4A_7C15, raw: $0, ref: i, lastUsed: i) }
        }
        c.compact { e in
            guard e.ref % 2 == 0 else { return nil }
            var t = e
            t.ref = e.ref / 2
            return t
        }
        #expect(c.entries.count == 100)
        // The kept entries' bytes moved with them into the new arena.
        for k in c.entries.indices { #expect(Array(c.raw(k)) == Array("s\(c[k].ref * 2)".utf8)) }
        for i in 0..<200 {
            let found = find(c, "s\(i)", UInt64(i) &* 0x9E37_79B9_7F4A_7C15).map { c[$0].ref }
            #expect(found == (i % 2 == 0 ? i / 2 : nil))
        }
        // Updates land in the entry that was found.
        let k = find(c, "s4", 4 &* 0x9E37_79B9_7F4A_7C15)!
        c[k].lastUsed = 99
        #expect(c[find(c, "s4", 4 &* 0x9E37_79B9_7F4A_7C15)!].lastUsed == 99)
    }

    /// Entries keep the iteration in 32 bits; the age compaction asks for stays exact across the
    /// wrap (an agent scraping every millisecond passes 2^31 iterations in 25 days).
    @Test func ageIsExactAcrossThe32BitWrap() {
        #expect(MemoryLayout<SeriesCache.Entry>.stride == 24)
        for used in [0, 5, Int(Int32.max) - 3, Int(Int32.max), Int(UInt32.max) - 2, 1 << 40] {
            let e = SeriesCache.Entry(hash: 0, offset: 0, length: 0, ref: -1, lastUsed: used)
            for age in [0, 1, 8, 9, 20] { #expect(e.age(at: used + age) == age, "used \(used), age \(age)") }
        }
    }
}
