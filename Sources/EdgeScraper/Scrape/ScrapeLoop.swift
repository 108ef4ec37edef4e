import Glibc
import Logging
import RemoteWrite
import Storage
import Synchronization

/// Per-target counters exposed on the edge scraper's own /metrics and status pages.
public struct TargetStatus: Sendable, Equatable {
    public var job: String
    public var url: String
    public var labels: Labels
    public var health: Health
    public var lastError: String?
    /// Milliseconds since the epoch of the last scrape start, 0 before the first.
    public var lastScrape: Int64
    public var lastDurationSeconds: Double
    public var scrapes: Int
    public var failures: Int
    public var samplesScraped: Int
    public var samplesPostRelabel: Int

    public enum Health: String, Sendable { case unknown, up, down }
}

/// Authorization header value for a scrape or API request; credential files are re-read on
/// every request, as Prometheus does, so rotated service account tokens are picked up.
func authorizationHeader(_ auth: HTTPAuth) throws -> String? {
    switch auth {
    case .none: return nil
    case .bearer(let credentials, let file, let type):
        if let c = credentials { return "\(type) \(c)" }
        if let f = file { return "\(type) \(try FileIO.readString(f).trimmingSpaces)" }
        return nil
    case .basic(let user, let password, let file):
        var p = password ?? ""
        if let f = file { p = try FileIO.readString(f).trimmingSpaces }
        return "Basic " + base64Encode(Array("\(user):\(p)".utf8))
    }
}

func base64Encode(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let n = UInt32(bytes[i]) << 16 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) << 8 : 0) | (i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0)
        out.append(alphabet[Int(n >> 18 & 63)])
        out.append(alphabet[Int(n >> 12 & 63)])
        out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
        out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}

/// Monotonic clock in nanoseconds, for durations.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// One target's scrape loop: fetch, process, hand to the sink, at the target's interval
/// with Prometheus' offset so targets spread over the interval instead of bursting together.
final class ScrapeLoop: Sendable {
    let target: ScrapeTarget
    let job: String
    private let config: ScrapeConfig
    private let transport: any HTTPTransport
    private let sink: any SampleSink
    private let logger: Logger
    private let offsetSeed: UInt64
    private let state: Mutex<State>

    struct State {
        var processor: ScrapeProcessor
        var status: TargetStatus
        /// Set before cancellation when the target went away (stale markers) rather than shutdown.
        var removed = false
    }

    init(target: ScrapeTarget, config: ScrapeConfig, metricRules: [RelabelRule], externalLabels: Labels,
         transport: any HTTPTransport, sink: any SampleSink, logger: Logger, offsetSeed: UInt64) {
        self.target = target
        self.job = config.jobName
        self.config = config
        self.transport = transport
        self.sink = sink
        self.logger = logger
        self.offsetSeed = offsetSeed
        let p = ScrapeProcessor(target: target, config: config, metricRules: metricRules, externalLabels: externalLabels)
        state = Mutex(State(processor: p, status: TargetStatus(
            job: config.jobName, url: target.url, labels: target.seriesLabels, health: .unknown, lastError: nil,
            lastScrape: 0, lastDurationSeconds: 0, scrapes: 0, failures: 0, samplesScraped: 0, samplesPostRelabel: 0)))
    }

    var status: TargetStatus { state.withLock { $0.status } }

    func markRemoved() { state.withLock { $0.removed = true } }

    /// Carries the series a previous loop for the same target wrote (after a reload), so
    /// they still get stale markers when they disappear.
    func inheritStaleness(from old: ScrapeLoop) {
        let (prev, status) = old.state.withLock { ($0.processor, $0.status) }
        state.withLock {
            $0.processor.inheritStaleness(from: prev)
            $0.status = status
        }
    }

    /// Prometheus' `Target.offset`: a fixed phase within the interval from the target's hash.
    func initialDelayNanos(now: Int64) -> UInt64 {
        let interval = UInt64(target.interval) * 1_000_000
        guard interval > 0 else { return 0 }
        let base = interval - UInt64(now) % interval
        let offset = (target.stableHash ^ offsetSeed) % interval
        var next = base + offset
        if next > interval { next -= interval }
        return next
    }

    func run() async {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let nowNanos = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        // Cancellation means shutdown or replacement by a reloaded loop: no stale markers,
        // the series continue after the restart, as in Prometheus.
        do { try await LoopTimer.sleep(nanoseconds: initialDelayNanos(now: nowNanos)) } catch { return }
        let interval = UInt64(target.interval) * 1_000_000
        var next = monotonicNanos()
        while !Task.isCancelled {
            if isRemoved {
                await endOfRunStaleness()
                return
            }
            await scrapeOnce()
            next += interval
            let now = monotonicNanos()
            // After a long stall skip missed ticks instead of scraping in a burst.
            while next <= now { next += interval }
            do { try await LoopTimer.sleep(nanoseconds: next - now) } catch { return }
        }
    }

    private var isRemoved: Bool { state.withLock { $0.removed } }

    /// Prometheus' endOfRunStaleness: the markers carry the time of the first scrape that did
    /// not happen and are written 1.1 intervals later, so that if the target came back in the
    /// meantime its fresh samples win and the late markers are dropped as out of order.
    private func endOfRunStaleness() async {
        let staleTime = nowMillis()
        guard state.withLock({ $0.processor.hasWritten }) else { return }
        do { try await LoopTimer.sleep(nanoseconds: UInt64(target.interval) * 1_100_000) } catch { return }
        let stale = state.withLock { $0.processor.staleMarkers(at: staleTime) }
        guard !stale.isEmpty else { return }
        do { try await sink.enqueue(stale) } catch {
            logger.warning("could not enqueue stale markers", metadata: ["target": "\(target.url)", "error": "\(error)"])
        }
    }

    /// One scrape, processed and enqueued; public to the module so tests can drive it.
    @discardableResult
    func scrapeOnce() async -> ScrapeReport {
        let start = nowMillis()
        let t0 = monotonicNanos()
        let outcome = await fetch()
        let duration = Double(monotonicNanos() - t0) / 1e9
        let (series, report, metadata) = state.withLock { s in
            let r = s.processor.process(outcome, start: start, duration: duration)
            s.status.scrapes += 1
            if !r.report.up { s.status.failures += 1 }
            s.status.health = r.report.up ? .up : .down
            s.status.lastError = r.report.error
            s.status.lastScrape = start
            s.status.lastDurationSeconds = duration
            s.status.samplesScraped += r.report.samplesScraped
            s.status.samplesPostRelabel += r.report.samplesPostRelabel
            return (r.series, r.report, s.processor.metadata)
        }
        sink.recordMetadata(metadata)
        if let e = report.error {
            logger.debug("scrape failed", metadata: ["target": "\(target.url)", "job": "\(job)", "error": "\(e)"])
        }
        do { try await sink.enqueue(series) } catch {
            logger.warning("could not enqueue scraped samples", metadata: ["target": "\(target.url)", "error": "\(error)"])
        }
        return report
    }

    private func fetch() async -> ScrapeOutcome {
        if let local = target.local {
            do { return .body(try local.collect(), contentType: "text/plain; version=0.0.4") } catch {
                return .failed("\(error)")
            }
        }
        var headers: [(name: String, value: String)] = [
            ("Accept", Exposition.acceptHeader),
            ("X-Prometheus-Scrape-Timeout-Seconds", formatSeconds(target.timeout)),
        ]
        do {
            if let a = try authorizationHeader(config.auth) { headers.append(("Authorization", a)) }
        } catch {
            return .failed("reading credentials: \(error)")
        }
        let req = HTTPRequest(method: "GET", url: target.url, headers: headers, tls: config.tls, timeout: target.timeout)
        do {
            let resp = try await transport.send(req)
            guard resp.status == 200 else { return .failed("server returned HTTP status \(resp.status)") }
            return .body(resp.body, contentType: resp.header("Content-Type"))
        } catch {
            return .failed("\(error)")
        }
    }

    private func formatSeconds(_ ms: Int64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000)" : "\(Double(ms) / 1000)"
    }
}
