import Glibc
import Logging
import RemoteWrite
import Synchronization

public struct SimulatorOptions: Sendable {
    public var clusters = 10
    public var seriesPerCluster = 500
    public var remoteWrite = ""
    public var intervalMs: Int64 = 15_000
    /// 0: run until cancelled.
    public var durationMs: Int64 = 60_000
    /// Sends the past `backfillMs` at the interval before going live.
    public var backfillMs: Int64 = 0
    public var regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]
    /// Share of clusters that are flaky: they go silent, or report their node target down,
    /// for 8 of every 40 intervals.
    public var failFraction = 0.05
    public var seed: UInt64 = 1
    /// Cluster name → bearer token; `defaultToken` for clusters not listed.
    public var tokens: [String: String] = [:]
    public var defaultToken: String?
    public var maxSamplesPerRequest = 2_000
    /// Requests in flight at most.
    public var concurrency = 64
    public var requestTimeoutMs: Int64 = 30_000
    /// For https remote-write URLs.
    public var tls = TLSConfig()
    /// Send all history before the first live sample, each series strictly in time order,
    /// for receivers that refuse out-of-order samples (Prometheus without an out-of-order
    /// window). Default: live first, history beside it.
    public var backfillBeforeLive = false

    public init() {}

    /// `cluster token` per line, or a single token for every cluster. `#` starts a comment.
    public mutating func loadTokens(file: String) throws {
        let text = try readSecret(file)
        var single: String?
        var map: [String: String] = [:]
        var lineNo = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let trimmed = line.trimmingSpacesSub
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count == 1 {
                guard single == nil, map.isEmpty else {
                    throw QueueError("\(file):\(lineNo): expected `cluster token`; a file with one bare token may hold only that line")
                }
                single = String(fields[0])
            } else if fields.count == 2, single == nil {
                map[String(fields[0])] = String(fields[1])
            } else {
                throw QueueError("\(file):\(lineNo): expected `cluster token` (two fields), got \(fields.count)")
            }
        }
        guard single != nil || !map.isEmpty else { throw QueueError("\(file): no token found") }
        tokens = map
        defaultToken = single
    }
}

fileprivate extension Substring {
    var trimmingSpacesSub: Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}

public struct SimulatorSummary: Sendable, CustomStringConvertible {
    public var requests = 0
    public var failedRequests = 0
    public var samples = 0
    public var bytes = 0
    public var statuses: [Int: Int] = [:]
    public var lastError: String?
    /// Clusters whose whole backfill was sent; clusters that sent their first live tick.
    public var backfilledClusters = 0
    public var backfillSamples = 0
    public var liveClusters = 0

    public var description: String {
        let codes = statuses.keys.sorted().map { "\($0 == 0 ? "error" : String($0))=\(statuses[$0]!)" }.joined(separator: " ")
        return "requests=\(requests) failed=\(failedRequests) samples=\(samples) wire_bytes=\(bytes) statuses[\(codes)]"
            + (lastError.map { " last_error=\"\($0)\"" } ?? "")
    }
}

/// Plays a fleet of edge clusters against one remote-write URL: one request per cluster per
/// interval (more only when a cluster has over `maxSamplesPerRequest` series), spread evenly
/// over the interval so the receiver sees a steady load rather than a thundering herd.
public final class FleetSimulator: Sendable {
    public let options: SimulatorOptions
    private let transport: any HTTPTransport
    private let logger: Logger
    private let summary = Mutex(SimulatorSummary())

    public init(options: SimulatorOptions, transport: any HTTPTransport, logger: Logger = Logger(label: "edge.simulate")) {
        self.options = options
        self.transport = transport
        self.logger = logger
    }

    public var current: SimulatorSummary { summary.withLock { $0 } }

    /// Series each cluster will send per tick, for planning.
    public func clusterNames() -> [String] { (0..<options.clusters).map(SimCluster.clusterName) }

    public func run() async -> SimulatorSummary {
        let o = options
        let n = max(o.clusters, 1)
        let workers = min(n, max(o.concurrency, 1))
        let interval = max(o.intervalMs, 1)
        let now = DeliveryClock.nowMillis()
        // Sample times sit on the absolute interval grid (multiples of the interval), so two
        // runs, or a backfill over what an earlier run wrote, produce the same timestamps.
        let liveStart = SimCluster.floorDiv(now, interval) * interval
        let backfillTicks = Int(o.backfillMs / interval)
        let liveTicks = o.durationMs > 0 ? Int((o.durationMs + interval - 1) / interval) : Int.max
        let firstBackfill = liveStart - Int64(backfillTicks) * interval
        logger.info("simulate: starting", metadata: [
            "clusters": "\(n)", "series_per_cluster": "\(o.seriesPerCluster)", "interval_ms": "\(interval)",
            "backfill_ticks": "\(backfillTicks)", "backfill_order": "\(o.backfillBeforeLive ? "before live" : "beside live")",
            "url": "\(o.remoteWrite)"])
        if !o.tokens.isEmpty && o.defaultToken == nil {
            let missing = (0..<n).filter { o.tokens[SimCluster.clusterName($0)] == nil }.count
            if missing > 0 {
                logger.warning("simulate: \(missing) of \(n) clusters have no token in the token file and send without one")
            }
        }
        let clusters = (0..<n).map { i in
            SimCluster(index: i, seed: o.seed, seriesTarget: o.seriesPerCluster, regions: o.regions,
                       failFraction: o.failFraction, token: o.tokens[SimCluster.clusterName(i)] ?? o.defaultToken)
        }
        if backfillTicks > 0 {
            logger.info(o.backfillBeforeLive
                ? "simulate: backfilling \(backfillTicks) intervals of history first, then live"
                : "simulate: live first; backfilling \(backfillTicks) intervals of history beside it")
        }
        // For the progress lines: one interval's samples of every cluster, times the intervals.
        var oneTick = 0
        if backfillTicks > 0 {
            var e = SimEncoder(capacity: 0)
            for c in clusters { e.reset(); _ = c.samples(at: liveStart, intervalMs: interval, into: &e); oneTick += e.samples }
        }
        let expected = oneTick * backfillTicks
        let reporter = Task { await self.reportProgress(clusters: n, backfillTicks: backfillTicks, expectedSamples: expected) }
        let backfill: @Sendable () async -> Void = {
            guard backfillTicks > 0 else { return }
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<workers {
                    group.addTask {
                        await self.backfillWorker(w, of: workers, clusters, from: firstBackfill, ticks: backfillTicks, interval: interval)
                    }
                }
            }
            let s = self.current
            let failed = s.failedRequests == 0 ? "" : "; \(s.failedRequests) requests failed so far, last: \(s.lastError ?? "")"
            self.logger.info("simulate: backfill done: \(s.backfilledClusters) clusters, \(backfillTicks) intervals each, \(s.backfillSamples) samples accepted\(failed)")
        }
        let live: @Sendable () async -> Void = {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<workers {
                    group.addTask {
                        await self.liveWorker(w, of: workers, clusters, from: liveStart, ticks: liveTicks, interval: interval)
                    }
                }
            }
        }
        if o.backfillBeforeLive {
            await backfill()
            await live()
        } else {
            // Live first: every cluster's current sample goes out within one interval, so the
            // fleet shows as it is at once, while its history arrives beside it (the collector
            // accepts out-of-order samples; `backfillBeforeLive` is for receivers that do not).
            async let b: Void = backfill()
            await live()
            await b
        }
        reporter.cancel()
        let s = current
        logger.info("simulate: done", metadata: ["summary": "\(s)"])
        return s
    }

    /// A line every 10 s while backfilling, then one a minute.
    private func reportProgress(clusters n: Int, backfillTicks: Int, expectedSamples: Int) async {
        var last = 0
        var quietTicks = 0
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(10)) } catch { break }
            let s = current
            let backfilling = backfillTicks > 0 && s.backfilledClusters < n
            quietTicks += 1
            if backfilling || quietTicks >= 6 {
                quietTicks = 0
                var meta: Logger.Metadata = [
                    "samples": "\(s.samples)", "samples_per_s": "\((s.samples - last) / 10)", "requests": "\(s.requests)",
                    "failed": "\(s.failedRequests)", "live_clusters": "\(s.liveClusters)"]
                if backfillTicks > 0 { meta["backfilled_clusters"] = "\(s.backfilledClusters) of \(n)" }
                // The phase is in the message itself: `make demo` shows these lines as they are.
                let percent = min(99, s.backfillSamples * 100 / max(expectedSamples, 1))
                logger.info(backfilling
                    ? "simulate: backfilling: \(percent) % (\(s.backfillSamples) of about \(expectedSamples) samples; \(s.backfilledClusters) of \(n) clusters done)"
                    : "simulate: progress", metadata: meta)
            }
            last = s.samples
        }
    }

    /// Spreads clusters' sends over the interval so the receiver sees a steady load; the
    /// samples' timestamps stay on the grid.
    private func sendOffset(_ i: Int, of n: Int, _ interval: Int64) -> Int64 { Int64(i) * interval / Int64(n) }

    private func backfillWorker(_ w: Int, of workers: Int, _ clusters: [SimCluster], from first: Int64, ticks: Int,
                                interval: Int64) async {
        var enc = SimEncoder()
        var one = SimEncoder(capacity: 0)
        let maxPer = max(options.maxSamplesPerRequest, 1)
        // Each cluster's past ticks in time order, packed into requests.
        for j in stride(from: w, to: clusters.count, by: workers) {
            let c = clusters[j]
            enc.reset()
            for k in 0..<ticks {
                if Task.isCancelled { return }
                one.reset()
                guard c.samples(at: first + Int64(k) * interval, intervalMs: interval, into: &one) else { continue }
                if enc.samples > 0 && enc.samples + one.samples > maxPer {
                    await sendBackfill(enc, c)
                    enc.reset()
                }
                enc.append(one)
            }
            if enc.samples > 0 { await sendBackfill(enc, c) }
            summary.withLock { $0.backfilledClusters += 1 }
        }
    }

    private func liveWorker(_ w: Int, of workers: Int, _ clusters: [SimCluster], from start: Int64, ticks: Int,
                            interval: Int64) async {
        var enc = SimEncoder()
        let maxPer = max(options.maxSamplesPerRequest, 1)
        var k = 0
        while k < ticks && !Task.isCancelled {
            let t = start + Int64(k) * interval
            for j in stride(from: w, to: clusters.count, by: workers) {
                let due = t + sendOffset(j, of: clusters.count, interval)
                let wait = due - DeliveryClock.nowMillis()
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(wait)) } catch { return }
                }
                enc.reset()
                let c = clusters[j]
                if c.samples(at: t, intervalMs: interval, into: &enc) {
                    if enc.samples <= maxPer {
                        await send(enc, c)
                    } else {
                        for part in enc.split(maxSamples: maxPer) { await send(part, c) }
                    }
                }
                if k == 0 {
                    let all = summary.withLock { s -> Bool in s.liveClusters += 1; return s.liveClusters == clusters.count }
                    if all { logger.info("simulate: live: every cluster has sent its current sample (\(clusters.count) clusters)") }
                }
            }
            k += 1
        }
    }

    /// Counts only what the receiver accepted, so "backfill done" never reports samples that a
    /// stopped or refusing collector did not take.
    private func sendBackfill(_ enc: SimEncoder, _ c: SimCluster) async {
        if await send(enc, c) { summary.withLock { $0.backfillSamples += enc.samples } }
    }

    /// Whether the receiver accepted the request (2xx).
    @discardableResult
    private func send(_ enc: SimEncoder, _ c: SimCluster) async -> Bool {
        let body = Snappy.compress(enc.body)
        var headers: [(name: String, value: String)] = [
            ("Content-Encoding", RemoteWriteProtocol.contentEncoding),
            ("Content-Type", RemoteWriteProtocol.contentType),
            (RemoteWriteProtocol.versionHeader, RemoteWriteProtocol.version),
            ("User-Agent", "fleetscope-edge-scraper/\(EdgeScraperVersion.current) (simulator)"),
        ]
        if let tok = c.token { headers.append(("Authorization", "Bearer \(tok)")) }
        var status = 0
        var err: String?
        do {
            let r = try await transport.send(HTTPRequest(method: "POST", url: options.remoteWrite, headers: headers, body: body,
                                                         tls: options.tls, timeout: options.requestTimeoutMs))
            status = r.status
            if r.status / 100 != 2 { err = "\(c.name): HTTP \(r.status): \(RemoteWriter.message(r.body))" }
        } catch {
            err = "\(c.name): \(error)"
        }
        let first = summary.withLock { s -> Bool in
            s.requests += 1
            s.bytes += body.count
            s.statuses[status, default: 0] += 1
            if status / 100 == 2 { s.samples += enc.samples } else { s.failedRequests += 1 }
            let first = err != nil && s.lastError == nil
            if let err { s.lastError = err }
            return first
        }
        if first, let err { logger.warning("simulate: request failed (further failures are only counted): \(err)") }
        return status / 100 == 2
    }
}

extension SimEncoder {
    mutating func append(_ other: SimEncoder) {
        body.append(contentsOf: other.body)
        samples += other.samples
        seriesCount += other.seriesCount
    }

    /// Splits at series boundaries into encoders of at most `maxSamples` samples each.
    func split(maxSamples: Int) -> [SimEncoder] {
        var out: [SimEncoder] = []
        var cur = SimEncoder(capacity: 0)
        var i = 0
        while i < body.count {
            // Each entry: 0x0A, varint length, TimeSeries bytes with one sample per series
            // on the live path.
            var len = 0, shift = 0, j = i + 1
            while true {
                let b = body[j]
                len |= Int(b & 0x7F) << shift
                j += 1
                if b < 0x80 { break }
                shift += 7
            }
            if cur.samples + 1 > maxSamples {
                out.append(cur)
                cur = SimEncoder(capacity: 0)
            }
            cur.appendRaw(body[i..<(j + len)], samples: 1)
            i = j + len
        }
        if cur.samples > 0 { out.append(cur) }
        return out
    }
}
