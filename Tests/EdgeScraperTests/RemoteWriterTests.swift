import DurableIO
import Glibc
import RemoteWrite
import Storage
import Synchronization
import Testing
@testable import EdgeScraper

/// A loopback remote-write receiver that answers from a script and keeps what it accepted.
final class TestReceiver: Sendable {
    struct Seen: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var request: WriteRequest?
        var atNanos: UInt64
    }

    final class Log: Sendable { let m = Mutex<[Seen]>([]) }

    let server: HTTPServer
    private let log = Log()

    var url: String { server.baseURL + "/api/v1/write" }

    /// `respond(n, request)` gives status, extra headers and body for the n-th request (0-based).
    init(_ respond: @escaping @Sendable (Int, WriteRequest?) -> (Int, [(String, String)], String) = { _, _ in (204, [], "") }) async throws {
        let log = self.log
        server = try await HTTPServer.start(host: "127.0.0.1", port: 0) { req in
            let decoded = try? WireDecoder.decode(Snappy.decompress(req.body))
            let n = log.m.withLock { $0.count }
            let (status, headers, body) = respond(n, decoded)
            log.m.withLock {
                $0.append(Seen(status: status, headers: req.headers, request: decoded, atNanos: DeliveryClock.monotonicNanos()))
            }
            return ServerResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8))
        }
    }

    var seen: [Seen] { log.m.withLock { $0 } }
    var accepted: [WriteRequest] { seen.filter { $0.status / 100 == 2 }.compactMap(\.request) }
    var acceptedSamples: Int { accepted.reduce(0) { $0 + $1.sampleCount } }

    func stop() async { await server.stop() }
}

func rwConfig(_ url: String, maxPerSend: Int = 500, deadline: Int64 = 50, shards: Int = 2,
            minBackoff: Int64 = 10, maxBackoff: Int64 = 100) -> RemoteWriteConfig {
    var c = RemoteWriteConfig()
    c.url = url
    c.queueConfig.maxSamplesPerSend = maxPerSend
    c.queueConfig.batchSendDeadline = deadline
    c.queueConfig.maxShards = shards
    c.queueConfig.minBackoff = minBackoff
    c.queueConfig.maxBackoff = maxBackoff
    c.remoteTimeout = 5_000
    return c
}

/// Polls `cond` every 20 ms for at most `seconds`.
func eventually(_ seconds: Double = 10, _ cond: () async -> Bool) async -> Bool {
    let end = DeliveryClock.monotonicNanos() + UInt64(seconds * 1e9)
    while DeliveryClock.monotonicNanos() < end {
        if await cond() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await cond()
}

/// Series for target `instance` at time `t`: `count` series with value t.
func targetScrape(instance: String, t: Int64, count: Int) -> [TimeSeries] {
    (0..<count).map { i in
        TimeSeries(labels: [Label("__name__", "s\(i)"), Label("instance", instance), Label("job", "test")],
                   samples: [Sample(t: t, v: Double(t))])
    }
}

@Suite struct RemoteWriterTests {
    @Test func deliversEverythingWithSpecHeadersAndEmptiesTheQueue() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let rx = try await TestReceiver()
        defer { Task { await rx.stop() } }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20)
        var c = rwConfig(rx.url)
        c.auth = .bearer(credentials: "s3cret", credentialsFile: nil, type: "Bearer")
        let w = RemoteWriter(config: c, queue: q, transport: NIOHTTPTransport())
        let run = Task { await w.run() }
        for t in 0..<20 { try await q.enqueue(targetScrape(instance: "a:1", t: Int64(t) * 1000, count: 50)) }
        #expect(await eventually { rx.acceptedSamples == 1000 })
        run.cancel()
        await run.value
        let h = try #require(rx.seen.first).headers
        func header(_ n: String) -> String? { h.first { $0.name.lowercased() == n.lowercased() }?.value }
        #expect(header("Content-Encoding") == "snappy")
        #expect(header("Content-Type") == "application/x-protobuf")
        #expect(header("X-Prometheus-Remote-Write-Version") == "0.1.0")
        #expect(header("User-Agent")?.hasPrefix("fleetscope-edge-scraper/") == true)
        #expect(header("Authorization") == "Bearer s3cret")
        // Requests are packed up to max_samples_per_send.
        #expect(rx.seen.allSatisfy { ($0.request?.sampleCount ?? 0) <= 500 })
        #expect(rx.seen.count < 20)
        #expect(await eventually { await q.stats().pendingSamples == 0 })
        await q.close()
    }

    /// The receiver's Date header says 2 h earlier than this machine: the edge reports its
    /// clock 2 h ahead (the collector would refuse its samples beyond ingest.max_future).
    @Test func measuresClockSkewFromTheDateHeader() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let headerMadeAt = DeliveryClock.nowMillis() / 1000
        let twoHoursAgo = formatHTTPDate(headerMadeAt - 7200)
        let rx = try await TestReceiver { _, _ in (204, [("Date", twoHoursAgo)], "") }
        defer { Task { await rx.stop() } }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20)
        let registry = MetricsRegistry()
        let metrics = RemoteWriteMetrics(registry: registry, remote: "collector")
        let w = RemoteWriter(config: rwConfig(rx.url), queue: q, transport: NIOHTTPTransport(), metrics: metrics)
        let run = Task { await w.run() }
        try await q.enqueue(targetScrape(instance: "a:1", t: 1000, count: 5))
        #expect(await eventually { rx.acceptedSamples == 5 })
        run.cancel()
        await run.value
        // The header was made before the request, so the skew is 2 h plus however long the
        // (possibly loaded) machine took to send it; whole seconds, hence the 1 s margins.
        let elapsed = Double(DeliveryClock.nowMillis() / 1000 - headerMadeAt)
        #expect((7199...(7201 + elapsed)).contains(metrics.clockSkew.get), "skew \(metrics.clockSkew.get)")
        #expect(registry.render().contains("edge_scraper_clock_skew_seconds{remote_name=\"collector\"}"))
        await q.close()
    }

    @Test func retries5xxUntilDeliveredWithoutLossOrDuplicates() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // The first four requests fail with 503.
        let rx = try await TestReceiver { n, _ in n < 4 ? (503, [], "overloaded") : (200, [], "") }
        defer { Task { await rx.stop() } }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20)
        let metrics = RemoteWriteMetrics()
        let w = RemoteWriter(config: rwConfig(rx.url, shards: 1), queue: q, transport: NIOHTTPTransport(), metrics: metrics)
        let run = Task { await w.run() }
        for t in 0..<10 { try await q.enqueue(targetScrape(instance: "a:1", t: Int64(t) * 1000, count: 10)) }
        #expect(await eventually { rx.acceptedSamples == 100 })
        run.cancel()
        await run.value
        #expect(metrics.retries.get >= 4)
        // Each series got every timestamp exactly once, in order.
        var perSeries: [String: [Int64]] = [:]
        for req in rx.accepted { for ts in req.timeseries { perSeries[ts.labels[0].value, default: []] += ts.samples.map(\.t) } }
        #expect(perSeries.count == 10)
        for (_, ts) in perSeries { #expect(ts == (0..<10).map { Int64($0) * 1000 }) }
        await q.close()
    }

    @Test func honoursRetryAfterSeconds() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let rx = try await TestReceiver { n, _ in n == 0 ? (429, [("Retry-After", "1")], "slow down") : (204, [], "") }
        defer { Task { await rx.stop() } }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20)
        // Backoff alone would retry after at most 20 ms.
        let w = RemoteWriter(config: rwConfig(rx.url, minBackoff: 10, maxBackoff: 20), queue: q, transport: NIOHTTPTransport())
        let run = Task { await w.run() }
        try await q.enqueue(targetScrape(instance: "a:1", t: 1000, count: 5))
        #expect(await eventually { rx.acceptedSamples == 5 })
        run.cancel()
        await run.value
        let s = rx.seen
        #expect(s.count == 2)
        #expect(s[1].atNanos - s[0].atNanos >= 950_000_000)
        await q.close()
    }

    @Test func dropsAndCountsOther4xxWithoutRetrying() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // Batches whose first sample has t == 1000 are "bad"; everything else is accepted.
        let rx = try await TestReceiver { _, req in
            req?.timeseries.first?.samples.first?.t == 1000 ? (400, [], "out of bounds sample\n") : (204, [], "")
        }
        defer { Task { await rx.stop() } }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20)
        let metrics = RemoteWriteMetrics()
        // One record per request: max_samples_per_send equals the batch size.
        let w = RemoteWriter(config: rwConfig(rx.url, maxPerSend: 5, shards: 1), queue: q, transport: NIOHTTPTransport(), metrics: metrics)
        let run = Task { await w.run() }
        try await q.enqueue(targetScrape(instance: "a:1", t: 1000, count: 5))
        try await q.enqueue(targetScrape(instance: "a:1", t: 2000, count: 5))
        #expect(await eventually { rx.acceptedSamples == 5 })
        #expect(await eventually { await q.stats().pendingSamples == 0 })
        run.cancel()
        await run.value
        #expect(rx.seen.filter { $0.status == 400 }.count == 1)
        #expect(metrics.retries.get == 0)
        #expect(metrics.droppedDetached == 5)
        await q.close()
    }

    @Test func keepsEachSeriesInOrderAcrossShards() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // Random-ish 5xx to force retries on some shards while others proceed.
        let rx = try await TestReceiver { n, _ in n % 7 == 3 ? (500, [], "hiccup") : (200, [], "") }
        defer { Task { await rx.stop() } }
        let q = try DiskQueue(dir: dir.path, maxBytes: 64 << 20)
        let w = RemoteWriter(config: rwConfig(rx.url, maxPerSend: 100, deadline: 5, shards: 4), queue: q, transport: NIOHTTPTransport())
        let run = Task { await w.run() }
        for t in 0..<30 {
            for target in 0..<6 { try await q.enqueue(targetScrape(instance: "t\(target):9100", t: Int64(t) * 1000, count: 20)) }
        }
        #expect(await eventually(20) { rx.acceptedSamples == 30 * 6 * 20 })
        run.cancel()
        await run.value
        var perSeries: [String: [Int64]] = [:]
        for req in rx.accepted {
            for ts in req.timeseries {
                perSeries[ts.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ","), default: []] += ts.samples.map(\.t)
            }
        }
        #expect(perSeries.count == 6 * 20)
        for (_, ts) in perSeries { #expect(ts == (0..<30).map { Int64($0) * 1000 }) }
        await q.close()
    }

    @Test func transportErrorsAreRetriedAndDataWaitsOnDisk() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 16 << 20)
        // Nobody listens on this port.
        let gone = try await HTTPServer.start(host: "127.0.0.1", port: 0) { _ in .text(200, "") }
        let port = gone.port
        await gone.stop()
        let metrics = RemoteWriteMetrics()
        let w = RemoteWriter(config: rwConfig("http://127.0.0.1:\(port)/api/v1/write"), queue: q,
                             transport: NIOHTTPTransport(), metrics: metrics)
        let run = Task { await w.run() }
        try await q.enqueue(targetScrape(instance: "a:1", t: 1000, count: 5))
        #expect(await eventually { metrics.retries.get >= 3 })
        run.cancel()
        await run.value
        #expect(await q.stats().pendingSamples == 5)
        await q.close()
    }
}

@Suite struct RetryPolicyTests {
    @Test func exponentialBackoffIsCappedAndJittered() {
        func d(_ a: Int, _ j: Double) -> Int64 {
            RetryPolicy.delay(attempt: a, minBackoff: 30, maxBackoff: 5000, retryAfter: nil, nowMillis: 0, jitter: j)
        }
        #expect(d(0, 1) == 30)
        #expect(d(0, 0) == 15)
        #expect(d(1, 1) == 60)
        #expect(d(3, 1) == 240)
        #expect(d(20, 1) == 5000)
        #expect(d(20, 0) == 2500)
        #expect(d(1000, 0.5) >= 2500 && d(1000, 0.5) <= 5000)
    }

    @Test func retryAfterSecondsAndHTTPDate() {
        let now: Int64 = 784_111_777_000 // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryPolicy.parseRetryAfter("120", nowMillis: now) == 120_000)
        #expect(RetryPolicy.parseRetryAfter(" 0 ", nowMillis: now) == 0)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:50:07 GMT", nowMillis: now) == 30_000)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", nowMillis: now) == 0)
        #expect(RetryPolicy.parseRetryAfter("soon", nowMillis: now) == nil)
        #expect(RetryPolicy.delay(attempt: 0, minBackoff: 30, maxBackoff: 100, retryAfter: "7", nowMillis: now, jitter: 0) == 7000)
        // Absurd values are capped.
        #expect(RetryPolicy.delay(attempt: 0, minBackoff: 30, maxBackoff: 100, retryAfter: "999999", nowMillis: now, jitter: 0)
                == RetryPolicy.maxRetryAfterMillis)
        // Unparseable Retry-After falls back to backoff.
        #expect(RetryPolicy.delay(attempt: 0, minBackoff: 30, maxBackoff: 100, retryAfter: "later", nowMillis: now, jitter: 1) == 30)
    }

    @Test func httpDateParsesIMFFixdate() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Tue, 29 Feb 2028 12:00:00 GMT") == 1_835_438_400)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 PST") == nil)
        // A hostile year must not overflow the arithmetic.
        #expect(HTTPDate.parse("Sun, 06 Nov 9223372036854775807 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov -9223372036854775807 08:49:37 GMT") == nil)
        #expect(ClockSkewMonitor.skewSeconds(dateHeader: "Thu, 01 Jan 1970 00:10:00 GMT", localMillis: 1_200_000) == 600)
        #expect(ClockSkewMonitor.skewSeconds(dateHeader: "garbage", localMillis: 0) == nil)
    }
}

/// IMF-fixdate for a Unix time, the inverse of HTTPDate.parse (tests only).
func formatHTTPDate(_ unix: Int64) -> String {
    var t = time_t(unix)
    var tm = Glibc.tm()
    gmtime_r(&t, &tm)
    var buf = [CChar](repeating: 0, count: 64)
    let n = strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &tm)
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
