import Glibc
import Logging
import Storage
import Testing
import DurableIO
@testable import TSDB

@Suite struct WALTests {
    func series(_ i: Int) -> Labels { lbls(["__name__": "m", "i": String(i)]) }

    /// Writes `batches` batches of 3 series × 5 samples each, one append per batch.
    func fill(_ db: TSDB, _ ref: MemoryStorage, batches: Range<Int>) async throws {
        for b in batches {
            var batch: [SeriesSamples] = []
            for i in 0..<3 {
                let samples = (0..<5).map { Sample(t: Int64(b * 5 + $0) * 1000, v: Double(b * 1000 + i * 10 + $0)) }
                batch.append(SeriesSamples(labels: series(i), samples: samples))
                for s in samples { ref.append(series(i), s.t, s.v) }
            }
            _ = try await db.append(batch)
        }
    }

    @Test func replayAfterClose() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let ref = MemoryStorage()
        do {
            let db = try openDB(dir)
            try await fill(db, ref, batches: 0..<20)
            // Special values must survive the WAL bit for bit.
            _ = try await db.append([SeriesSamples(labels: series(9), samples: [
                Sample(t: 1, v: StaleNaN.value), Sample(t: 2, v: -.infinity), Sample(t: 3, v: Double(bitPattern: 0x7ff8_0000_0000_1234))])])
            ref.append(series(9), 1, StaleNaN.value); ref.append(series(9), 2, -.infinity); ref.append(series(9), 3, Double(bitPattern: 0x7ff8_0000_0000_1234))
            try db.close()
        }
        let box = CapturingLogHandler.Box()
        var options = TSDBOptions()
        options.now = { 1_000_000 }  // the samples are from 1970
        let db = try TSDB.open(directory: dir.path, options: options, logger: Logger(label: "t", factory: { _ in CapturingLogHandler(box: box) }))
        #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
        #expect(box.lines.contains { $0.hasPrefix("replaying WAL segment 1/") })
        #expect(db.metrics.walCorruptionsRepaired == 0)
        // Appending after a restart continues the same series.
        let rep = try await db.append([SeriesSamples(labels: series(0), samples: [Sample(t: 1_000_000, v: 1)])])
        #expect(rep.accepted == 1)
        try db.close()
    }

    @Test func manySegmentsReplayInOrder() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let ref = MemoryStorage()
        do {
            let db = try openDB(dir) { $0.walSegmentSize = 120 }
            try await fill(db, ref, batches: 0..<40)
            try db.close()
        }
        #expect(try WAL.segments(in: dir.path + "/wal").count > 5)
        let db = try openDB(dir) { $0.walSegmentSize = 120 }
        #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
        try db.close()
    }

    func lastSegment(_ dir: TempDir) throws -> String {
        let segs = try WAL.segments(in: dir.path + "/wal")
        // The newest segment is the empty one opened on start; pick the last with data.
        for s in segs.reversed() {
            let p = dir.path + "/wal/" + WAL.segmentName(s)
            if FS.fileSize(p) > 0 { return p }
        }
        throw TSDBError.internalError("no WAL data")
    }

    func damage(_ dir: TempDir, _ how: (String) throws -> Void) async throws -> (MemoryStorage, TSDB) {
        let ref = MemoryStorage()
        let db = try openDB(dir)
        try await fill(db, ref, batches: 0..<10)
        try db.close()
        try how(try lastSegment(dir))
        let reopened = try openDB(dir)
        return (ref, reopened)
    }

    @Test func truncatedTailKeepsEarlierRecords() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var cutAt = 0
        let (_, db) = try await damage(dir) { path in
            let size = Int(FS.fileSize(path))
            cutAt = size - 7  // tears the last record
            #expect(truncate(path, off_t(cutAt)) == 0)
        }
        #expect(db.metrics.walCorruptionsRepaired == 1)
        // Batches 0..<9 survive whole, the torn last batch is gone.
        let got = try db.querier(mint: .min, maxt: .max).select([])
        #expect(got.count == 3)
        #expect(got.allSatisfy { $0.samples.count == 45 })
        // The repaired WAL replays cleanly the next time, with the new appends after it.
        _ = try await db.append([SeriesSamples(labels: series(0), samples: [Sample(t: 999_000, v: 5)])])
        try db.close()
        let db2 = try openDB(dir)
        #expect(db2.metrics.walCorruptionsRepaired == 0)
        let again = try db2.querier(mint: .min, maxt: .max).select([])
        #expect(again.map(\.samples.count) == [46, 45, 45])
        try db2.close()
    }

    @Test func garbageAppendedKeepsAllRecords() async throws {
        for garbage: [UInt8] in [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 4, 1, 2, 3, 4, 9, 9, 9, 9], (0..<100).map { UInt8($0 * 7 % 256) }, [1]] {
            let dir = TempDir(); defer { dir.cleanup() }
            let (ref, db) = try await damage(dir) { path in
                let fd = open(path, O_WRONLY | O_APPEND)
                _ = garbage.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            #expect(db.metrics.walCorruptionsRepaired == 1)
            #expect(try expectSameAnswers(db, ref, mint: .min, maxt: .max, matchers: [[]]))
            try db.close()
        }
    }

    @Test func flippedByteInTheMiddleCutsThere() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (_, db) = try await damage(dir) { path in
            var bytes = try FS.readFile(path)
            bytes[bytes.count / 2] ^= 0xff
            try FS.writeFileAtomically(path, bytes)
        }
        #expect(db.metrics.walCorruptionsRepaired == 1)
        let got = try db.querier(mint: .min, maxt: .max).select([])
        // Some prefix of the batches survives, each batch whole or not at all.
        let n = got.first?.samples.count ?? 0
        #expect(n > 0 && n < 50 && n % 5 == 0)
        try db.close()
    }

    @Test func concurrentAppendsAreAllDurable() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        let writers = 32, perWriter = 25
        try await withThrowingTaskGroup(of: Void.self) { g in
            for w in 0..<writers {
                g.addTask {
                    for k in 0..<perWriter {
                        let l = lbls(["__name__": "c", "writer": String(w), "k": String(k % 3)])
                        let rep = try await db.append([SeriesSamples(labels: l, samples: [Sample(t: Int64(k) * 1000, v: Double(w * 1000 + k))])])
                        #expect(rep.accepted == 1)
                    }
                }
            }
            try await g.waitForAll()
        }
        let m = db.metrics
        #expect(m.samplesAppended == writers * perWriter)
        // Group commit: fewer fsyncs than appends is typical but not guaranteed; never more.
        #expect(m.walFsyncs <= writers * perWriter + 1)
        // Simulate a crash: no close, just reopen from the same files.
        let db2 = try openDB(dir)
        let got = try db2.querier(mint: .min, maxt: .max).select([])
        #expect(got.reduce(0) { $0 + $1.samples.count } == writers * perWriter)
        for s in got {
            let w = Int(s.labels["writer"]!)!
            #expect(s.samples.allSatisfy { Int($0.v) / 1000 == w })
        }
        try db2.close()
        try db.close()
    }
}

@Suite struct WALAliasTests {
    /// The same labels logged under two refs (a series dropped and re-created before a crash)
    /// must come back as one series, and a later checkpoint must keep the samples of both refs.
    @Test func duplicateSeriesRecordsSurviveCheckpoint() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let h: Int64 = 3_600_000
        let a = lbls(["__name__": "m", "x": "a"])
        let b = lbls(["__name__": "m", "x": "b"])
        try FS.mkdirAll(dir.path + "/wal")
        var seg: [UInt8] = []
        func series(_ ref: UInt64, _ l: Labels) {
            var w = ByteWriter(); WALRecord.encodeSeries([(ref, l)], into: &w)
            WALRecord.frame(type: .series, payload: w.bytes, into: &seg)
        }
        func sample(_ ref: UInt64, _ t: Int64, _ v: Double) {
            var w = WALRecord.SamplesWriter(); w.add(ref, t, v)
            WALRecord.frame(type: .samples, payload: w.w.bytes, into: &seg)
        }
        series(5, a); sample(5, 1000, 1)
        series(9, a); sample(9, 2000, 2); sample(9, 4 * h + h / 2, 3)
        series(7, b); sample(7, 3000, 4)
        try FS.writeFileAtomically(dir.path + "/wal/00000001", seg)

        let db = try openDB(dir, clock: TestClock(5 * h))
        #expect(db.metrics.headSeries == 2)
        // A new series must not take ref 9, which the old segment still uses for `a`.
        _ = try await db.append([SeriesSamples(labels: lbls(["__name__": "m", "x": "c"]), samples: [Sample(t: 5 * h, v: 5)])])
        _ = try await db.append([SeriesSamples(labels: a, samples: [Sample(t: 5 * h, v: 6)])])
        try db.maintain()  // cuts before 4h and checkpoints the first segments
        #expect(db.metrics.blocks == 1)
        // Crash-reopen: the checkpoint plus later segments must still hold a's 4.5h sample.
        let db2 = try openDB(dir)
        let got = try db2.querier(mint: .min, maxt: .max).select([.equal("x", "a")])
        #expect(got.first?.samples.map(\.t) == [1000, 2000, 4 * h + h / 2, 5 * h])
        let c = try db2.querier(mint: .min, maxt: .max).select([.equal("x", "c")])
        #expect(c.first?.samples.map(\.v) == [5])
        try db2.close()
        try db.close()
    }
}

@Suite struct CheckpointDamageTests {
    @Test func damagedCheckpointStillOpens() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let h: Int64 = 3_600_000
        let db = try openDB(dir, clock: TestClock(5 * h))
        for k in 0..<40 {
            _ = try await db.append((0..<5).map { SeriesSamples(labels: lbls(["__name__": "c", "i": String($0)]), samples: [Sample(t: Int64(k) * h / 8, v: Double(k))]) })
        }
        try db.maintain()
        _ = try await db.append([SeriesSamples(labels: lbls(["__name__": "c", "i": "0"]), samples: [Sample(t: 6 * h, v: 99)])])
        try db.close()
        let cps = try WAL.checkpoints(in: dir.path + "/wal")
        #expect(cps.count == 1)
        let path = dir.path + "/wal/" + WAL.checkpointName(cps[0])
        var bytes = try FS.readFile(path)
        #expect(bytes.count > 20)
        bytes[bytes.count - 3] ^= 0xff
        try FS.writeFileAtomically(path, bytes)
        let db2 = try openDB(dir)
        #expect(db2.metrics.walCorruptionsRepaired == 1)
        // Blocks are untouched and the segment after the checkpoint still replays.
        let got = try db2.querier(mint: .min, maxt: .max).select([.equal("i", "0")])
        #expect(got.first?.samples.last?.v == 99)
        #expect(got.first?.samples.first?.t == 0)
        try db2.close()
    }
}
