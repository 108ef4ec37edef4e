import Storage
import Testing
import TestSupport

@testable import TSDB

/// The ingest fast path gives the head label sets as bytes (`AppendSeries.span`). Whatever mix of
/// bytes and `Labels` a batch holds, the head must end up with exactly what appending the same
/// batches as `Labels` gives: the same series, samples and reports, also when hashes collide.
@Suite struct LabelBytesAppendTests {
    /// Label values that are byte-different but equal as `String`s (canonically equivalent), and
    /// short/long/ASCII ones, so byte and `String` comparison could disagree.
    static let values = ["a", "b", "é", "e\u{301}", "K", "\u{212A}", "node-exporter-0123456789", "x"]

    static func randomLabels(_ rng: inout SplitMix) -> Labels {
        var pairs = [Label("__name__", "m\(Int.random(in: 0...2, using: &rng))")]
        for name in ["cluster", "instance", "job"] where Bool.random(using: &rng) {
            pairs.append(Label(name, values.randomElement(using: &rng)!))
        }
        return Labels(sortedUnchecked: pairs)
    }

    /// `labels` as a span appended to `bytes`/`ranges`.
    static func span(_ labels: Labels, _ bytes: inout [UInt8], _ ranges: inout [UInt32]) -> LabelBytes.Span {
        let first = UInt32(ranges.count / 4)
        for l in labels.pairs {
            ranges.append(UInt32(bytes.count)); ranges.append(UInt32(l.name.utf8.count)); bytes += Array(l.name.utf8)
            ranges.append(UInt32(bytes.count)); ranges.append(UInt32(l.value.utf8.count)); bytes += Array(l.value.utf8)
        }
        return LabelBytes.Span(first: first, count: UInt32(labels.count))
    }

    @Test(arguments: [UInt64.max, 0, 3])
    func bytesAndLabelsGiveTheSameHead(mask: UInt64) async throws {
        let d1 = TempDir(), d2 = TempDir()
        defer { d1.cleanup(); d2.cleanup() }
        let clock = TestClock(1_000_000)
        // One seed for both: canonically equivalent label sets (equal as Strings) in one bucket
        // are one series, in different buckets two (as before the byte path).
        let viaLabels = try openDB(d1, clock: clock) { $0.seriesHashMask = mask; $0.seriesHashSeed = 42 }
        let viaBytes = try openDB(d2, clock: clock) { $0.seriesHashMask = mask; $0.seriesHashSeed = 42 }
        var rng = SplitMix(seed: mask &+ 7)
        for round in 0..<40 {
            var plain: [SeriesSamples] = []
            var mixed: [AppendSeries] = []
            var bytes: [UInt8] = [0xEE]  // offsets other than 0 must work too
            var ranges: [UInt32] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let l = Self.randomLabels(&rng)
                // Same timestamps for different series and repeats within a batch: duplicates and
                // conflicts are decided first-wins, so batch order must be kept.
                let s = [Sample(t: Int64(round * 1000 + Int.random(in: 0...2, using: &rng)), v: Double(Int.random(in: 0...3, using: &rng)))]
                plain.append(SeriesSamples(labels: l, samples: s))
                if Bool.random(using: &rng) {
                    mixed.append(AppendSeries(span: Self.span(l, &bytes, &ranges), samples: s))
                } else {
                    mixed.append(AppendSeries(labels: l, samples: s))
                }
            }
            let a = try await viaLabels.append(plain)
            let b = try await viaBytes.append(mixed, labelBytes: LabelBytes(bytes: bytes, ranges: ranges))
            #expect(a == b, "round \(round)")
        }
        let x = try viaLabels.querier(mint: .min, maxt: .max).select([])
        let y = try viaBytes.querier(mint: .min, maxt: .max).select([])
        #expect(x.count == y.count)
        #expect(x.count > 10)
        for (p, q) in zip(x, y) {
            #expect(p.labels == q.labels && p.labels.pairs.map { Array($0.value.utf8) } == q.labels.pairs.map { Array($0.value.utf8) })
            #expect(bitsEqual(p.samples, q.samples), "\(p.labels)")
        }
        try viaLabels.close()
        try viaBytes.close()

        // What the head logged replays to the same series.
        let replayed = try openDB(d2, clock: clock) { $0.seriesHashMask = mask; $0.seriesHashSeed = 42 }
        let z = try replayed.querier(mint: .min, maxt: .max).select([])
        #expect(z.map(\.labels) == y.map(\.labels))
        try replayed.close()
    }

    /// A series found by its bytes is the one `find(Labels)` finds; an unknown one is created once.
    @Test func bytesFindTheSeriesLabelsCreated() async throws {
        let d = TempDir()
        defer { d.cleanup() }
        let db = try openDB(d, clock: TestClock(1_000_000))
        let l = Labels(sortedUnchecked: [Label("__name__", "up"), Label("job", "node")])
        _ = try await db.append([SeriesSamples(labels: l, samples: [Sample(t: 1, v: 1)])])
        var bytes: [UInt8] = [], ranges: [UInt32] = []
        let sp = Self.span(l, &bytes, &ranges)
        let other = Self.span(Labels(sortedUnchecked: [Label("__name__", "up"), Label("job", "nodf")]), &bytes, &ranges)
        let lb = LabelBytes(bytes: bytes, ranges: ranges)
        let r = try await db.append([AppendSeries(span: sp, samples: [Sample(t: 2, v: 1)]),
                                     AppendSeries(span: other, samples: [Sample(t: 2, v: 1)]),
                                     AppendSeries(span: other, samples: [Sample(t: 3, v: 1)])], labelBytes: lb)
        #expect(r.accepted == 3)
        let all = try db.querier(mint: .min, maxt: .max).select([])
        #expect(all.map(\.labels) == [l, lb.labels(other)])
        #expect(all.map(\.samples.count) == [2, 2])
        try db.close()
    }
}
