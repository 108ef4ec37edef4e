import Glibc
import Storage
import Testing
import DurableIO
import TestSupport
@testable import TSDB

@Suite struct BlockTests {
    let hour: Int64 = 3_600_000

    /// Appends `hours` of data from `from`; a given clock follows the data as a live sender's would.
    func fillHours(_ db: TSDB, from: Int64, hours: Int64, series: Int = 4, step: Int64 = 60_000, clock: TestClock? = nil) async throws {
        var t = from
        while t < from + hours * hour {
            clock?.now = t
            let batch = (0..<series).map { i in
                SeriesSamples(labels: lbls(["__name__": "load", "node": "n\(i)"]), samples: [Sample(t: t, v: Double(t / 1000 + Int64(i)))])
            }
            _ = try await db.append(batch)
            t += step
        }
    }

    func blockDirs(_ dir: TempDir) throws -> [String] {
        try FS.list(dir.path).filter { $0 != "wal" && $0 != "chunks_head" && FS.isDirectory(dir.path + "/" + $0) }
    }

    @Test func headIsCutIntoBlocksAndCompacted() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir, clock: TestClock(20 * hour))  // 2h blocks, 15d retention: ranges 2h, 6h, 18h
        try await fillHours(db, from: 0, hours: 20, step: 300_000)
        let before = try db.querier(mint: .min, maxt: .max).select([])
        try db.maintain()
        let m = db.metrics
        #expect(m.blocks >= 1)
        #expect(m.compactions >= 1)
        // Head keeps only the most recent window(s).
        let st = db.status(limit: 10)
        #expect(st.minTime >= 16 * hour)
        let metas = try blockDirs(dir).map { try Block(dir: dir.path + "/" + $0).meta }
        #expect(metas.contains { $0.maxTime - $0.minTime == 18 * hour || $0.maxTime - $0.minTime == 6 * hour })
        #expect(metas.allSatisfy { $0.stats.numSamples > 0 })
        let after = try db.querier(mint: .min, maxt: .max).select([])
        #expect(after.map(\.labels) == before.map(\.labels))
        #expect(zip(after, before).allSatisfy { bitsEqual($0.samples, $1.samples) })
        // The WAL was truncated: replay after restart gives the same answer without duplicating.
        try db.close()
        let db2 = try openDB(dir, clock: TestClock(20 * hour))
        let again = try db2.querier(mint: .min, maxt: .max).select([])
        #expect(zip(again, before).allSatisfy { bitsEqual($0.samples, $1.samples) })
        #expect(db2.metrics.blocks == m.blocks)
        try db2.close()
    }

    @Test func compactionRangesFollowRetention() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        #expect(db.compactionRanges == [2 * hour, 6 * hour, 18 * hour])
        try db.close()
        let small = try openDB(dir) { $0.retention = 10 * self.hour }
        #expect(small.compactionRanges == [2 * hour])
        try small.close()
    }

    @Test func retentionByTime() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let clock = TestClock()
        let db = try openDB(dir, clock: clock) { $0.retention = 10 * self.hour }
        try await fillHours(db, from: 0, hours: 30, step: 600_000, clock: clock)
        try db.maintain()
        try await fillHours(db, from: 30 * hour, hours: 1, step: 600_000, clock: clock)
        try db.maintain()
        #expect(db.metrics.retentionDeletedBlocks >= 1)
        let oldest = try db.querier(mint: .min, maxt: .max).select([]).compactMap { $0.samples.first?.t }.min()!
        // Blocks entirely older than newest - retention are gone; one straddling block may remain.
        #expect(oldest >= 31 * hour - 10 * hour - 18 * hour)
        let q = try db.querier(mint: 0, maxt: 2 * hour)
        #expect(try q.select([]).isEmpty)
        try db.close()
    }

    @Test func retentionBySize() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        try await fillHours(db, from: 0, hours: 12, series: 20, step: 60_000)
        try db.flushHead()
        let blocks = db.metrics
        #expect(blocks.blocks == 6)
        try db.close()
        // Reopen with a byte budget that fits only about half of the blocks.
        let db2 = try openDB(dir) { $0.maxBytes = blocks.blockBytes / 2 }
        try db2.maintain()
        let m = db2.metrics
        #expect(m.blockBytes <= blocks.blockBytes / 2)
        #expect(m.blocks >= 1 && m.retentionDeletedBlocks >= 1)
        // The oldest data went first.
        let first = try db2.querier(mint: .min, maxt: .max).select([]).compactMap { $0.samples.first?.t }.min()!
        #expect(first > 0)
        #expect(try db2.querier(mint: 11 * hour, maxt: 12 * hour).select([]).count == 20)
        try db2.close()
    }

    @Test func restartServesSameAnswersFromBlocks() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        try await fillHours(db, from: 0, hours: 6, series: 30, step: 15_000)
        try db.flushHead()
        let q1 = try db.querier(mint: hour, maxt: 5 * hour)
        let want = try q1.select([try LabelMatcher(.regexMatch, "node", "n1.*")])
        let names = try q1.labelValues("node", [])
        try db.close()
        let db2 = try openDB(dir)
        #expect(db2.metrics.headSeries == 0)
        let q2 = try db2.querier(mint: hour, maxt: 5 * hour)
        let got = try q2.select([try LabelMatcher(.regexMatch, "node", "n1.*")])
        #expect(got.map(\.labels) == want.map(\.labels))
        #expect(zip(got, want).allSatisfy { bitsEqual($0.samples, $1.samples) })
        #expect(try q2.labelValues("node", []) == names)
        try db2.close()
    }

    @Test func corruptBlockFilesGiveNamedErrors() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        try await fillHours(db, from: 0, hours: 1, series: 5, step: 60_000)
        try db.flushHead()
        try db.close()
        let block = dir.path + "/" + (try blockDirs(dir)).first!
        let chunks = try FS.readFile(block + "/chunks")
        let index = try FS.readFile(block + "/index")

        // A flipped byte in the chunks file: opening works (lazy), reading the chunk fails cleanly.
        var bad = chunks
        bad[40] ^= 0x55
        try FS.writeFileAtomically(block + "/chunks", bad)
        let db2 = try openDB(dir)
        do {
            _ = try db2.querier(mint: .min, maxt: .max).select([])
            Issue.record("corrupt chunk was not detected")
        } catch let e as TSDBError {
            #expect(e.message.contains("/chunks") && e.message.contains("offset"))
        }
        try db2.close()
        try FS.writeFileAtomically(block + "/chunks", chunks)

        // Random damage to the index: open or query throws a TSDBError naming the index, never traps.
        var rng = SplitMix(seed: 5)
        for round in 0..<60 {
            var b = index
            if round % 3 == 0 {
                b.removeLast(Int.random(in: 1..<b.count, using: &rng))
            } else {
                for _ in 0..<Int.random(in: 1...3, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            }
            try FS.writeFileAtomically(block + "/index", b)
            do {
                let d = try openDB(dir)
                _ = try d.querier(mint: .min, maxt: .max).select([])
                _ = try d.querier(mint: .min, maxt: .max).labelValues("node", [.equal("node", "n1")])
                try d.close()
            } catch let e as TSDBError {
                #expect(e.message.contains("index") || e.message.contains("meta.json"), "\(e)")
            }
        }
        try FS.writeFileAtomically(block + "/index", index)
        try FS.writeFileAtomically(block + "/meta.json", Array("{not json".utf8))
        #expect(throws: TSDBError.self) { _ = try openDB(dir) }
    }

    @Test func leftoversOfInterruptedWritesAreCleaned() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        try await fillHours(db, from: 0, hours: 1, series: 2)
        try db.flushHead()
        try db.close()
        try FS.mkdirAll(dir.path + "/01ABCDEFGHJKMNPQRSTVWXYZ00.tmp")
        let db2 = try openDB(dir)
        #expect(!FS.exists(dir.path + "/01ABCDEFGHJKMNPQRSTVWXYZ00.tmp"))
        #expect(db2.metrics.blocks == 1)
        try db2.close()
    }
}

@Suite struct CompactionRecoveryTests {
    func copyDir(_ from: String, _ to: String) throws {
        try FS.mkdirAll(to)
        for f in try FS.list(from) { try FS.writeFileAtomically(to + "/" + f, try FS.readFile(from + "/" + f)) }
    }

    /// A crash after writing a compacted block but before deleting its inputs leaves both; the
    /// inputs are recognised by their sources and removed on open.
    @Test func supersededInputsAreRemovedOnOpen() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let l = lbls(["__name__": "m"])
        let db = try openDB(dir)
        _ = try await db.append([SeriesSamples(labels: l, samples: [Sample(t: 1000, v: 1), Sample(t: 3000, v: 3)])])
        try db.flushHead()
        _ = try await db.append([SeriesSamples(labels: l, samples: [Sample(t: 2000, v: 2), Sample(t: 3000, v: 30)])])
        try db.flushHead()
        let inputs = try FS.list(dir.path).filter { $0 != "wal" && $0 != "lock" && $0 != "chunks_head" }
        #expect(inputs.count == 2)
        for b in inputs { try copyDir(dir.path + "/" + b, dir.path + "/../backup-" + b) }
        try db.maintain()
        #expect(db.metrics.blocks == 1)
        try db.close()
        for b in inputs {
            try copyDir(dir.path + "/../backup-" + b, dir.path + "/" + b)
            try FS.removeAll(dir.path + "/../backup-" + b)
        }
        #expect(try FS.list(dir.path).filter { $0 != "wal" && $0 != "lock" && $0 != "chunks_head" }.count == 3)
        let db2 = try openDB(dir)
        #expect(db2.metrics.blocks == 1)
        #expect(try FS.list(dir.path).filter { $0 != "wal" && $0 != "lock" && $0 != "chunks_head" }.count == 1)
        let got = try db2.querier(mint: .min, maxt: .max).select([])
        #expect(got.first?.samples.map(\.v) == [1, 2, 3])
        try db2.close()
    }

    @Test func walIsTruncatedAfterHeadCuts() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let hour: Int64 = 3_600_000
        let clock = TestClock()
        let db = try openDB(dir, clock: clock) { $0.walSegmentSize = 4096 }
        func walBytes() throws -> Int64 {
            try FS.list(dir.path + "/wal").reduce(0) { $0 + FS.fileSize(dir.path + "/wal/" + $1) }
        }
        var peak: Int64 = 0
        for step in 0..<(48 * 12) {
            let t = Int64(step) * 300_000
            clock.now = t
            _ = try await db.append((0..<20).map { SeriesSamples(labels: lbls(["__name__": "w", "i": String($0)]), samples: [Sample(t: t, v: Double(step))]) })
            if step % 12 == 0 { try db.maintain() }
            peak = max(peak, try walBytes())
        }
        // 48h of data went through; the WAL only ever held a few hours of it.
        let total = db.metrics.walBytesWritten
        #expect(peak < Int64(total) / 4)
        #expect(db.status(limit: 1).minTime >= 44 * hour)
        try db.close()
        let db2 = try openDB(dir)
        let q = try db2.querier(mint: .min, maxt: .max).select([.equal("i", "7")])
        #expect(q.first?.samples.count == 48 * 12)
        try db2.close()
    }
}
