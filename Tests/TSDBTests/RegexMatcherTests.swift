import Glibc
import Storage
import Testing
@testable import TSDB

/// `=~` and `!~` resolved by the TSDB's postings (head and blocks) with RE2 semantics.
@Suite struct RegexMatcherTests {
    static let nodes = ["n1", "n10", "n2x", "web-1", "web-2", "ñandú", "db\nprimary", String(repeating: "a", count: 40)]

    func names(_ db: TSDB, _ matchers: [LabelMatcher]) throws -> [String] {
        try db.querier(mint: .min, maxt: .max).select(matchers).map { $0.labels["node"] ?? "<none>" }.sorted()
    }

    @Test func regexMatchersSelectInHeadAndBlocks() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // Five hours up to the store's clock: enough for maintenance to cut blocks, so both
        // index kinds answer.
        let hour: Int64 = 3_600_000
        let now: Int64 = 100 * hour
        let db = try openDB(dir, clock: TestClock(now))
        defer { try? db.close() }
        var t = now - 5 * hour
        while t <= now {
            var batch = Self.nodes.map { SeriesSamples(labels: lbls(["__name__": "up", "node": $0]), samples: [Sample(t: t, v: 1)]) }
            batch.append(SeriesSamples(labels: lbls(["__name__": "up"]), samples: [Sample(t: t, v: 1)]))
            _ = try await db.append(batch)
            t += 300_000
        }
        let cases: [([LabelMatcher], [String])] = [
            ([try LabelMatcher(.regexMatch, "node", #"n\d+"#)], ["n1", "n10"]),
            ([try LabelMatcher(.regexMatch, "node", "web-[12]|n1")], ["n1", "web-1", "web-2"]),
            ([try LabelMatcher(.regexMatch, "node", #"\p{L}+"#)], ["ñandú", String(repeating: "a", count: 40)]),
            ([try LabelMatcher(.regexMatch, "node", "(?i)WEB-.")], ["web-1", "web-2"]),
            ([try LabelMatcher(.regexMatch, "node", "db.*")], []),            // `.` does not cross the newline
            ([try LabelMatcher(.regexMatch, "node", "(?s)db.*")], ["db\nprimary"]),
            ([try LabelMatcher(.regexMatch, "node", "(a*)*b")], []),          // exponential for a backtracker
            // Matches "" too, so the series without `node` is selected as well.
            ([try LabelMatcher(.regexMatch, "node", "(a|aa)*")], ["<none>", String(repeating: "a", count: 40)]),
            // A regex matching "" also selects the series without the label.
            ([.equal("__name__", "up"), try LabelMatcher(.regexMatch, "node", "|n1")], ["<none>", "n1"]),
            ([.equal("__name__", "up"), try LabelMatcher(.regexNoMatch, "node", #".*\d.*"#)],
             ["<none>", "db\nprimary", String(repeating: "a", count: 40), "ñandú"]),
            ([.equal("__name__", "up"), try LabelMatcher(.regexNoMatch, "node", ".+")], ["<none>", "db\nprimary"]),
        ]
        let head = try cases.map { try names(db, $0.0) }
        try db.maintain()
        #expect(db.metrics.blocks >= 1, "maintenance should have cut a block")
        for ((matchers, want), fromHead) in zip(cases, head) {
            #expect(fromHead == want.sorted(), "head: \(matchers)")
            #expect(try names(db, matchers) == want.sorted(), "blocks + head: \(matchers)")
        }
    }
}
