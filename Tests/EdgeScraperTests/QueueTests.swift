import DurableIO
import Glibc
import RemoteWrite
import Storage
import Testing
@testable import EdgeScraper

/// A fresh directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String

    init(_ prefix: String = "edgeq") {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }

    func cleanup() {
        if let names = try? FS.list(path) {
            for n in names { unlink(path + "/" + n) }
        }
        rmdir(path)
    }

    func files() -> [String] { ((try? FS.list(path)) ?? []).sorted() }
}

/// One series `m{job="j", instance="i", n="<n>"}` with one sample; its value tags the batch.
func queueBatch(_ n: Int, samples: Int = 1, t: Int64 = 1_000) -> [TimeSeries] {
    (0..<samples).map { i in
        TimeSeries(labels: [Label("__name__", "m"), Label("instance", "i"), Label("job", "j"), Label("n", String(i))],
                   samples: [Sample(t: t + Int64(n), v: Double(n))])
    }
}

func decodeRecord(_ r: QueueRecord) throws -> WriteRequest {
    try WireDecoder.decode(Snappy.decompress(r.payload))
}

/// Tags of records read until the queue has nothing more right now.
func drainTags(_ q: DiskQueue, ack: Bool) async throws -> [Int] {
    var out: [Int] = []
    while let r = await q.poll() {
        let req = try decodeRecord(r)
        out.append(Int(req.timeseries[0].samples[0].v))
        if ack { await q.ack(r.position) }
    }
    return out
}

@Suite struct DiskQueueTests {
    @Test func roundTripsSeriesThroughTheWireFormat() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        let series = [
            TimeSeries(labels: [Label("__name__", "up"), Label("job", "node")], samples: [Sample(t: 5, v: 1)]),
            TimeSeries(labels: [Label("__name__", "x"), Label("job", "node")],
                       samples: [Sample(t: 5, v: StaleNaN.value), Sample(t: 6, v: -2.5)]),
        ]
        try await q.enqueue(series)
        let r = try #require(await q.poll())
        #expect(r.samples == 3)
        #expect(try decodeRecord(r).timeseries == series)
        #expect(await q.poll() == nil)
        await q.close()
    }

    @Test func splitsLargeBatchesIntoRecordsOfBoundedSize() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20, maxSamplesPerRecord: 100)
        var long = TimeSeries(labels: [Label("__name__", "backfill")], samples: [])
        for t in 0..<250 { long.samples.append(Sample(t: Int64(t), v: Double(t))) }
        try await q.enqueue(queueBatch(0, samples: 130) + [long])
        var counts: [Int] = []
        var backfill: [Sample] = []
        while let r = await q.poll() {
            counts.append(r.samples)
            for ts in try decodeRecord(r).timeseries where ts.labels[0].value == "backfill" { backfill += ts.samples }
        }
        #expect(counts == [100, 100, 100, 80])
        #expect(backfill.map(\.t) == (0..<250).map { Int64($0) })
        await q.close()
    }

    @Test func keepsOrderAcrossSegmentsAndResumesAfterRestart() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20, segmentBytes: 4096)
            for i in 0..<200 { try await q.enqueue(queueBatch(i, samples: 3)) }
            #expect(await q.stats().segments > 3)
            // Read and acknowledge the first 50 batches only.
            for _ in 0..<50 {
                let r = try #require(await q.poll())
                await q.ack(r.position)
            }
            #expect(await q.stats().pendingSamples == 150 * 3)
            await q.close()
        }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20, segmentBytes: 4096)
        #expect(await q.stats().pendingSamples == 150 * 3)
        let rest = try await drainTags(q, ack: true)
        #expect(rest == Array(50..<200))
        #expect(await q.stats().pendingSamples == 0)
        // Acknowledged segments are deleted: only the current one (and the cursor) remain.
        #expect(await q.stats().segments == 1)
        #expect(dir.files().filter { $0.hasSuffix(".seg") }.count == 1)
        await q.close()
    }

    @Test func outOfOrderAcksDoNotMoveTheCursorPastUnacknowledgedRecords() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
            for i in 0..<5 { try await q.enqueue(queueBatch(i)) }
            var recs: [QueueRecord] = []
            while let r = await q.poll() { recs.append(r) }
            // 0, 2, 3 delivered; 1 still in flight when the process dies; 4 never finished.
            await q.ack(recs[0].position)
            await q.ack(recs[3].position)
            await q.ack(recs[2].position)
            await q.close()
        }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        // Everything from the oldest unacknowledged record on comes again (at-least-once).
        #expect(try await drainTags(q, ack: false) == [1, 2, 3, 4])
        await q.close()
    }

    @Test func unclosedQueueResumesAsAfterKill9() async throws {
        // No close(): the actor and its descriptors are simply abandoned, like a SIGKILL.
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20, segmentBytes: 4096)
            for i in 0..<60 { try await q.enqueue(queueBatch(i, samples: 2)) }
            for _ in 0..<10 { let r = try #require(await q.poll()); await q.ack(r.position) }
        }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20, segmentBytes: 4096)
        #expect(try await drainTags(q, ack: false) == Array(10..<60))
        await q.close()
    }

    @Test func tornTailIsCutAtTheLastGoodRecord() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
            for i in 0..<10 { try await q.enqueue(queueBatch(i, samples: 5)) }
            await q.close()
        }
        // Cut the last record in half: a crash in the middle of write(2).
        let seg = try #require(dir.files().filter { $0.hasSuffix(".seg") }.first)
        let path = dir.path + "/" + seg
        let fd = open(path, O_RDWR)
        let size = FS.size(of: fd)
        #expect(ftruncate(fd, off_t(size - 7)) == 0)
        close(fd)
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        #expect(await q.stats().pendingSamples == 9 * 5)
        #expect(try await drainTags(q, ack: true) == Array(0..<9))
        // New appends after recovery are readable after the cut.
        try await q.enqueue(queueBatch(100))
        #expect(try await drainTags(q, ack: true) == [100])
        await q.close()
    }

    @Test func garbledTailIsCutAndEarlierRecordsSurvive() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
            for i in 0..<10 { try await q.enqueue(queueBatch(i, samples: 5)) }
            await q.close()
        }
        let seg = try #require(dir.files().filter { $0.hasSuffix(".seg") }.first)
        let path = dir.path + "/" + seg
        let fd = open(path, O_RDWR)
        let size = FS.size(of: fd)
        // Flip bytes inside the last record's payload, then append junk as a half-written header.
        try FS.pwriteAll(fd, [0xDE, 0xAD, 0xBE, 0xEF], at: size - 10, path: path)
        try FS.pwriteAll(fd, [0x07, 0x00, 0x00], at: size, path: path)
        close(fd)
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        #expect(try await drainTags(q, ack: true) == Array(0..<9))
        await q.close()
    }

    @Test func damagedCursorMeansResendNotLoss() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
            for i in 0..<4 { try await q.enqueue(queueBatch(i)) }
            let r = try #require(await q.poll())
            await q.ack(r.position)
            await q.close()
        }
        let fd = open(dir.path + "/cursor", O_RDWR)
        try FS.pwriteAll(fd, [1, 2, 3], at: 6, path: "cursor")
        close(fd)
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        #expect(try await drainTags(q, ack: false) == [0, 1, 2, 3])
        await q.close()
    }

    @Test func overBudgetDropsTheOldestAndCountsIt() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let budget: Int64 = 32 << 10
        let q = try DiskQueue(dir: dir.path, maxBytes: budget, segmentBytes: 4096)
        let n = 1000
        for i in 0..<n { try await q.enqueue(queueBatch(i, samples: 10)) }
        let st = await q.stats()
        #expect(st.bytes <= budget)
        #expect(st.droppedFull > 0)
        // Every appended sample is either still queued or counted as dropped.
        #expect(st.pendingSamples + st.droppedFull == n * 10)
        let kept = try await drainTags(q, ack: true)
        // What is left is the newest data, contiguous and in order.
        #expect(kept.last == n - 1)
        #expect(kept == Array((n - kept.count)..<n))
        #expect(kept.count * 10 == st.pendingSamples)
        await q.close()
    }

    @Test func droppingTheSegmentBeingReadSkipsToTheOldestKeptRecord() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 32 << 10, segmentBytes: 4096)
        for i in 0..<5 { try await q.enqueue(queueBatch(i, samples: 10)) }
        // Two records handed to the sender, not yet acknowledged.
        let a = try #require(await q.poll())
        let b = try #require(await q.poll())
        for i in 5..<300 { try await q.enqueue(queueBatch(i, samples: 10)) }
        let st = await q.stats()
        #expect(st.droppedFull > 0)
        // In-flight records are still acknowledged normally and then leave the pending count.
        await q.ack(a.position)
        await q.ack(b.position)
        let kept = try await drainTags(q, ack: true)
        #expect(kept == Array((300 - kept.count)..<300))
        let end = await q.stats()
        #expect(end.pendingSamples == 0)
        #expect(end.droppedFull + 20 + kept.count * 10 == 300 * 10)
        await q.close()
    }

    @Test func rewindHandsOutUnacknowledgedRecordsAgain() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        for i in 0..<4 { try await q.enqueue(queueBatch(i, samples: 2)) }
        var recs: [QueueRecord] = []
        for _ in 0..<3 { recs.append(try #require(await q.poll())) }
        await q.ack(recs[0].position)
        await q.ack(recs[2].position)
        // A new sender takes over: 1 was in flight, 2 was acknowledged behind it.
        await q.rewind()
        #expect(await q.stats().pendingSamples == 3 * 2)
        #expect(try await drainTags(q, ack: true) == [1, 2, 3])
        #expect(await q.stats().pendingSamples == 0)
        await q.close()
    }

    @Test func oneQueuePerDirectory() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        #expect(throws: DurableQueueError.self) { _ = try DiskQueue(dir: dir.path, maxBytes: 1 << 20) }
        await q.close()
        let again = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        await again.close()
    }

    @Test func nextWaitsForAnAppend() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        async let got = q.next()
        try await Task.sleep(for: .milliseconds(50))
        try await q.enqueue(queueBatch(42))
        let r = try #require(await got)
        #expect(try decodeRecord(r).timeseries[0].samples[0].v == 42)
        await q.close()
    }

    @Test func concurrentProducersShareFsyncsAndLoseNothing() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let metrics = QueueMetrics()
        let q = try DiskQueue(dir: dir.path, maxBytes: 64 << 20, metrics: metrics)
        try await withThrowingTaskGroup(of: Void.self) { g in
            for p in 0..<8 {
                g.addTask { for i in 0..<50 { try await q.enqueue(queueBatch(p * 1000 + i, samples: 20)) } }
            }
            try await g.waitForAll()
        }
        let got = try await drainTags(q, ack: true)
        #expect(got.count == 400)
        #expect(Set(got).count == 400)
        // Each producer's own batches stay in its order.
        for p in 0..<8 {
            let mine = got.filter { $0 / 1000 == p }
            #expect(mine == mine.sorted())
        }
        #expect(metrics.fsyncs.get < 400)
        await q.close()
    }

    @Test func crc32cMatchesKnownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }
}
