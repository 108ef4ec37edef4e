import Storage
import Testing
import TestSupport

@testable import TSDB

/// The appender guesses that a batch's next series is the previous one's ref + 1 and takes it
/// when its stored labels are the bytes sent (`Head.find(_:_:guess:)`). A guess may miss, but
/// the series chosen must always be the one the hash lookup chooses: also when the order
/// changes, when series were dropped in between, and when hashes collide.
@Suite struct SeriesGuessTests {
    static func labels(_ i: Int, cluster: String = "c1") -> Labels {
        Labels(sortedUnchecked: [Label("__name__", "m\(i % 3)"), Label("cluster", cluster), Label("instance", "host-\(i)")])
    }

    /// The label sets as one `LabelBytes` batch, sample value `v` at time `t` for each.
    static func batch(_ sets: [Labels], t: Int64, v: Double) -> ([AppendSeries], LabelBytes) {
        var bytes: [UInt8] = [0x01], ranges: [UInt32] = []
        let series = sets.map { AppendSeries(span: LabelBytesAppendTests.span($0, &bytes, &ranges), samples: [Sample(t: t, v: v)]) }
        return (series, LabelBytes(bytes: bytes, ranges: ranges))
    }

    static func append(_ db: TSDB, _ sets: [Labels], t: Int64, v: Double = 1) async throws -> (report: AppendReport, guessed: Int) {
        let before = db.head.withLock { $0.seriesFoundByGuess }
        let (series, lb) = batch(sets, t: t, v: v)
        let r = try await db.append(series, labelBytes: lb)
        return (r, db.head.withLock { $0.seriesFoundByGuess } - before)
    }

    /// Every series' labels and sample values, to check samples landed in the right series.
    static func contents(_ db: TSDB) throws -> [Labels: [Double]] {
        let all = try db.querier(mint: .min, maxt: .max).select([])
        return Dictionary(uniqueKeysWithValues: all.map { ($0.labels, $0.samples.map(\.v)) })
    }

    @Test func theSameOrderIsFoundByGuessing() async throws {
        let d = TempDir()
        defer { d.cleanup() }
        let db = try openDB(d, clock: TestClock(1_000_000))
        let sets = (0..<50).map { Self.labels($0) }
        let first = try await Self.append(db, sets, t: 1000)
        #expect(first.report.accepted == 50 && first.guessed == 0)  // all new
        let second = try await Self.append(db, sets, t: 2000, v: 2)
        // The first series of a batch has nothing to follow; every other one is guessed.
        #expect(second.report.accepted == 50 && second.guessed == 49)
        let c = try Self.contents(db)
        #expect(c.count == 50)
        for l in sets { #expect(c[l] == [1, 2], "\(l)") }
        try db.close()
    }

    @Test func anotherOrderFallsBackToTheHash() async throws {
        let d = TempDir()
        defer { d.cleanup() }
        let db = try openDB(d, clock: TestClock(1_000_000))
        let sets = (0..<30).map { Self.labels($0) }
        _ = try await Self.append(db, sets, t: 1000)
        // Reversed: every guess (ref + 1) names an existing series with other labels.
        let reversed = try await Self.append(db, sets.reversed(), t: 2000, v: 2)
        #expect(reversed.report.accepted == 30 && reversed.guessed == 0)
        // Shuffled with a new series in the middle, and a repeat: whatever is guessed must be right.
        var rng = SplitMix(seed: 99)
        var mixed = sets.shuffled(using: &rng)
        mixed.insert(Self.labels(100), at: 10)
        mixed.append(mixed[3])
        let r = try await Self.append(db, mixed, t: 3000, v: 3)
        #expect(r.report.accepted == 31 && r.report.duplicates == 1)
        let c = try Self.contents(db)
        #expect(c.count == 31)
        for l in sets { #expect(c[l] == [1, 2, 3], "\(l)") }
        #expect(c[Self.labels(100)] == [3])
        try db.close()
    }

    /// Series dropped between two batches (a head cut that leaves them empty, with the symbol
    /// table renumbered) are never guessed: their refs are gone from the head and never reused.
    @Test func seriesDroppedBetweenBatchesAreNotGuessed() async throws {
        let d = TempDir()
        defer { d.cleanup() }
        let db = try openDB(d, clock: TestClock(1_000_000))
        let old = (0..<60).map { Self.labels(1000 + $0, cluster: "gone") }
        let kept = (0..<10).map { Self.labels($0, cluster: "kept") }
        _ = try await Self.append(db, old + kept, t: 1000)
        // `kept` gets a sample after the cut point; `old` is cut out of the head entirely.
        _ = try await Self.append(db, kept, t: 500_000, v: 2)
        let (symbolsBefore, symbolsAfter, seriesAfter) = db.head.withLock { h in
            let before = h.symbolCount
            _ = h.cut(before: 400_000)
            return (before, h.symbolCount, h.seriesCount)
        }
        #expect(seriesAfter == 10)
        #expect(symbolsAfter < symbolsBefore)  // renumbered
        // The same order again: `old` is created anew (new refs), `kept` is guessed after its first.
        let r = try await Self.append(db, old + kept, t: 600_000, v: 3)
        #expect(r.report.accepted == 70 && r.guessed == 9)
        // And once more: now the new `old` series follow each other by ref as well.
        let r2 = try await Self.append(db, old + kept, t: 700_000, v: 4)
        #expect(r2.report.accepted == 70 && r2.guessed == 59 + 9)
        let c = try Self.contents(db)
        #expect(c.count == 70)
        for l in old { #expect(c[l] == [3, 4], "\(l)") }
        for l in kept { #expect(c[l] == [2, 3, 4], "\(l)") }
        try db.close()
    }

    /// With any hash collision in the head the guess is off (the hash lookup decides between
    /// colliding series, and a guess could pick another one), and samples still land right.
    @Test(arguments: [UInt64(0), 3])
    func collisionsTurnGuessingOff(mask: UInt64) async throws {
        let d = TempDir()
        defer { d.cleanup() }
        let db = try openDB(d, clock: TestClock(1_000_000)) { $0.seriesHashMask = mask }
        let sets = (0..<40).map { Self.labels($0) }
        _ = try await Self.append(db, sets, t: 1000)
        let r = try await Self.append(db, sets, t: 2000, v: 2)
        #expect(r.report.accepted == 40 && r.guessed == 0)
        let c = try Self.contents(db)
        #expect(c.count == 40)
        for l in sets { #expect(c[l] == [1, 2], "\(l)") }
        try db.close()
    }
}
