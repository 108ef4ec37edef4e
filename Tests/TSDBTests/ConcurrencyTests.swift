import Storage
import Synchronization
import Testing
import TestSupport
@testable import TSDB

@Suite struct ConcurrencyTests {
    /// Appenders (fresh and late data) race with maintenance and queries; afterwards, and after a
    /// restart, the store holds exactly what a reference store fed the same accepted samples holds.
    @Test func appendsRaceWithMaintenanceAndQueries() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let configure: (inout TSDBOptions) -> Void = { o in
            o.blockRange = 10_000
            o.retention = Int64(1) << 50
            o.walSegmentSize = 8192
        }
        // The clock stands at the writers' last round: maintenance cuts behind them while they write.
        let db = try openDB(dir, clock: TestClock(61_000), configure)
        let ref = MemoryStorage()
        let writers = 6, rounds = 60
        let stop = StopFlag()
        try await withThrowingTaskGroup(of: Void.self) { g in
            for w in 0..<writers {
                g.addTask {
                    var rng = SplitMix(seed: UInt64(w + 100))
                    for r in 0..<rounds {
                        // Each writer owns its series, so "first wins" is well defined per series.
                        var batch: [SeriesSamples] = []
                        for s in 0..<3 {
                            let l = lbls(["__name__": "race", "w": String(w), "s": String(s)])
                            var ss: [Sample] = []
                            for _ in 0..<4 {
                                let t = Bool.random(using: &rng) ? Int64(r) * 1000 + Int64.random(in: 0..<1000, using: &rng)
                                    : Int64.random(in: 0...Int64(r + 1) * 1000, using: &rng)
                                ss.append(Sample(t: t, v: Double(Int.random(in: 0..<4, using: &rng))))
                            }
                            batch.append(SeriesSamples(labels: l, samples: ss))
                        }
                        _ = try await db.append(batch)
                        // The reference sees the batch after the TSDB accepted it; per series order is the same.
                        for b in batch { for x in b.samples { ref.append(b.labels, x.t, x.v) } }
                    }
                }
            }
            g.addTask {
                while !stop.flag.load(ordering: .relaxed) {
                    try db.maintain()
                    _ = try db.querier(mint: .min, maxt: .max).select([.equal("__name__", "race")])
                    await Task.yield()
                }
            }
            for _ in 0..<writers { try await g.next() }
            stop.flag.store(true, ordering: .relaxed)
            try await g.waitForAll()
        }
        #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
        // Whether maintenance cut a block while the writers ran depends on scheduling; one more
        // pass now must cut the head into blocks without losing or changing anything.
        try db.maintain()
        #expect(db.metrics.blocks > 0)
        #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
        try db.close()
        let db2 = try openDB(dir, configure)
        #expect(try expectSameAnswers(db2, ref, mint: .min, maxt: .max, matchers: [[]]))
        try db2.close()
    }
}

final class StopFlag: Sendable {
    let flag = Atomic<Bool>(false)
}
