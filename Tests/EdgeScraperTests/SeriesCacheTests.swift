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
}
