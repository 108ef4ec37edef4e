import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The rule lease in PostgreSQL: a row `rule_lease(name, holder, expires_at)` that a replica
/// takes when it is free or expired and renews while it holds it.
///
/// Why a row with a TTL rather than an advisory lock: an advisory lock lives as long as the
/// holder's session, and a half-dead connection (the holder frozen, or its network gone without
/// a FIN) keeps the session, and the lock, until TCP keepalive gives up, minutes later; nobody
/// could take over within an evaluation interval. A row expires by the database's clock whatever
/// happens to the holder, and the holder stops by its own monotonic clock first:
///
/// - a renewal that *starts* at local time s and succeeds sets expires_at = (database now) + ttl,
///   and the database's now is later than s, so nobody else can take the row before s + ttl;
/// - the holder counts itself the holder only until s + 0.9 × ttl (`heldTerm`), without asking
///   the network: a holder that cannot renew (connection lost, database unreachable, process
///   frozen and resumed) has stopped evaluating before another replica can take the lease.
///
/// An evaluation already under way when the lease lapses could still try to notify; the alert
/// state store's save is fenced on the lease row (see PostgresAlertStateStore), and notifications
/// go out only after that save, so such a straggler notifies nothing.
///
/// Timing (`timing(evaluationIntervalMs:)`): ttl = 2/3 of the shortest group interval, renewed
/// every ttl/4, so a dead holder's lease is free after at most ttl and taken by the next attempt,
/// within one evaluation interval.
final class PostgresRuleLease: RuleLease {
    let client: PostgresClient
    let holderID: String
    let ttl: Duration
    let renewEvery: Duration
    let name: String
    private let logger: Logger
    private let hold = Mutex<(term: UInt64, validUntil: ContinuousClock.Instant?)>((0, nil))

    init(client: PostgresClient, holderID: String, ttl: Duration, renewEvery: Duration, name: String = "rules", logger: Logger) {
        self.client = client
        self.holderID = holderID
        self.ttl = ttl
        self.renewEvery = renewEvery
        self.name = name
        self.logger = logger
    }

    /// See the type's comment; at least 300 ms, so a fast interval does not turn the lease into
    /// a flood of renewals.
    static func timing(evaluationIntervalMs: Int64) -> (ttl: Duration, renewEvery: Duration) {
        let ttlMs = max(300, evaluationIntervalMs * 2 / 3)
        return (.milliseconds(ttlMs), .milliseconds(max(75, ttlMs / 4)))
    }

    /// A name unique to this process: host, pid and a random part (a restarted process with the
    /// same pid must not inherit the lease of its dead predecessor).
    static func defaultHolderID(port: Int) -> String {
        "\(ProcessInfo.processInfo.hostName):\(port)/\(getpid())/\(UUID().uuidString.prefix(8))"
    }

    var heldTerm: UInt64? {
        hold.withLock { h in
            guard let until = h.validUntil, ContinuousClock.now < until else { return nil }
            return h.term
        }
    }

    func run(changed: @escaping @Sendable (Bool) -> Void) async {
        var wasHeld = false
        var schemaReady = false
        var lastError = ""
        // An attempt may take at most half the ttl: a slower one could not extend the hold anyway.
        let attemptLimit = ttl / 2
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                if !schemaReady {
                    try await raceTimeout(.seconds(10)) { [client, logger] in try await RuleStateSchema.migrate(client, logger: logger) }
                    schemaReady = true
                }
                let got = try await raceTimeout(attemptLimit) { try await self.tryAcquire() }
                hold.withLock { h in
                    guard got else { h.validUntil = nil; return }
                    // A new term when the hold had lapsed: the shared state may have moved on.
                    if h.validUntil.map({ ContinuousClock.now >= $0 }) ?? true { h.term += 1 }
                    h.validUntil = started + ttl * 0.9
                }
                lastError = ""
            } catch {
                // Keep the hold as it is: it lapses by itself if the next attempts fail too.
                let text = "\(error)"
                if text != lastError { logger.warning("rule lease: renewing in PostgreSQL failed: \(text)") }
                lastError = text
            }
            let held = heldTerm != nil
            if held != wasHeld { changed(held); wasHeld = held }
            try? await Task.sleep(until: started + renewEvery, clock: .continuous)
        }
        hold.withLock { $0.validUntil = nil }
        if wasHeld { changed(false) }
        // Shutting down: free the row so another replica takes over at its next attempt
        // instead of after the ttl. (A separate task: this one is cancelled.)
        let release = Task { [self] in try? await raceTimeout(.seconds(2)) { try await self.release() } }
        _ = await release.value
    }

    /// Takes the row if it is free or expired, or renews it if it is ours; true when ours.
    func tryAcquire() async throws -> Bool {
        let ms = Double(ttl.components.seconds) * 1000 + Double(ttl.components.attoseconds) / 1e15
        let rows = try await client.query("""
            INSERT INTO rule_lease (name, holder, expires_at) VALUES (\(name), \(holderID), now() + \(ms)::float8 * interval '1 millisecond')
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE rule_lease.holder = EXCLUDED.holder OR rule_lease.expires_at < now()
            RETURNING holder
            """, logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    func release() async throws {
        try await client.query("DELETE FROM rule_lease WHERE name = \(name) AND holder = \(holderID)", logger: logger)
    }
}
