import RemoteWrite
import Logging
import Synchronization

/// The edge's clock against the receiver's, read from each response's `Date` header. Edge
/// devices without a working RTC boot years off; the collector refuses samples more than
/// `ingest.max_future` (10m) ahead, so the edge should say so itself instead of the operator
/// finding out from a 400 in the log.
final class ClockSkewMonitor: Sendable {
    /// Beyond this (either way) the skew is logged as a warning: the collector's default
    /// `ingest.max_future`.
    static let warnBeyondSeconds: Int64 = 600

    private let gauge: Gauge
    private let logger: Logger
    private let url: String
    private let warned = Atomic<Bool>(false)

    init(gauge: Gauge, logger: Logger, url: String) {
        self.gauge = gauge
        self.logger = logger
        self.url = url
    }

    /// Seconds the local clock is ahead of the server's (negative: behind), or nil without a
    /// usable `Date` header. The header has whole seconds, so ±1 s is noise.
    static func skewSeconds(dateHeader: String?, localMillis: Int64) -> Int64? {
        guard let h = dateHeader, let server = HTTPDate.parse(h) else { return nil }
        return localMillis / 1000 - server
    }

    func observe(dateHeader: String?, localMillis: Int64) {
        guard let skew = Self.skewSeconds(dateHeader: dateHeader, localMillis: localMillis) else { return }
        gauge.set(Double(skew))
        let beyond = skew > Self.warnBeyondSeconds || skew < -Self.warnBeyondSeconds
        // Once per episode, not per request.
        if beyond && !warned.exchange(true, ordering: .relaxed) {
            logger.warning("the clock of this edge is \(skew > 0 ? "ahead of" : "behind") the collector at \(url) by \(skew > 0 ? skew : -skew) s: the collector refuses samples more than its ingest.max_future (10m by default) ahead; fix this machine's time (NTP)")
        } else if !beyond && warned.exchange(false, ordering: .relaxed) {
            logger.notice("the clock of this edge agrees with the collector at \(url) again (skew \(skew) s)")
        }
    }
}
