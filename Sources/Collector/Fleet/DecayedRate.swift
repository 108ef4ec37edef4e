import Foundation

/// Events per second over "the last few minutes": an exponentially decayed count (time
/// constant `tauMs`), divided by the decayed length of time it covers, so a young rate (less
/// than a few tau of history) is not biased low.
struct DecayedRate: Sendable, Equatable {
    static let tauMs: Double = 120_000

    private var accumulated: Double = 0
    private var atMs: Int64 = 0
    /// When the first events were added (0: never).
    private var startMs: Int64 = 0

    init() {}

    /// Adds `count` events at `now`; a `now` earlier than the last one counts as the last one.
    mutating func add(_ count: Int, now: Int64) {
        if startMs == 0 { startMs = now; atMs = now }
        let dt = Double(max(0, now - atMs))
        accumulated = accumulated * exp(-dt / Self.tauMs) + Double(count)
        atMs = max(atMs, now)
    }

    /// Events per second at `now`; 0 before the first event. At least a minute of history is
    /// assumed, so the first batch does not read as a burst.
    func perSecond(now: Int64) -> Double {
        guard startMs != 0 else { return 0 }
        let tau = Self.tauMs
        let age = Double(max(0, now - atMs))
        let span = max(Double(now - startMs), 60_000)
        return accumulated * exp(-age / tau) / (tau / 1000 * (1 - exp(-span / tau)))
    }
}
