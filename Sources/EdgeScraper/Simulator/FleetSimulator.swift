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
        // Ticks are aligned to the interval so restarts continue the same grid.
        let liveStart = (now / interval + 1) * interval
        let backfillTicks = Int(o.backfillMs / interval)
        let liveTicks = o.durationMs > 0 ? Int((o.durationMs + interval - 1) / interval) : Int.max
        let firstTickTime = liveStart - Int64(backfillTicks) * interval
        logger.info("simulate: starting", metadata: [
            "clusters": "\(n)", "series_per_cluster": "\(o.seriesPerCluster)", "interval_ms": "\(interval)",
            "backfill_ticks": "\(backfillTicks)", "url": "\(o.remoteWrite)"])
        if !o.tokens.isEmpty && o.defaultToken == nil {
            let missing = (0..<n).filter { o.tokens[SimCluster.clusterName($0)] == nil }.count
            if missing > 0 {
                logger.warning("simulate: \(missing) of \(n) clusters have no token in the token file and send without one")
            }
        }
        let reporter = Task {
            var last = 0
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(10)) } catch { break }
                let s = self.current
                self.logger.info("simulate: progress", metadata: [
                    "samples": "\(s.samples)", "samples_per_s": "\((s.samples - last) / 10)", "requests": "\(s.requests)",
                    "failed": "\(s.failedRequests)"])
                last = s.samples
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    await self.worker(w, of: workers, total: n, firstTickTime: firstTickTime, interval: interval,
                                      backfillTicks: backfillTicks, liveTicks: liveTicks)
                }
            }
        }
        reporter.cancel()
        let s = current
        logger.info("simulate: done", metadata: ["summary": "\(s)"])
        return s
    }

    private func worker(_ w: Int, of workers: Int, total n: Int, firstTickTime: Int64, interval: Int64,
                        backfillTicks: Int, liveTicks: Int) async {
        let o = options
        var clusters: [SimCluster] = []
        var offsets: [Int64] = []
        for i in stride(from: w, to: n, by: workers) {
            clusters.append(SimCluster(index: i, seed: o.seed, seriesTarget: o.seriesPerCluster, regions: o.regions,
                                       failFraction: o.failFraction, token: o.tokens[SimCluster.clusterName(i)] ?? o.defaultToken))
            offsets.append(Int64(i) * interval / Int64(n))
        }
        var enc = SimEncoder()
        let dt = Double(interval) / 1000
        let maxPer = max(o.maxSamplesPerRequest, 1)

        // Backfill: each cluster's past ticks in time order, packed into requests.
        if backfillTicks > 0 {
            for j in clusters.indices {
                enc.reset()
                for k in 0..<backfillTicks {
                    if Task.isCancelled { return }
                    let t = firstTickTime + Int64(k) * interval + offsets[j]
                    var one = SimEncoder(capacity: 0)
                    guard clusters[j].tick(k, t: t, intervalSeconds: dt, into: &one) else { continue }
                    if enc.samples > 0 && enc.samples + one.samples > maxPer {
                        await send(enc, clusters[j])
                        enc.reset()
                    }
                    enc.append(one)
                }
                if enc.samples > 0 { await send(enc, clusters[j]) }
            }
        }

        var k = 0
        while k < liveTicks && !Task.isCancelled {
            let tick = backfillTicks + k
            for j in clusters.indices {
                let due = firstTickTime + Int64(tick) * interval + offsets[j]
                let wait = due - DeliveryClock.nowMillis()
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(wait)) } catch { return }
                }
                enc.reset()
                guard clusters[j].tick(tick, t: due, intervalSeconds: dt, into: &enc) else { continue }
                if enc.samples <= maxPer {
                    await send(enc, clusters[j])
                } else {
                    for part in enc.split(maxSamples: maxPer) { await send(part, clusters[j]) }
                }
            }
            k += 1
        }
    }

    private func send(_ enc: SimEncoder, _ c: SimCluster) async {
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
