import DurableIO
import Storage
import Testing
@testable import TSDB

/// `close(persistingHead: true)`, the collector's clean stop: the head goes into blocks, the WAL
/// is left empty, the next open answers exactly as before, and a crash at each step of the
/// stop loses nothing (simulated by restoring the directory to what that step leaves behind).
@Suite struct CleanStopTests {
    static let hour: Int64 = 3_600_000

    /// 40 series over 5 h at 1 min (three block windows), two appends per scrape so the WAL
    /// has many records, plus some late samples.
    func load(_ db: TSDB, _ ref: MemoryStorage) async throws {
        for step in 0..<300 {
            let t = Int64(step) * 60_000
            for half in 0..<2 {
                var batch: [SeriesSamples] = []
                for i in (half * 20)..<(half * 20 + 20) {
                    let labels = lbls(["__name__": "m", "i": String(i)])
                    let v = i % 3 == 0 ? Double(step * i) : Double(step) / 100 + Double(i)
                    batch.append(SeriesSamples(labels: labels, samples: [Sample(t: t, v: v)]))
                    ref.append(labels, t, v)
                }
                _ = try await db.append(batch)
            }
        }
        let late = lbls(["__name__": "m", "i": "0"])
        _ = try await db.append([SeriesSamples(labels: late, samples: [Sample(t: 30_001, v: .infinity)])])
        ref.append(late, 30_001, .infinity)
    }

    func walFiles(_ dir: TempDir) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for name in try FS.list(dir.path + "/wal") { out[name] = try FS.readFile(dir.path + "/wal/" + name) }
        return out
    }

    func blockDirs(_ dir: TempDir) throws -> [String] {
        try FS.list(dir.path).filter { $0 != "wal" && $0 != "chunks_head" && FS.isDirectory(dir.path + "/" + $0) }.sorted()
    }

    /// The WAL directory exactly as `files` (what it held before the stop).
    func restoreWAL(_ dir: TempDir, _ files: [String: [UInt8]]) throws {
        try FS.removeAll(dir.path + "/wal")
        try FS.mkdirAll(dir.path + "/wal")
        for (name, bytes) in files { try FS.writeFileAtomically(dir.path + "/wal/" + name, bytes) }
    }

    /// Loads, stops cleanly, and hands the WAL as it was before the stop to `crash`.
    func stopped(_ body: (TempDir, MemoryStorage, [String: [UInt8]]) async throws -> Void) async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let ref = MemoryStorage()
        let db = try openDB(dir)
        try await load(db, ref)
        let before = try walFiles(dir)
        try db.close(persistingHead: true)
        try await body(dir, ref, before)
    }

    @Test func cleanStopLeavesBlocksAndAnEmptyWAL() async throws {
        try await stopped { dir, ref, before in
            #expect(before.values.reduce(0) { $0 + $1.count } > 10_000)
            #expect(try blockDirs(dir).count == 3)
            #expect(try walFiles(dir).values.allSatisfy(\.isEmpty), "the WAL holds nothing the blocks do not")
            let db = try openDB(dir)
            #expect(db.metrics.headSeries == 0)
            #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[], [.equal("i", "0")]]))
            #expect(try expectSameAnswers(db, ref, mint: 2 * Self.hour, maxt: 3 * Self.hour, matchers: [[]]))
            // Writing on after the restart, and stopping again, keeps both.
            let labels = lbls(["__name__": "m", "i": "1"])
            _ = try await db.append([SeriesSamples(labels: labels, samples: [Sample(t: 6 * Self.hour, v: 7)])])
            ref.append(labels, 6 * Self.hour, 7)
            try db.close(persistingHead: true)
            let again = try openDB(dir)
            #expect(try expectSameAnswers(again, ref, mint: .min, maxt: .max, matchers: [[]]))
            try again.close()
        }
    }

    /// Killed after the blocks were renamed into place, before the checkpoint: blocks and the
    /// whole WAL hold the same samples.
    @Test func crashAfterBlocksBeforeCheckpointLosesNothing() async throws {
        try await stopped { dir, ref, before in
            try restoreWAL(dir, before)
            let db = try openDB(dir)
            #expect(db.metrics.headSeries == 40)
            #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
            // The next stop writes overlapping blocks; compaction merges them into one per window.
            try db.close(persistingHead: true)
            let again = try openDB(dir)
            #expect(try expectSameAnswers(again, ref, mint: .min, maxt: .max, matchers: [[]]))
            try again.maintain()
            #expect(try expectSameAnswers(again, ref, mint: .min, maxt: .max, matchers: [[]]))
            try again.close()
        }
    }

    /// Killed while the blocks were being written: a block still under its temporary name is
    /// removed on open and the untouched WAL replays everything.
    @Test func crashWhileWritingBlocksLosesNothing() async throws {
        try await stopped { dir, ref, before in
            for b in try blockDirs(dir).dropFirst() { try FS.rename(dir.path + "/" + b, dir.path + "/" + b + ".tmp") }
            try restoreWAL(dir, before)
            let db = try openDB(dir)
            #expect(try blockDirs(dir).count == 1)
            #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
            try db.close()
        }
    }

    /// Killed after the checkpoint was renamed, before the old segments were deleted.
    @Test func crashAfterCheckpointBeforeSegmentDeletionLosesNothing() async throws {
        try await stopped { dir, ref, before in
            for (name, bytes) in before where WAL.layout.number(name) != nil {
                try FS.writeFileAtomically(dir.path + "/wal/" + name, bytes)
            }
            let db = try openDB(dir)
            #expect(db.metrics.headSeries == 0)
            #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
            try db.close()
        }
    }
}
