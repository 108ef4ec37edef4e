import Storage
import Testing
import TestSupport

@testable import TSDB

/// Series' label symbol ids live in one paged store owned by the head (`LabelSymbolStore`)
/// instead of an array per series: checked against the per-series arrays they replaced, in the
/// store alone and through the head (create, gc, cut with symbol compaction, restart).
@Suite struct LabelStoreTests {
    static func randomIDs(_ rng: inout SplitMix) -> [UInt32] {
        let n = Int.random(in: 0..<10, using: &rng) == 0 ? Int.random(in: 0...3, using: &rng) : Int.random(in: 2...40, using: &rng)
        let wide = Int.random(in: 0..<5, using: &rng) == 0
        // Wide ids up to 2^21, not 2^32: a renumbering test builds a table indexed by old id.
        return (0..<n).map { _ in UInt32.random(in: 0...(wide ? 1 << 21 : UInt32(UInt16.max)), using: &rng) }
    }

    @Test func storeMatchesPerSeriesArrays() {
        var rng = SplitMix(seed: 40)
        var store = LabelSymbolStore()
        var live: [(span: SymbolSpan, ids: [UInt32])] = []
        var dead = 0
        for step in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<6:
                // Now and then a span bigger than a page (it gets a page of its own).
                let ids = step % 5_000 == 17 ? (0..<LabelSymbolStore.pageUnits + 3).map { UInt32($0) } : Self.randomIDs(&rng)
                live.append((store.add(ids), ids))
            case 6..<9 where !live.isEmpty:
                let gone = live.remove(at: Int.random(in: 0..<live.count, using: &rng))
                store.remove(gone.span)
                dead += LabelSymbolStore.units(gone.span)
            case 9 where step % 50 == 9:
                // A rebuild, half of the time through a renumbering map (ids of the live spans).
                var map: [UInt32: UInt32] = [:]
                let renumber = Bool.random(using: &rng)
                if renumber { for l in live { for id in l.ids where map[id] == nil { map[id] = UInt32(map.count) * 3 } } }
                let table = renumber ? Self.table(map) : nil
                var fresh = LabelSymbolStore()
                var scratch: [UInt32] = []
                for i in live.indices {
                    live[i].span = fresh.add(live[i].span, of: store, map: table, scratch: &scratch)
                    if renumber { live[i].ids = live[i].ids.map { map[$0]! } }
                }
                store = fresh
                dead = 0
            default:
                break
            }
            if step % 97 == 0 || step == 19_999 {
                for l in live {
                    #expect(store.ids(l.span) == l.ids)
                    #expect(l.span.count == l.ids.count && l.span.wide == l.ids.contains { $0 > 0xffff })
                }
                #expect(store.liveUnits == live.reduce(0) { $0 + LabelSymbolStore.units($1.span) })
                #expect(store.deadUnits == dead)
            }
        }
    }

    /// `map` as the dense `[old: new]` table symbol compaction hands over.
    static func table(_ map: [UInt32: UInt32]) -> [UInt32] {
        var t = [UInt32](repeating: .max, count: Int(map.keys.max() ?? 0) + 1)
        for (k, v) in map { t[Int(k)] = v }
        return t
    }

    @Test func removedSpansAreDroppedOnceSparse() {
        var store = LabelSymbolStore()
        let spans = (0..<4_000).map { i in store.add([UInt32(i), 1, 2, 3, 4, 5, 6, 7]) }
        for s in spans.prefix(500) { store.remove(s) }
        #expect(!store.isSparse)  // 4,000 dead units: below a page
        for s in spans.dropFirst(500).prefix(2_500) { store.remove(s) }
        #expect(store.isSparse && store.liveUnits == 8_000 && store.deadUnits == 24_000)
    }

    static func labelBytes(_ labels: Labels) -> (LabelBytes, LabelBytes.Span) {
        var bytes: [UInt8] = [7], ranges: [UInt32] = []
        let span = LabelBytesAppendTests.span(labels, &bytes, &ranges)
        return (LabelBytes(bytes: bytes, ranges: ranges), span)
    }

    /// Random churn through the head: what each live series reads back and how it is found must
    /// match the labels it was created with, across gc (store rebuilds) and cuts (symbol
    /// compaction, also from above 65,536 symbols, where ids take two units, back below).
    @Test func headKeepsLabelsThroughChurnAndCompaction() {
        var rng = SplitMix(seed: 15)
        let head = Head(chunkDir: nil, blockRange: 1_000)
        var model: [HeadRef: (labels: Labels, lastT: Int64)] = [:]
        var unique = 0
        func newLabels(wideRound: Bool) -> Labels {
            var d = ["__name__": "m\(Int.random(in: 0...5, using: &rng))", "job": "j\(Int.random(in: 0...3, using: &rng))"]
            unique += 1
            d["pod"] = "p\(unique)"
            // 60 labels of fresh names and values: 120 new symbols per series.
            if wideRound { for k in 0..<60 { d["w\(unique)_\(k)"] = "v\(unique)_\(k)" } }
            return Labels(d)
        }
        func check(_ round: Int) {
            #expect(head.seriesCount == model.count, "round \(round)")
            for (r, m) in model {
                guard let s = head.seriesByRef(r) else { Issue.record("series \(r) gone in round \(round)"); continue }
                #expect(head.labels(of: s) == m.labels)
                #expect(head.find(m.labels) === s)
                let (lb, span) = Self.labelBytes(m.labels)
                #expect(head.find(lb, span) === s)
                #expect(head.labelSymbolIDs(of: s).allSatisfy { Int($0) < head.symbolCount })
            }
        }
        var sawWide = false
        for round in 0..<30 {
            let t = Int64(round) * 100
            let wideRound = round == 10
            for _ in 0..<(wideRound ? 600 : Int.random(in: 20...80, using: &rng)) {
                let l = newLabels(wideRound: wideRound)
                let s = head.create(l)
                _ = head.append(t, 1, to: s)
                head.widenBounds(min: t, max: t)
                model[s.ref] = (l, t)
            }
            // Samples for a random half of the old series keep them alive.
            for (r, m) in model where Bool.random(using: &rng) {
                _ = head.append(t, 2, to: head.seriesByRef(r)!)
                model[r] = (m.labels, t)
            }
            if wideRound {
                sawWide = model.keys.contains { head.seriesByRef($0)!.syms.wide }
                #expect(head.symbolCount > 65_536)
            }
            // A failed WAL write drops the series it created.
            let victims = model.keys.filter { _ in Int.random(in: 0..<8, using: &rng) == 0 }
            head.gc(Array(victims))
            for v in victims { model[v] = nil }
            check(round)
            if round % 3 == 2 {
                let cutoff = t - 150
                _ = head.cut(before: cutoff)
                model = model.filter { $0.value.lastT >= cutoff }
                check(round)
            }
        }
        #expect(sawWide)
        #expect(head.symbolCount < 65_536)  // the wide round's symbols were compacted away
        #expect(model.values.allSatisfy { head.find($0.labels).map { !$0.syms.wide } ?? false })
    }

    /// After symbol compaction and store rebuilds, a restart (WAL replay) gives the same series.
    @Test func replayAfterCompactionGivesTheSameSeries() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let hour: Int64 = 3_600_000
        let clock = TestClock()
        var db = try openDB(dir, clock: clock)
        for h in 0..<6 {
            let batch = (0..<60).map { i in
                SeriesSamples(labels: lbls(["__name__": "up", "pod": "pod-\(h)-\(i)", "ns": "n\(i % 3)", "h\(h)": "x"]),
                              samples: [Sample(t: Int64(h) * hour, v: 1), Sample(t: Int64(h) * hour + hour / 2, v: Double(i))])
            }
            _ = try await db.append(batch)
            clock.now = Int64(h) * hour + hour / 2
            try db.maintain()
        }
        func everything(_ db: TSDB) throws -> ([Labels], [String], Int) {
            let q = try db.querier(mint: 0, maxt: 7 * hour)
            return (try q.series([]), try q.labelNames([]), try q.select([]).count)
        }
        let before = try everything(db)
        #expect(before.2 == 360)
        try db.close()
        db = try openDB(dir, clock: clock)
        let after = try everything(db)
        #expect(after.0 == before.0 && after.1 == before.1 && after.2 == before.2)
        try db.close()
    }
}
