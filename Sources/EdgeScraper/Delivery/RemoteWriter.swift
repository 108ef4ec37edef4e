import DurableIO
import Glibc
import Logging
import RemoteWrite
import Synchronization

/// Sends the queue's records to one remote-write endpoint, like Prometheus' queue manager:
/// records are spread over `max_shards` shards by stream key (so every series stays on one
/// shard and in order on the wire), each shard packs records into requests of at most
/// `max_samples_per_send` samples or whatever arrived within `batch_send_deadline`, and sends
/// one request at a time, retrying 5xx/429/transport errors with exponential backoff and
/// jitter, honouring `Retry-After`. Other 4xx are dropped and counted. A record leaves the
/// queue only after its request got a 2xx (or a final rejection).
///
/// Order: the queue is read oldest-first, so after an outage the backlog goes out before the
/// fresh data that keeps arriving behind it. Fresh data is not sent ahead of the backlog on
/// purpose: receivers without an out-of-order window (Prometheus 2.42) reject a series'
/// older samples once a newer one is stored, so jumping ahead would lose the backlog there.
/// `max_shards` concurrent requests keep the catch-up fast instead.
public final class RemoteWriter: Sendable {
    public let config: RemoteWriteConfig
    private let queue: DiskQueue
    private let transport: any HTTPTransport
    private let logger: Logger
    private let metrics: RemoteWriteMetrics
    private let clockSkew: ClockSkewMonitor
    /// Set at shutdown: partial batches go out at once instead of after batch_send_deadline.
    private let draining = Atomic<Bool>(false)

    /// Where the metric metadata to send comes from (nil: none is sent).
    let metadataSource: (@Sendable () -> [MetricMetadata])?
    /// Prometheus' `metadata_config.send_interval` and `max_samples_per_send` defaults.
    static let metadataIntervalMs: Int64 = 60_000
    static let metadataPerSend = 500

    public init(config: RemoteWriteConfig, queue: DiskQueue, transport: any HTTPTransport,
                logger: Logger = Logger(label: "edge.remote-write"), metrics: RemoteWriteMetrics = RemoteWriteMetrics(),
                metadataSource: (@Sendable () -> [MetricMetadata])? = nil) {
        self.metadataSource = metadataSource
        self.config = config
        self.queue = queue
        self.transport = transport
        self.logger = logger
        self.metrics = metrics
        clockSkew = ClockSkewMonitor(gauge: metrics.clockSkew, logger: logger, url: config.url)
    }

    var maxPerSend: Int { max(config.queueConfig.maxSamplesPerSend, 1) }

    /// Runs until the task is cancelled. Unacknowledged records stay on disk for the next start.
    public func run() async {
        let shardCount = max(config.queueConfig.maxShards, 1)
        metrics.shards.set(shardCount)
        let inboxes = (0..<shardCount).map { _ in Handoff<[QueueRecord]>() }
        let queue = self.queue
        await queue.rewind()
        // Metric metadata on its own timer, ended with the writer.
        let metadataTask = metadataSource == nil ? nil : Task { await self.metadataLoop() }
        defer { metadataTask?.cancel() }
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                for inbox in inboxes {
                    group.addTask {
                        while let batch = await inbox.take() {
                            if Task.isCancelled { break }
                            await self.deliver(batch)
                        }
                    }
                }
                await self.dispatch(inboxes)
                for inbox in inboxes { await inbox.close() }
                await group.waitForAll()
            }
        } onCancel: {
            Task {
                await queue.interruptReaders()
                for inbox in inboxes { await inbox.close() }
            }
        }
    }

    /// At shutdown: sends what is queued without waiting for batch deadlines, for at most
    /// `timeout`. Returns whether the queue is empty; what is left is sent after the restart.
    public func drain(timeout: Duration) async -> Bool {
        draining.store(true, ordering: .relaxed)
        await queue.interruptReaders()
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if await queue.stats().pendingSamples == 0 { return true }
            try? await Task.sleep(for: .milliseconds(20))
            await queue.interruptReaders()
        }
        return await queue.stats().pendingSamples == 0
    }

    /// Reads the queue in order and hands each shard full batches, or partial ones once the
    /// oldest record in them has waited `batch_send_deadline`.
    private func dispatch(_ inboxes: [Handoff<[QueueRecord]>]) async {
        let n = inboxes.count
        let deadline = Duration.milliseconds(max(config.queueConfig.batchSendDeadline, 1))
        let clock = ContinuousClock()
        var pending = Array(repeating: [QueueRecord](), count: n)
        var samples = Array(repeating: 0, count: n)
        var since = Array(repeating: clock.now, count: n)

        func flush(_ s: Int) async {
            guard !pending[s].isEmpty else { return }
            let b = pending[s]
            pending[s] = []
            samples[s] = 0
            await inboxes[s].put(b)
        }

        while !Task.isCancelled {
            var wait: Duration?
            let flushAll = draining.load(ordering: .relaxed)
            for s in 0..<n where !pending[s].isEmpty {
                let left = flushAll ? .zero : since[s] + deadline - clock.now
                wait = min(wait ?? left, left)
            }
            if let w = wait, w <= .zero {
                for s in 0..<n where !pending[s].isEmpty && (flushAll || since[s] + deadline <= clock.now) { await flush(s) }
                continue
            }
            guard let rec = await queue.next(waitingAtMost: wait) else {
                if await queue.isClosed { break }
                continue
            }
            let s = Int(rec.key % UInt32(n))
            if samples[s] + rec.samples > maxPerSend { await flush(s) }
            if pending[s].isEmpty { since[s] = clock.now }
            pending[s].append(rec)
            samples[s] += rec.samples
            if samples[s] >= maxPerSend { await flush(s) }
        }
    }

    /// Sends one batch until it is delivered or rejected for good, then acknowledges it.
    func deliver(_ batch: [QueueRecord]) async {
        let samples = batch.reduce(0) { $0 + $1.samples }
        let body: [UInt8]
        do {
            body = try RemoteWriter.merge(batch)
        } catch {
            logger.error("remote-write: a queued batch cannot be read (\(error)); dropping \(samples) samples")
            metrics.dropped(reason: "queue_corrupt", samples)
            for r in batch { await queue.ack(r.position) }
            return
        }
        var attempt = 0
        while !Task.isCancelled {
            let headers = requestHeaders()
            let started = DeliveryClock.monotonicNanos()
            var retryAfter: String?
            var why: String
            do {
                let resp = try await transport.send(HTTPRequest(method: "POST", url: config.url, headers: headers, body: body,
                                                                tls: config.tls, timeout: config.remoteTimeout))
                metrics.request(code: resp.status)
                clockSkew.observe(dateHeader: resp.header("Date"), localMillis: DeliveryClock.nowMillis())
                switch RemoteWriteProtocol.outcome(status: resp.status) {
                case .delivered:
                    metrics.latency.observe(Double(DeliveryClock.monotonicNanos() - started) / 1e9)
                    metrics.sent.inc(samples)
                    metrics.wireBytes.inc(body.count)
                    metrics.lastSuccess.set(Double(DeliveryClock.nowMillis()) / 1000)
                    for r in batch { await queue.ack(r.position) }
                    return
                case .rejected:
                    metrics.wireBytes.inc(body.count)
                    logger.error("remote-write: \(config.url) rejected a batch with HTTP \(resp.status); dropping it (retrying cannot help)", metadata: [
                        "samples": "\(samples)", "server_message": "\(RemoteWriter.message(resp.body))"])
                    metrics.dropped(reason: "rejected", samples)
                    for r in batch { await queue.ack(r.position) }
                    return
                case .retry:
                    metrics.wireBytes.inc(body.count)
                    retryAfter = resp.header("Retry-After")
                    why = "HTTP \(resp.status): \(RemoteWriter.message(resp.body))"
                }
            } catch {
                metrics.request(code: 0)
                why = "\(error)"
            }
            let delay = RetryPolicy.delay(attempt: attempt, minBackoff: config.queueConfig.minBackoff,
                                          maxBackoff: config.queueConfig.maxBackoff, retryAfter: retryAfter,
                                          nowMillis: DeliveryClock.nowMillis(), jitter: Double.random(in: 0..<1))
            attempt += 1
            metrics.retries.inc()
            // First failure at warning, then every tenth, so a long outage does not flood the log.
            if attempt == 1 || attempt % 10 == 0 {
                logger.warning("remote-write: \(config.url): \(why); retrying", metadata: [
                    "attempt": "\(attempt)", "delay_ms": "\(delay)", "samples": "\(samples)"])
            }
            do { try await Task.sleep(for: .milliseconds(delay)) } catch { return }
        }
    }

    /// One request body for several records: protobuf messages concatenate into one with the
    /// repeated fields joined, so only snappy is undone and redone, never protobuf.
    static func merge(_ batch: [QueueRecord]) throws -> [UInt8] {
        try WriteRecords.merge(batch.map(\.payload))
    }

    static func message(_ body: [UInt8]) -> String {
        var s = String(decoding: body.prefix(512), as: UTF8.self)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s.isEmpty ? "(empty body)" : s
    }

    func authorizationHeader(_ auth: HTTPAuth) throws -> String? {
        switch auth {
        case .none:
            return nil
        case .bearer(let credentials, let file, let type):
            if let file { return "\(type) \(try readSecret(file))" }
            return credentials.map { "\(type) \($0)" }
        case .basic(let user, let password, let file):
            let pw = try file.map(readSecret) ?? password ?? ""
            return "Basic " + base64("\(user):\(pw)")
        }
    }
}

/// Re-read on every use so rotated tokens take effect without a reload, as in Prometheus.
func readSecret(_ path: String) throws -> String {
    let fd = try FS.open(path, O_RDONLY)
    defer { close(fd) }
    let bytes = try FS.pread(fd, 64 << 10, at: 0, path: path)
    var s = String(decoding: bytes, as: UTF8.self)
    while let l = s.last, l.isWhitespace { s.removeLast() }
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    return s
}

/// A one-slot handoff between the dispatcher and a shard: `put` waits while the shard still
/// has an unsent batch, which bounds memory and pushes back on reading the queue.
actor Handoff<T: Sendable> {
    private var item: T?
    private var putWaiters: [CheckedContinuation<Void, Never>] = []
    private var taker: CheckedContinuation<T?, Never>?
    private var closed = false

    func put(_ x: T) async {
        while item != nil && !closed { await withCheckedContinuation { putWaiters.append($0) } }
        if closed { return }
        if let t = taker {
            taker = nil
            t.resume(returning: x)
        } else {
            item = x
        }
    }

    func take() async -> T? {
        if let x = item {
            item = nil
            if !putWaiters.isEmpty { putWaiters.removeFirst().resume() }
            return x
        }
        if closed { return nil }
        return await withCheckedContinuation { taker = $0 }
    }

    func close() {
        closed = true
        taker?.resume(returning: nil)
        taker = nil
        for w in putWaiters { w.resume() }
        putWaiters = []
    }
}

public struct RemoteWriteMetrics: Sendable {
    public var sent: Counter
    public var wireBytes: Counter
    public var retries: Counter
    public var latency: Histogram
    public var shards: Gauge
    public var lastSuccess: Gauge
    public var clockSkew: Gauge
    private var registry: MetricsRegistry?
    private var remote: String
    private var detachedDrops: Counter

    public init() {
        sent = Counter(); wireBytes = Counter(); retries = Counter()
        latency = Histogram(bounds: [0.1, 1]); shards = Gauge(); lastSuccess = Gauge(); clockSkew = Gauge()
        registry = nil; remote = ""; detachedDrops = Counter()
    }

    public init(registry: MetricsRegistry, remote: String) {
        let l = [("remote_name", remote)]
        sent = registry.counter("edge_scraper_samples_sent_total", "Samples acknowledged by the remote-write receiver.", l)
        wireBytes = registry.counter("edge_scraper_remote_sent_bytes_total", "Compressed request body bytes put on the wire.", l)
        retries = registry.counter("edge_scraper_remote_retries_total", "Remote-write requests retried after 5xx, 429 or a transport error.", l)
        latency = registry.histogram("edge_scraper_remote_send_duration_seconds", "Duration of successful remote-write requests.", l)
        shards = registry.gauge("edge_scraper_remote_shards", "Concurrent remote-write shards.", l)
        lastSuccess = registry.gauge("edge_scraper_remote_last_success_timestamp_seconds", "Time of the last 2xx from the receiver.", l)
        clockSkew = registry.gauge("edge_scraper_clock_skew_seconds", "How far this machine's clock is ahead of the receiver's (its Date header; negative: behind).", l)
        self.registry = registry
        self.remote = remote
        detachedDrops = Counter()
    }

    func dropped(reason: String, _ samples: Int) {
        guard let registry else { detachedDrops.inc(samples); return }
        registry.counter("edge_scraper_samples_dropped_total", "Samples dropped before delivery, by reason.",
                         [("remote_name", remote), ("reason", reason)]).inc(samples)
    }

    var droppedDetached: Double { detachedDrops.get }

    func request(code: Int) {
        guard let registry else { return }
        registry.counter("edge_scraper_remote_requests_total", "Remote-write requests by HTTP status (0: no response).",
                         [("remote_name", remote), ("code", String(code))]).inc()
    }
}

/// Metric metadata over remote-write, as Prometheus' agent sends it: every minute, the latest
/// TYPE/HELP/UNIT of every family scraped, in WriteRequests that hold only metadata (500 per
/// request). Best effort: a failed send is logged and retried at the next interval, never queued.
extension RemoteWriter {
    /// Remote-write 1.0 headers with the endpoint's credentials (read anew each time: files rotate).
    func requestHeaders() -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Content-Encoding", RemoteWriteProtocol.contentEncoding),
            ("Content-Type", RemoteWriteProtocol.contentType),
            (RemoteWriteProtocol.versionHeader, RemoteWriteProtocol.version),
            ("User-Agent", "fleetscope-edge-scraper/\(EdgeScraperVersion.current)"),
        ]
        do {
            if let auth = try authorizationHeader(config.auth) { headers.append(("Authorization", auth)) }
        } catch {
            logger.error("remote-write: \(error); sending without credentials")
        }
        return headers
    }

    func metadataLoop() async {
        while !Task.isCancelled {
            // The first round a little after start, once the first scrapes are in.
            try? await Task.sleep(for: .milliseconds(Self.metadataIntervalMs / 6))
            if Task.isCancelled { return }
            await sendMetadata()
            try? await Task.sleep(for: .milliseconds(Self.metadataIntervalMs * 5 / 6))
        }
    }

    func sendMetadata() async {
        guard let all = metadataSource?(), !all.isEmpty else { return }
        let headers = requestHeaders()
        for start in stride(from: 0, to: all.count, by: Self.metadataPerSend) {
            let body = WireEncoder.encodeCompressed(WriteRequest(metadata: Array(all[start..<min(start + Self.metadataPerSend, all.count)])))
            do {
                let resp = try await transport.send(HTTPRequest(method: "POST", url: config.url, headers: headers, body: body,
                                                                tls: config.tls, timeout: config.remoteTimeout))
                guard case .delivered = RemoteWriteProtocol.outcome(status: resp.status) else {
                    logger.warning("remote-write: \(config.url) answered HTTP \(resp.status) to metric metadata; sending it again in a minute")
                    return
                }
            } catch {
                logger.warning("remote-write: sending metric metadata to \(config.url) failed: \(error); sending it again in a minute")
                return
            }
        }
    }
}
