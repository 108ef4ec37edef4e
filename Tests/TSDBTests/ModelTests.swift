import Storage
import Testing
import TestSupport
@testable import TSDB

/// Random workloads (in-order, late, duplicate and conflicting samples) checked against
/// Storage's MemoryStorage while the TSDB cuts blocks, compacts and restarts.
@Suite struct ModelTests {
    static func matchers() -> [[LabelMatcher]] {
        [
            [],
            [.equal("job", "a")],
            [try! LabelMatcher(.notEqual, "job", "b")],
            [try! LabelMatcher(.regexMatch, "instance", "1.*|3")],
            [try! LabelMatcher(.regexNoMatch, "dc", "x")],
            [.equal("__name__", "m1"), try! LabelMatcher(.notEqual, "instance", "2")],
        ]
    }

    func run(seed: UInt64, rounds: Int, crashy: Bool, debugEveryRound: Bool = false) async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SplitMix(seed: seed)
        let configure: (inout TSDBOptions) -> Void = { o in
            o.blockRange = 20_000
            o.retention = Int64(1) << 50
            o.walSegmentSize = 4096
        }
        let clock = TestClock()
        var db = try openDB(dir, clock: clock, configure)
        let ref = MemoryStorage()
        var universe: [Labels] = []
        for i in 0..<24 {
            var d = ["__name__": "m\(i % 2)", "job": ["a", "b", "c"][i % 3], "instance": String(i)]
            if i % 5 == 0 { d["dc"] = "x" }
            universe.append(lbls(d))
        }
        var written: [Labels: [Int64: Double]] = [:]
        var now: Int64 = 0
        for round in 0..<rounds {
            var batch: [SeriesSamples] = []
            for l in universe where Int.random(in: 0..<3, using: &rng) != 0 {
                var ss: [Sample] = []
                for _ in 0..<Int.random(in: 1...12, using: &rng) {
                    let t: Int64
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<6: t = now + Int64.random(in: 0...3000, using: &rng)  // fresh
                    case 6..<8: t = max(0, now - Int64.random(in: 0...150_000, using: &rng))  // backlog
                    default:
                        // Repeat something already written: same value or a conflicting one.
                        if let old = written[l]?.randomElement(using: &rng) { t = old.key } else { t = now }
                    }
                    let v: Double
                    if let old = written[l]?[t], Bool.random(using: &rng) {
                        v = old
                    } else {
                        switch Int.random(in: 0..<8, using: &rng) {
                        case 0: v = StaleNaN.value
                        case 1: v = .nan
                        case 2: v = -.infinity
                        default: v = Double(Int.random(in: -100...100, using: &rng)) / 4
                        }
                    }
                    ss.append(Sample(t: t, v: v))
                    ref.append(l, t, v)
                    if written[l]?[t] == nil { written[l, default: [:]][t] = v }
                }
                if debugEveryRound && l["instance"] == "7" { print("batch for \(l): \(ss)") }
                batch.append(SeriesSamples(labels: l, samples: ss))
            }
            let rep = try await db.append(batch)
            if debugEveryRound { print(rep) }
            now += Int64.random(in: 500...6000, using: &rng)
            clock.now = now

            let action = Int.random(in: 0..<10, using: &rng)
            if debugEveryRound { print("round \(round) action \(action) now \(now)") }
            switch action {
            case 0..<4: try db.maintain()
            case 4: try db.flushHead()
            case 5:
                try db.close()
                db = try openDB(dir, clock: clock, configure)
            case 6 where crashy:
                // No close: the old instance's fsynced WAL and blocks must be enough.
                db = try openDB(dir, clock: clock, configure)
            default: break
            }
            if round % 5 == 4 || round == rounds - 1 || debugEveryRound {
                let lo = Int64.random(in: -1000...max(0, now), using: &rng)
                let hi = lo + Int64.random(in: 0...100_000, using: &rng)
                for (mint, maxt) in [(Int64.min, Int64.max), (lo, hi)] {
                    let ok = try expectSameAnswers(db, ref, mint: mint, maxt: maxt, matchers: Self.matchers())
                    #expect(ok, "seed \(seed) round \(round) range [\(mint), \(maxt)]")
                    if !ok { return }
                    let q = try db.querier(mint: mint, maxt: maxt), r = try ref.querier(mint: mint, maxt: maxt)
                    // series/labels may over-approximate by chunk time bounds (as Prometheus), never miss.
                    let exact = try r.series([]), approx = try q.series([])
                    #expect(Set(exact).isSubset(of: Set(approx)) && approx == approx.sorted())
                    if mint == .min { #expect(approx == exact) }
                    let vs = try q.labelValues("instance", [.equal("job", "c")])
                    #expect(Set(try r.labelValues("instance", [.equal("job", "c")])).isSubset(of: Set(vs)) && vs == vs.sorted())
                }
            }
        }
        try db.maintain()
        #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: Self.matchers()))
        #expect(db.metrics.blocks > 0)
        try db.close()
        let db2 = try openDB(dir, clock: clock, configure)
        #expect(try expectSameAnswers(db2, ref, mint: .min, maxt: .max, matchers: Self.matchers()))
        try db2.close()
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func randomWorkload(seed: UInt64) async throws {
        try await run(seed: seed, rounds: 80, crashy: false)
    }

    @Test(arguments: [11, 12] as [UInt64]) func randomWorkloadWithCrashes(seed: UInt64) async throws {
        try await run(seed: seed, rounds: 80, crashy: true)
    }
}
