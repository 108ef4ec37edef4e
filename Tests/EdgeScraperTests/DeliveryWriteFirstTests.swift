import DurableIO
import Logging
import RemoteWrite
import Storage
import Synchronization
import Testing
@testable import EdgeScraper

/// Holds every fsync until `open()`: what a slow disk looks like to the queue.
final class FsyncGate: Sendable {
    private let state = Mutex<(open: Bool, held: [CheckedContinuation<Void, Never>], calls: Int)>((false, [], 0))

    var calls: Int { state.withLock { $0.calls } }

    var runner: SegmentedLog.FsyncRunner {
        { [self] fd in
            await withCheckedContinuation { c in
                let now = state.withLock { s -> Bool in
                    s.calls += 1
                    if s.open { return true }
                    s.held.append(c)
                    return false
                }
                if now { c.resume() }
            }
            return await SegmentedLog.fsyncInline(fd)
        }
    }

    func open() {
        let held = state.withLock { s in s.open = true; defer { s.held = [] }; return s.held }
        for c in held { c.resume() }
    }
}

func gatedQueue(_ dir: TempDir, _ gate: FsyncGate, sleep: @escaping DiskQueue.Sleeper = DiskQueue.taskSleep) throws -> DiskQueue {
    try DiskQueue(dir: dir.path, maxBytes: 1 << 20, whenFull: .dropOldest, setting: "queue.dir",
                  logger: Logger(label: "test"), fsync: gate.runner, sleep: sleep)
}

@Suite struct DeliveryWriteFirstTests {
    /// A scrape is written to every endpoint's queue before any fsync is waited for, so a kill -9
    /// during the first queue's fsync cannot leave it in that queue alone.
    @Test func everyEndpointHoldsTheScrapeWhileTheFirstFsyncRuns() async throws {
        let d1 = TempDir(), d2 = TempDir()
        defer { d1.cleanup(); d2.cleanup() }
        let gate = FsyncGate()
        let q1 = try gatedQueue(d1, gate), q2 = try gatedQueue(d2, gate)
        let sink = DeliverySink()
        sink.setEndpoints([.init(id: "a", rules: [], queue: q1), .init(id: "b", rules: [], queue: q2)])
        let done = Mutex(false)
        let producer = Task {
            try await sink.enqueue(EncodedBatch(queueBatch(7), key: 0))
            done.withLock { $0 = true }
        }
        // Both queues must show the record while every fsync is still held (bounded wait).
        var second: QueueRecord?
        for _ in 0..<500 where second == nil {
            second = await q2.poll()
            if second == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let first = await q1.poll()
        #expect(second != nil, "the second endpoint's queue was not written while the first one's fsync ran")
        #expect(first != nil)
        #expect(!done.withLock { $0 }, "enqueue returned before its fsyncs")
        #expect(try second.map { try decodeRecord($0).timeseries[0].samples[0].v } == 7)
        gate.open()
        try await producer.value
        #expect(gate.calls >= 2)
        await q1.close(); await q2.close()
    }

    /// The reader's batch-deadline wait goes through the queue's sleeper (the edge's: the event
    /// loop's timers) and gives up when it returns.
    @Test func timedWaitUsesTheSleeperAndEndsWithIt() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let asked = Mutex<[Duration]>([])
        let q = try gatedQueue(dir, FsyncGate(), sleep: { d in asked.withLock { $0.append(d) } })
        // Task.sleep would hold this for an hour; the sleeper returns at once.
        #expect(await q.next(waitingAtMost: .seconds(3600)) == nil)
        #expect(asked.withLock { $0 } == [.seconds(3600)])
        await q.close()
    }

    /// A record that arrives during the wait wakes the reader and cancels its timer, which would
    /// otherwise fire later for nothing.
    @Test func anArrivingRecordCancelsTheTimer() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let gate = FsyncGate()
        gate.open()
        let cancelled = Mutex(false)
        let q = try gatedQueue(dir, gate, sleep: { d in
            do { try await Task.sleep(for: d) } catch { cancelled.withLock { $0 = true } }
        })
        async let got = q.next(waitingAtMost: .seconds(3600))
        try await Task.sleep(for: .milliseconds(50))
        try await q.enqueue(queueBatch(5))
        let r = try #require(await got)
        #expect(try decodeRecord(r).timeseries[0].samples[0].v == 5)
        for _ in 0..<500 where !cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(cancelled.withLock { $0 })
        await q.close()
    }

    @Test func loopSleepConvertsDurationsWithoutTrapping() {
        #expect(DiskQueue.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        #expect(DiskQueue.nanoseconds(.nanoseconds(7)) == 7)
        #expect(DiskQueue.nanoseconds(.zero) == 0)
        #expect(DiskQueue.nanoseconds(.milliseconds(-3)) == 0)
        #expect(DiskQueue.nanoseconds(.seconds(Int64.max)) == .max)
    }
}

@Suite struct DeliverySinkMetadataTests {
    /// The latest metadata per family: a changed entry replaces the old one, an unchanged one stays,
    /// families without a name are ignored.
    @Test func latestPerFamily() {
        let sink = DeliverySink()
        sink.recordMetadata([MetricMetadata(type: .counter, family: "a", help: "one"), MetricMetadata(type: .gauge, family: "b")])
        sink.recordMetadata([MetricMetadata(type: .counter, family: "a", help: "two"), MetricMetadata(type: .gauge, family: "b"),
                             MetricMetadata(type: .gauge, family: "")])
        #expect(sink.metadataSnapshot() == [MetricMetadata(type: .counter, family: "a", help: "two"), MetricMetadata(type: .gauge, family: "b")])
    }
}
