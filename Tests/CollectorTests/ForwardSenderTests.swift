import DurableIO
import Foundation
import Logging
import Prometheus
import RemoteWrite
import Storage
import Synchronization
import Testing
import TSDB

@testable import Collector

/// The forward sender's remote-write semantics against scripted answers: 5xx and 429 are
/// retried (honouring Retry-After), other 4xx are dropped and counted, and a record leaves the
/// queue only after a 2xx or such a final rejection. The real backends are in
/// EndToEndTests/RemoteStorageTests.
@Suite struct ForwardSenderTests {
    /// Answers from a script, then 204 for ever; remembers every body it was sent.
    final class ScriptedBackend: RemoteWriteSending {
        let url = "http://backend.invalid/api/v1/write"
        private let state: Mutex<(script: [RemoteWriteAnswer?], bodies: [[UInt8]], times: [ContinuousClock.Instant])>

        /// nil in the script: a transport error.
        init(_ script: [RemoteWriteAnswer?]) { state = Mutex((script, [], [])) }

        struct Refused: Error {}

        func send(_ body: [UInt8]) async throws -> RemoteWriteAnswer {
            let next: RemoteWriteAnswer?? = state.withLock { s in
                s.bodies.append(body)
                s.times.append(.now)
                return s.script.isEmpty ? .some(RemoteWriteAnswer(status: 204, message: "")) : s.script.removeFirst()
            }
            guard let answer = next, let a = answer else { throw Refused() }
            return a
        }

        var bodies: [[UInt8]] { state.withLock { $0.bodies } }
        var times: [ContinuousClock.Instant] { state.withLock { $0.times } }
    }

    struct Fixture {
        let dir: String
        let forward: ForwardQueue
        let sender: ForwardSender
        let metrics: ForwardMetrics
        let status: WriteBackendStatus
        let registry: PrometheusCollectorRegistry

        init(_ backend: ScriptedBackend, maxBytes: Int64 = 1 << 20) throws {
            dir = NSTemporaryDirectory() + "fleetscope-fwd-\(UUID().uuidString)"
            registry = PrometheusCollectorRegistry()
            metrics = ForwardMetrics(registry: registry)
            forward = try ForwardQueue(dataDir: dir, maxBytes: maxBytes, logger: Logger(label: "test"), metrics: metrics)
            status = WriteBackendStatus(writeURL: backend.url, metrics: metrics)
            var t = ForwardSender.Tuning()
            t.minBackoffMs = 1
            t.maxBackoffMs = 5
            sender = ForwardSender(queue: forward.queue, client: backend, status: status, metrics: metrics, tuning: t,
                                   logger: Logger(label: "test"), now: { Int64(Date().timeIntervalSince1970 * 1000) })
        }

        /// A metric's value from the exposition, summed over label sets.
        func metric(_ name: String) -> Double {
            var sum = 0.0
            for line in String(decoding: registry.emitToBuffer(), as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
                let key = line.split(separator: " ")[0]
                if key == name || key.hasPrefix(name + "{") { sum += Double(line.split(separator: " ").last!) ?? 0 }
            }
            return sum
        }

        func batch(_ n: Int) -> [SeriesSamples] {
            [SeriesSamples(labels: Labels([Label("__name__", "m"), Label("n", String(n))]), samples: [Sample(t: 1000 + Int64(n), v: Double(n))])]
        }

        /// Runs the sender until `done`, at most 10 s.
        func run(until done: @escaping @Sendable () async -> Bool) async throws {
            let task = Task { await sender.run() }
            let end = ContinuousClock.now + .seconds(10)
            var finished = false
            while ContinuousClock.now < end && !finished {
                finished = await done()
                if !finished { try await Task.sleep(for: .milliseconds(10)) }
            }
            task.cancel()
            // A cancelled sender ends promptly, without waiting for its next probe.
            await task.value
            if !finished { Issue.record("sender did not finish in time") }
        }

        func cleanup() async {
            await forward.queue.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func values(_ body: [UInt8]) throws -> [Double] {
        try WireDecoder.decode(Snappy.decompress(body)).timeseries.flatMap { $0.samples.map(\.v) }
    }

    @Test func retriesServerErrorsAndTooManyRequestsThenDeliversInOrder() async throws {
        let backend = ScriptedBackend([
            RemoteWriteAnswer(status: 503, message: "down"),
            nil,
            RemoteWriteAnswer(status: 429, retryAfter: "1", message: "slow down"),
        ])
        let f = try Fixture(backend)
        for n in 0..<3 { try await f.forward.append(f.batch(n), nowMs: 0) }
        try await f.run { await f.forward.queue.stats().pendingSamples == 0 }
        // The probe (empty body) comes first; then one batch, tried four times, the same bytes each time.
        let sent = backend.bodies.filter { (try? Self.values($0))?.isEmpty == false }
        #expect(sent.count == 4)
        #expect(Set(sent).count == 1)
        #expect(try Self.values(sent[0]) == [0, 1, 2])
        // Retry-After: 1 s was honoured between the 429 and the delivery.
        let t = backend.times
        #expect(t[t.count - 1] - t[t.count - 2] >= .milliseconds(950))
        #expect(f.metric("fleetscope_remote_storage_samples_sent_total") == 3)
        #expect(f.metric("fleetscope_remote_storage_retries_total") == 3)
        #expect(f.status.current.reachable == true)
        await f.cleanup()
    }

    @Test func otherClientErrorsAreDroppedAndCounted() async throws {
        let backend = ScriptedBackend([RemoteWriteAnswer(status: 400, message: "out of bounds")])
        let f = try Fixture(backend)
        try await f.forward.append(f.batch(7), nowMs: 0)
        try await f.run { await f.forward.queue.stats().pendingSamples == 0 }
        try await f.forward.append(f.batch(8), nowMs: 0)
        try await f.run { await f.forward.queue.stats().pendingSamples == 0 }
        let sent = backend.bodies.filter { (try? Self.values($0))?.isEmpty == false }
        // The rejected batch is not tried again; the next one goes through.
        #expect(try sent.map(Self.values) == [[7], [8]])
        #expect(f.metric("fleetscope_remote_storage_samples_sent_total") == 1)
        #expect(f.metric("fleetscope_remote_storage_retries_total") == 0)
        #expect(f.metric("fleetscope_remote_storage_samples_dropped_total") == 1)
        await f.cleanup()
    }

    @Test func anUnreachableBackendIsReportedAndNothingLeavesTheQueue() async throws {
        let backend = ScriptedBackend(Array(repeating: nil, count: 1_000_000))
        let f = try Fixture(backend)
        try await f.forward.append(f.batch(1), nowMs: Int64(Date().timeIntervalSince1970 * 1000) - 5_000)
        try await f.run { f.metric("fleetscope_remote_storage_retries_total") >= 5 }
        #expect(f.status.current.reachable == false)
        #expect(await f.forward.queue.stats().pendingSamples == 1)
        #expect(f.sender.oldestUnsentAgeSeconds() >= 4)
        await f.cleanup()
    }
}
