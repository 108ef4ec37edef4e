#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A public TLS listener meets scanners and misconfigured clients by the thousand: every
/// refusal is worth a log line until it floods the log. At most `perWindow` lines per
/// window; the next line after a full window says how many were left out.
final class LogBudget: Sendable {
    private let perWindow: Int
    private let windowNanos: UInt64
    private let state = Mutex((windowStart: UInt64(0), used: 0, suppressed: 0))

    init(perWindow: Int = 20, window: Duration = .seconds(10)) {
        self.perWindow = perWindow
        windowNanos = UInt64(window.components.seconds) * 1_000_000_000
    }

    /// nil: skip this line. Otherwise the number of lines left out before it (usually 0).
    func take(now: UInt64 = MonotonicClock.now()) -> Int? {
        state.withLock { s in
            if now &- s.windowStart >= windowNanos {
                let left = s.suppressed
                s = (now, 1, 0)
                return left
            }
            guard s.used < perWindow else { s.suppressed += 1; return nil }
            s.used += 1
            return 0
        }
    }
}

enum MonotonicClock {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
