import Storage
import Testing
@testable import TSDB

@Suite struct IndexTests {
    @Test func postingsAlgebra() {
        #expect(Postings.intersect([1, 3, 5, 7], [2, 3, 7, 9]) == [3, 7])
        #expect(Postings.subtract([1, 3, 5, 7], [3, 4, 7]) == [1, 5])
        #expect(Postings.union([[5, 9], [1, 5], [], [2, 10]]) == [1, 2, 5, 9, 10])
        #expect(Postings.union([[Int]]()) == [])
    }

    static let fixture: [Labels] = [
        lbls(["__name__": "up", "job": "node", "instance": "a"]),
        lbls(["__name__": "up", "job": "node", "instance": "b"]),
        lbls(["__name__": "up", "job": "pods", "instance": "c", "zone": "eu"]),
        lbls(["__name__": "http_requests_total", "job": "api", "code": "200"]),
        lbls(["__name__": "http_requests_total", "job": "api", "code": "500", "zone": "us"]),
        lbls(["__name__": "temp", "zone": ""]),
    ]

    static let matcherSets: [[LabelMatcher]] = {
        func m(_ t: MatchType, _ n: String, _ v: String) -> LabelMatcher { try! LabelMatcher(t, n, v) }
        return [
            [],
            [m(.equal, "__name__", "up")],
            [m(.equal, "job", "node"), m(.equal, "instance", "b")],
            [m(.notEqual, "job", "node")],
            [m(.notEqual, "zone", "eu")],  // matches series without zone too
            [m(.equal, "zone", "")],  // only series without zone
            [m(.notEqual, "zone", "")],  // only series with zone
            [m(.regexMatch, "job", "no.*|api")],
            [m(.regexMatch, "code", "5..")],
            [m(.regexMatch, "zone", "eu|")],  // empty alternative: also series without zone
            [m(.regexMatch, "zone", ".*")],
            [m(.regexMatch, "zone", ".+")],
            [m(.regexNoMatch, "job", "node|pods")],
            [m(.regexNoMatch, "zone", ".*")],  // nothing
            [m(.regexNoMatch, "zone", "")],  // series that have zone
            [m(.equal, "__name__", "up"), m(.regexNoMatch, "instance", "a|c")],
            [m(.equal, "nonexistent", "x")],
            [m(.notEqual, "nonexistent", "x")],
            [m(.regexMatch, "instance", "[ab]")],
        ]
    }()

    func load(_ db: TSDB, _ ref: MemoryStorage) async throws {
        var batch: [SeriesSamples] = []
        for (i, l) in Self.fixture.enumerated() {
            let samples = (0..<10).map { Sample(t: Int64($0) * 1000, v: Double(i * 100 + $0)) }
            batch.append(SeriesSamples(labels: l, samples: samples))
            for s in samples { ref.append(l, s.t, s.v) }
        }
        let rep = try await db.append(batch)
        #expect(rep.accepted == Self.fixture.count * 10)
    }

    func checkAll(_ db: TSDB, _ ref: MemoryStorage) throws {
        #expect(try expectSameAnswers(db, ref, mint: 0, maxt: 100_000, matchers: Self.matcherSets))
        #expect(try expectSameAnswers(db, ref, mint: 3000, maxt: 4000, matchers: Self.matcherSets))
        let q = try db.querier(mint: 0, maxt: 100_000)
        let r = try ref.querier(mint: 0, maxt: 100_000)
        for m in Self.matcherSets {
            #expect(try q.series(m) == r.series(m), "series \(m)")
            #expect(try q.labelNames(m) == r.labelNames(m), "labelNames \(m)")
            #expect(try q.labelValues("job", m) == r.labelValues("job", m), "labelValues \(m)")
            #expect(try q.labelValues("zone", m) == r.labelValues("zone", m), "labelValues zone \(m)")
        }
        // Outside the data range nothing is visible.
        let empty = try db.querier(mint: 200_000, maxt: 300_000)
        #expect(try empty.select([]).isEmpty)
        #expect(try empty.labelNames([]).isEmpty)
        #expect(try empty.labelValues("job", []).isEmpty)
    }

    @Test func matchersOverHead() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        let ref = MemoryStorage()
        try await load(db, ref)
        try checkAll(db, ref)
        try db.close()
    }

    @Test func matchersOverBlock() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        let ref = MemoryStorage()
        try await load(db, ref)
        try db.flushHead()
        #expect(db.metrics.blocks == 1)
        #expect(db.metrics.headSeries == 0)
        try checkAll(db, ref)
        try db.close()
        // And from a reopened block.
        let db2 = try openDB(dir)
        try checkAll(db2, ref)
        try db2.close()
    }

    @Test func symbolTableShrinksWithChurn() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let hour: Int64 = 3_600_000
        let clock = TestClock()
        let db = try openDB(dir, clock: clock)
        // Pods that come and go: each hour a new set of unique pod names.
        for h in 0..<6 {
            let batch = (0..<50).map { i in
                SeriesSamples(labels: lbls(["__name__": "up", "pod": "pod-\(h)-\(i)", "ns": "n\(i % 3)"]),
                              samples: [Sample(t: Int64(h) * hour, v: 1), Sample(t: Int64(h) * hour + hour / 2, v: 1)])
            }
            _ = try await db.append(batch)
            clock.now = Int64(h) * hour + hour / 2
            try db.maintain()
        }
        let symbols = db.head.withLock { $0.symbolCount }
        #expect(symbols < 50 * 3 + 10)
        // Everything still answers correctly after renumbering.
        let q = try db.querier(mint: 5 * hour, maxt: 6 * hour)
        #expect(try q.select([.equal("ns", "n1")]).count == 17)
        #expect(try q.select([try LabelMatcher(.regexMatch, "pod", "pod-5-1.*")]).count == 11)
        #expect(try q.labelValues("pod", [.equal("ns", "n0")]).count == 17)
        let r = try await db.append([SeriesSamples(labels: lbls(["__name__": "up", "pod": "pod-5-3", "ns": "n0"]), samples: [Sample(t: 5 * hour + 1, v: 2)])])
        #expect(r.accepted == 1)
        #expect(db.metrics.headSeries == 100)  // hours 4 and 5 are still in the head
        try db.close()
    }

    @Test func statusCounts() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        try await load(db, MemoryStorage())
        let st = db.status(limit: 2)
        #expect(st.headSeries == 6)
        #expect(st.seriesCountByMetricName.count == 2)
        #expect(st.seriesCountByMetricName[0].name == "up" && st.seriesCountByMetricName[0].value == 3)
        #expect(st.minTime == 0 && st.maxTime == 9000)
        #expect(st.seriesCountByLabelValuePair.first?.value == 3)
        try db.close()
    }
}
