import Glibc
import Storage
import Testing
import TestSupport
@testable import TSDB

@Suite struct SemanticsTests {
    let a = lbls(["__name__": "x", "site": "a"])
    let b = lbls(["__name__": "x", "site": "b"])

    func samples(_ db: TSDB, _ l: Labels) throws -> [Sample] {
        try db.querier(mint: .min, maxt: .max).select([.equal("site", l["site"]!)]).first?.samples ?? []
    }

    @Test func outOfOrderDuplicatesAndConflictsInHead() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        var r = try await db.append([SeriesSamples(labels: a, samples: (10..<20).map { Sample(t: Int64($0) * 1000, v: Double($0)) })])
        #expect(r.accepted == 10)
        // Late samples, in any order, including ones older than everything.
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 5500, v: 5.5), Sample(t: 1000, v: 1), Sample(t: 12_500, v: 12.5)])])
        #expect(r.accepted == 3)
        // Exact duplicates (in-order chunk, open chunk, late buffer) are idempotent.
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 10_000, v: 10), Sample(t: 19_000, v: 19), Sample(t: 5500, v: 5.5)])])
        #expect(r.duplicates == 3 && r.accepted == 0)
        // Different value at an existing timestamp: first write wins.
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 11_000, v: 99), Sample(t: 1000, v: 2)])])
        #expect(r.conflicts == 2 && r.accepted == 0)
        // NaN duplicates compare by bits: same NaN is a duplicate, stale marker vs NaN a conflict.
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 30_000, v: .nan)])])
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 30_000, v: .nan), Sample(t: 30_000, v: StaleNaN.value)])])
        #expect(r.duplicates == 1 && r.conflicts == 1)
        // Within one batch too.
        r = try await db.append([SeriesSamples(labels: b, samples: [Sample(t: 5, v: 1), Sample(t: 5, v: 1), Sample(t: 5, v: 2), Sample(t: 3, v: 0)])])
        #expect(r.accepted == 2 && r.duplicates == 1 && r.conflicts == 1)

        let got = try samples(db, a)
        var want: [Int64] = [1000, 5500]
        for i: Int64 in 10..<20 { want.append(i * 1000); if i == 12 { want.append(12_500) } }
        want.append(30_000)
        #expect(got.map(\.t) == want)
        #expect(got.first { $0.t == 11_000 }?.v == 11)
        #expect(got.first { $0.t == 1000 }?.v == 1)
        #expect(try samples(db, b).map(\.t) == [3, 5])
        let m = db.metrics
        #expect(m.outOfOrderSamples == 4); #expect(m.duplicateSamples == 5); #expect(m.conflictingSamples == 4)
        try db.close()

        // The WAL replays to the same first-wins state.
        let db2 = try openDB(dir)
        #expect(bitsEqual(try samples(db2, a), got))
        try db2.close()
    }

    /// The head's time range (status) counts every place a series keeps samples: sealed and open
    /// in-order chunks, the late-sample buffer and the chunks it was flushed into.
    @Test func headTimeRangeCoversLateSamples() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        // 300 samples: sealed chunks and an open one.
        _ = try await db.append([SeriesSamples(labels: a, samples: (100..<400).map { Sample(t: Int64($0) * 1000, v: 1) })])
        var st = db.status(limit: 1)
        #expect(st.minTime == 100_000 && st.maxTime == 399_000)
        // One late sample older than everything: it waits in the buffer.
        _ = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 50_000, v: 1)])])
        st = db.status(limit: 1)
        #expect(st.minTime == 50_000 && st.maxTime == 399_000)
        // 40 late samples of another series: the oldest 32 are flushed into a chunk, 8 stay buffered.
        _ = try await db.append([SeriesSamples(labels: b, samples: [Sample(t: 1_000_000, v: 1)])])
        _ = try await db.append([SeriesSamples(labels: b, samples: (20..<60).map { Sample(t: Int64($0) * 1000, v: 1) })])
        st = db.status(limit: 1)
        #expect(st.minTime == 20_000 && st.maxTime == 1_000_000)
        try db.close()
    }

    @Test func manyLateSamplesSpillIntoChunks() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        _ = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 10_000_000, v: 1)])])
        // A backlog arriving newest-first and oldest-first mixed: 500 late samples.
        var rng = SplitMix(seed: 3)
        var ts = Array(0..<500).map { Int64($0) * 15_000 }
        ts.shuffle(using: &rng)
        for chunk in stride(from: 0, to: ts.count, by: 50) {
            let r = try await db.append([SeriesSamples(labels: a, samples: ts[chunk..<chunk + 50].map { Sample(t: $0, v: Double($0)) })])
            #expect(r.accepted == 50)
        }
        let r = try await db.append([SeriesSamples(labels: a, samples: ts.prefix(100).map { Sample(t: $0, v: Double($0)) })])
        #expect(r.duplicates == 100)
        let got = try samples(db, a)
        #expect(got.count == 501)
        #expect(zip(got, got.dropFirst()).allSatisfy { $0.t < $1.t })
        try db.close()
    }

    @Test func sealedDecimalHeadChunksKeepExactSemantics() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        // Every other sample is skipped, then filled in late: lookups must hit sealed chunks
        // that were re-encoded as decimal at seal time.
        let evens = (0..<600).map { Sample(t: Int64($0) * 2000, v: Double($0) * 0.25) }
        var r = try await db.append([SeriesSamples(labels: a, samples: evens)])
        #expect(r.accepted == 600)
        #expect(db.metrics.headChunks >= 5)
        #expect(db.head.withLock { h in h.allSeries.contains { $0.sealedChunks.contains { $0.decimal } } })
        // Sealed chunks were moved out of the heap into the head chunk files.
        #expect(db.head.withLock { h in h.allSeries.allSatisfy { $0.sealedChunks.allSatisfy { $0.disk != nil && $0.data.isEmpty } } })
        r = try await db.append([SeriesSamples(labels: a, samples: evens.prefix(300).map { Sample(t: $0.t, v: $0.v) })])
        #expect(r.duplicates == 300)
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 2000, v: 7)])])
        #expect(r.conflicts == 1)
        let odds = (0..<599).map { Sample(t: Int64($0) * 2000 + 1000, v: -Double($0)) }
        r = try await db.append([SeriesSamples(labels: a, samples: odds)])
        #expect(r.accepted == 599)
        let got = try samples(db, a)
        #expect(got.count == 1199)
        #expect(got.allSatisfy { $0.t % 2000 == 0 ? $0.v == Double($0.t / 2000) * 0.25 : $0.v == -Double($0.t / 2000) })
        try db.flushHead()
        #expect(bitsEqual(try samples(db, a), got))
        #expect(db.head.withLock { $0.chunkFileCount } <= 1)
        try db.close()
    }

    @Test func tooOldIsMeasuredFromTheClockNotFromSamples() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let clock = TestClock(1_000_000)
        let db = try openDB(dir, clock: clock) { $0.retention = 100_000 }
        var r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 1_000_000, v: 1)])])
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 800_000, v: 1), Sample(t: 950_000, v: 2)])])
        #expect(r.tooOld == 1 && r.accepted == 1)
        // A sample a century ahead does not move the horizon: later ordinary writes are accepted.
        let century: Int64 = 100 * 365 * 86_400_000
        r = try await db.append([SeriesSamples(labels: b, samples: [Sample(t: century, v: 9)])])
        #expect(r.accepted == 1)
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 990_000, v: 3), Sample(t: 1_001_000, v: 4)])])
        #expect(r.tooOld == 0 && r.accepted == 2)
        // The horizon follows the clock.
        clock.now = 1_050_000
        r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 940_000, v: 5)])])
        #expect(r.tooOld == 1)
        #expect(db.metrics.tooOldSamples == 2)
        try db.close()
    }

    /// A store written before future samples were refused may hold samples a century ahead.
    /// Start-up, head cuts, compaction and retention must keep every sample.
    @Test func farFutureSamplesInTheStoreLoseNothing() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let hour: Int64 = 3_600_000
        let century: Int64 = 100 * 365 * 86_400_000
        let clock = TestClock()
        let configure: (inout TSDBOptions) -> Void = { $0.retention = 60 * hour }
        var db = try openDB(dir, clock: clock, configure)
        var expected = 0
        for k in Int64(0)..<(40 * 4) {
            let t = 8 * hour + k * hour / 4
            clock.now = t
            _ = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: t, v: Double(k))])])
            expected += 1
            if k % 16 == 0 { try db.maintain() }
        }
        clock.now = 48 * hour
        _ = try await db.append([SeriesSamples(labels: b, samples: [Sample(t: century, v: 1)])])
        expected += 1
        // A block beyond the clock, as an older version's head cut could leave it.
        try db.flushHead()
        _ = try await db.append([SeriesSamples(labels: b, samples: [Sample(t: century + 1000, v: 2)])])
        expected += 1
        for _ in 0..<3 { try db.maintain() }
        try db.close()
        db = try openDB(dir, clock: clock, configure)
        try db.maintain()
        let all = try db.querier(mint: .min, maxt: .max).select([])
        #expect(all.reduce(0) { $0 + $1.samples.count } == expected)
        #expect(db.metrics.retentionDeletedBlocks == 0)
        // Ordinary writes still go in.
        let r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 47 * hour + 1, v: 1)])])
        #expect(r.accepted == 1 && r.tooOld == 0)
        // Retention still works by the clock: a week later the ordinary data has expired,
        // the samples from the future have not.
        clock.now = 200 * hour
        try db.maintain()
        let left = try db.querier(mint: .min, maxt: .max).select([])
        #expect(left.map { $0.labels } == [b])
        #expect(left.first?.samples.count == 2)
        try db.close()
    }

    @Test func blocksResolveConflictsEarlierWins() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        _ = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 1000, v: 1), Sample(t: 2000, v: 2)])])
        try db.flushHead()
        // The head no longer knows t=1000, so this is accepted and must lose at query time.
        let r = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 1000, v: 100), Sample(t: 1500, v: 1.5)])])
        #expect(r.accepted == 2)
        #expect(try samples(db, a).map(\.v) == [1, 1.5, 2])
        try db.flushHead()
        #expect(db.metrics.blocks == 2)
        #expect(try samples(db, a).map(\.v) == [1, 1.5, 2])
        try db.maintain()  // overlapping blocks are merged
        #expect(db.metrics.blocks == 1)
        #expect(db.metrics.compactions == 1)
        #expect(try samples(db, a).map(\.v) == [1, 1.5, 2])
        try db.close()
        let db2 = try openDB(dir)
        #expect(try samples(db2, a).map(\.v) == [1, 1.5, 2])
        try db2.close()
    }

    @Test func emptyAndNoopBatches() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        #expect(try await db.append([]) == AppendReport())
        #expect(try await db.append([SeriesSamples(labels: a, samples: [])]) == AppendReport())
        #expect(db.metrics.headSeries == 0)
        try db.flushHead()
        try db.maintain()
        #expect(db.metrics.blocks == 0)
        try db.close()
        await #expect(throws: TSDBError.self) { _ = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 1, v: 1)])]) }
    }
}

@Suite struct DirectoryLockTests {
    /// Another process is modelled by an open-file-description lock, which conflicts with the
    /// TSDB's process-level record lock even inside this process.
    @Test func dataDirectoryIsLockedWhileOpen() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        func otherCanLock() -> Bool {
            let fd = open(dir.path + "/lock", O_RDWR)
            defer { close(fd) }
            var fl = flock()
            fl.l_type = Int16(F_WRLCK)
            fl.l_whence = Int16(SEEK_SET)
            let F_OFD_SETLK: Int32 = 37  // Linux; not exported by the Glibc module
            return fcntl(fd, F_OFD_SETLK, &fl) == 0
        }
        #expect(!otherCanLock())
        try db.close()
        #expect(otherCanLock())
    }
}
