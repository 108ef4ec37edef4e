import Synchronization

/// Time as the login code sees it: tests move it forward instead of sleeping.
struct LoginClock: Sendable {
    let now: @Sendable () -> ContinuousClock.Instant
    static let system = LoginClock { ContinuousClock.now }
}

/// How logins are checked and throttled. Not in `collector.yml`: the defaults are the policy;
/// tests shorten them.
struct LoginPolicy: Sendable {
    /// Failures (per user name and per source address) before backing off.
    var failuresBeforeBackoff = 5
    /// The first backoff; each further failure doubles it, up to `backoffMax`.
    var backoffBase: Duration = .seconds(1)
    /// Short enough that an attacker cannot lock a known user out for long, long enough that
    /// guessing runs at about one try a minute per user and address.
    var backoffMax: Duration = .seconds(60)
    /// An address or name with no failed login for this long starts again from zero.
    var forgetAfter: Duration = .seconds(900)
    /// How stale a user's password, role and scope may be in this process: `collector user
    /// passwd|delete` in another process takes effect within this interval.
    var userRefreshInterval: Duration = .seconds(1)
    /// How long a verified directory (LDAP) login, with its groups, is reused before the
    /// directory is asked again.
    var directoryRefreshInterval: Duration = .seconds(10)
    var clock = LoginClock.system
}

/// Failed-login bookkeeping per key (a user name, a source address). A key is throttled
/// while it is backing off, and also while as many checks are in flight as it has failures
/// left: without that, 64 concurrent wrong passwords would all reach bcrypt before the first
/// failure was counted.
final class LoginThrottle: Sendable {
    private struct Entry {
        var failures = 0
        var inFlight = 0
        var blockedUntil: ContinuousClock.Instant?
        var lastSeen: ContinuousClock.Instant
    }

    enum Admission: Equatable {
        case admitted
        case throttled(retryAfterSeconds: Int)
    }

    enum Outcome { case success, failure, abandoned }

    let policy: LoginPolicy
    /// Above this many keys, idle ones are forgotten (random user names must not grow memory).
    let maxKeys: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(policy: LoginPolicy, maxKeys: Int = 10_000) {
        self.policy = policy
        self.maxKeys = maxKeys
    }

    /// Admits one login check for all `keys` (each then counts it as in flight), or none.
    func admit(_ keys: [String]) -> Admission {
        let now = policy.clock.now()
        return entries.withLock { m in
            if m.count >= maxKeys { prune(&m, now: now) }
            var wait = Duration.zero
            for k in keys {
                guard let e = m[k] else { continue }
                if let until = e.blockedUntil, now < until {
                    wait = max(wait, until - now)
                } else if e.inFlight > 0 && e.failures + e.inFlight >= policy.failuresBeforeBackoff {
                    wait = max(wait, .seconds(1))
                }
            }
            if wait > .zero { return .throttled(retryAfterSeconds: Self.wholeSecondsUp(wait)) }
            for k in keys {
                m[k, default: Entry(lastSeen: now)].inFlight += 1
                m[k]?.lastSeen = now
            }
            return .admitted
        }
    }

    /// Ends a check `admit` let through.
    func finish(_ keys: [String], _ outcome: Outcome) {
        let now = policy.clock.now()
        entries.withLock { m in
            for k in keys {
                guard var e = m[k] else { continue }
                e.inFlight = max(0, e.inFlight - 1)
                e.lastSeen = now
                switch outcome {
                case .abandoned: break
                case .success:
                    e.failures = 0
                    e.blockedUntil = nil
                case .failure:
                    e.failures += 1
                    if e.failures >= policy.failuresBeforeBackoff {
                        let doublings = min(e.failures - policy.failuresBeforeBackoff, 20)
                        e.blockedUntil = now + min(policy.backoffBase * (1 << doublings), policy.backoffMax)
                    }
                }
                if e.failures == 0 && e.inFlight == 0 { m[k] = nil } else { m[k] = e }
            }
        }
    }

    private func prune(_ m: inout [String: Entry], now: ContinuousClock.Instant) {
        m = m.filter { _, e in e.inFlight > 0 || now - e.lastSeen < policy.forgetAfter }
        if m.count >= maxKeys {
            // Still full (a flood of distinct names or addresses): keep only what blocks now.
            m = m.filter { _, e in e.inFlight > 0 || (e.blockedUntil.map { now < $0 } ?? false) }
        }
    }

    static func wholeSecondsUp(_ d: Duration) -> Int {
        let (s, atto) = d.components
        return max(1, Int(s) + (atto > 0 ? 1 : 0))
    }
}
