/// How a cluster's health follows from what the registry knows of it. Pure functions of
/// their arguments, so the policy reads (and is tested) apart from the bookkeeping.
enum FleetHealthPolicy {
    /// A refused future sample keeps "clock ahead" shown (and the cluster degraded) this long.
    static let clockAheadShownForMs: Int64 = 900_000

    static func health(lastSeenMs: Int64?, lastReceivedMs: Int64? = nil, up: Int, down: Int, failedPods: Int, alerts: Int,
                       now: Int64, options: FleetOptions) -> FleetHealth {
        guard let last = lastSeenMs else { return .stale }
        let age = now - last
        // Old newest sample, but requests arriving: delivering a backlog, not gone.
        if age > options.downAfterMs, let received = lastReceivedMs, now - received <= options.downAfterMs { return .catchingUp }
        if age > options.staleAfterMs { return .stale }
        if age > options.downAfterMs { return .down }
        if down > 0 && up == 0 { return .down }
        if down > 0 || failedPods > 0 || alerts > 0 { return .degraded }
        return .healthy
    }

    /// Seconds of gap closed per second of wall time, from the older checkpoint to the last
    /// request: (newest sample advanced − wall time passed) / wall time passed. 0 while the
    /// backlog arrives exactly as fast as time passes, negative while it falls further behind.
    static func catchUpRate(reference ref: GapCheckpoint, lastReceivedMs: Int64, lastSeenMs: Int64) -> Double? {
        guard ref.atMs != .min, ref.newestMs != .min, lastReceivedMs > ref.atMs else { return nil }
        let wall = Double(lastReceivedMs - ref.atMs)
        return Double(lastSeenMs - ref.newestMs) / wall - 1
    }
}
