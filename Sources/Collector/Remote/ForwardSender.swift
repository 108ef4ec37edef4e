import DurableIO
import Logging
import RemoteWrite
import Synchronization

/// Ships the forward queue to `storage.remote.write_url`, oldest first, one request at a time
/// (so every series reaches the backend in order, which receivers without an out-of-order
/// window need), with the remote-write retry semantics the edge's sender has
/// (`RemoteWriteProtocol.outcome`, `RetryPolicy`): 5xx, 429 and transport errors are retried
/// forever with exponential backoff or the server's `Retry-After`; other 4xx are dropped and
/// counted. A record leaves the queue only after its request got a 2xx or a final 4xx.
///
/// At least once: a record sent but not yet acknowledged when the collector dies (or whose
/// acknowledgement had not reached the queue's cursor file) is sent again after the restart.
/// Remote-write receivers take a repeated sample as a duplicate of the same value.
final class ForwardSender: Sendable {
    struct Tuning: Sendable {
        /// Records are packed into requests of about this many samples (whole records).
        var maxSamplesPerSend = 10_000
        /// Prometheus' remote-write defaults.
        var minBackoffMs: Int64 = 30
        var maxBackoffMs: Int64 = 5_000
        /// With nothing to send, the backend is probed this often (an empty WriteRequest).
        var probeInterval: Duration = .seconds(10)
    }

    let queue: DiskQueue
    let client: any RemoteWriteSending
    let status: WriteBackendStatus
    let metrics: ForwardMetrics
    let tuning: Tuning
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Append time (Unix seconds) of the oldest record not yet delivered; 0 when none waits.
    private let oldestUnsentSec = Atomic<Int64>(0)

    init(queue: DiskQueue, client: any RemoteWriteSending, status: WriteBackendStatus, metrics: ForwardMetrics,
         tuning: Tuning = Tuning(), logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.queue = queue
        self.client = client
        self.status = status
        self.metrics = metrics
        self.tuning = tuning
        self.logger = logger
        self.now = now
    }

    /// Seconds since the oldest undelivered sample was queued (0: nothing waiting).
    func oldestUnsentAgeSeconds() -> Double {
        let t = oldestUnsentSec.load(ordering: .relaxed)
        return t == 0 ? 0 : max(Double(now()) / 1000 - Double(t), 0)
    }

    /// Runs until cancelled or the queue is closed. Undelivered records stay queued.
    func run() async {
        let queue = self.queue
        // A sender waiting for records must notice its cancellation now, not at the next probe.
        await withTaskCancellationHandler {
            await loop()
        } onCancel: {
            Task { await queue.interruptReaders() }
        }
    }

    private func loop() async {
        var probeDue = true
        while !Task.isCancelled {
            oldestUnsentSec.store(0, ordering: .relaxed)
            guard let first = await queue.next(waitingAtMost: probeDue ? .zero : tuning.probeInterval) else {
                if await queue.isClosed || Task.isCancelled { return }
                await probe()
                probeDue = false
                continue
            }
            probeDue = false
            oldestUnsentSec.store(Int64(first.key), ordering: .relaxed)
            var batch = [first]
            var samples = first.samples
            while samples < tuning.maxSamplesPerSend, let r = await queue.poll() {
                batch.append(r)
                samples += r.samples
            }
            guard await deliver(batch, samples: samples) else { return }
        }
    }

    /// Sends one batch until delivered or rejected for good, then acknowledges it.
    /// False when cancelled first (the batch stays queued).
    func deliver(_ batch: [QueueRecord], samples: Int) async -> Bool {
        let body: [UInt8]
        do {
            body = try WriteRecords.merge(batch.map(\.payload))
        } catch {
            logger.error("remote storage: a queued batch cannot be read (\(error)); dropping \(samples) samples")
            metrics.dropped("queue_corrupt", samples)
            for r in batch { await queue.ack(r.position) }
            return true
        }
        var attempt = 0
        while !Task.isCancelled {
            var retryAfter: String?
            let why: String
            do {
                let a = try await client.send(body)
                metrics.request(code: a.status)
                status.answered(status: a.status, nowMs: now())
                switch RemoteWriteProtocol.outcome(status: a.status) {
                case .delivered:
                    metrics.samplesSent.increment(by: Int64(samples))
                    metrics.bytesSent.increment(by: Int64(body.count))
                    for r in batch { await queue.ack(r.position) }
                    return true
                case .rejected:
                    logger.error("remote storage: \(client.url) rejected a batch with HTTP \(a.status); dropping it (retrying cannot help)",
                                 metadata: ["samples": "\(samples)", "server_message": "\(a.message)"])
                    metrics.dropped("rejected", samples)
                    for r in batch { await queue.ack(r.position) }
                    return true
                case .retry:
                    retryAfter = a.retryAfter
                    why = "HTTP \(a.status): \(a.message)"
                }
            } catch {
                metrics.request(code: 0)
                status.failed("\(error)")
                why = "\(error)"
            }
            let delay = RetryPolicy.delay(attempt: attempt, minBackoff: tuning.minBackoffMs, maxBackoff: tuning.maxBackoffMs,
                                          retryAfter: retryAfter, nowMillis: now(), jitter: Double.random(in: 0..<1))
            attempt += 1
            metrics.retries.increment()
            // The first failure, then every tenth: a long outage must not flood the log.
            if attempt == 1 || attempt % 10 == 0 {
                logger.warning("remote storage: \(client.url): \(why); retrying", metadata: [
                    "attempt": "\(attempt)", "delay_ms": "\(delay)", "samples": "\(samples)"])
            }
            do { try await Task.sleep(for: .milliseconds(delay)) } catch { return false }
        }
        return false
    }

    /// An empty WriteRequest: it exercises the very path writes take, stores nothing, and any
    /// HTTP answer means the backend is there.
    func probe() async {
        do {
            let a = try await client.send(WireEncoder.encodeCompressed(WriteRequest()))
            status.answered(status: a.status, nowMs: now())
        } catch {
            status.failed("\(error)")
        }
    }
}
