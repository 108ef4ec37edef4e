import Foundation
import Synchronization

/// When each ingest token last wrote, for the admin API's token list. Writing the time to
/// the state store on every remote-write would add a database write to every request (a fleet of
/// 125,000 clusters sends thousands a second), so uses are kept in memory, overlaid on the
/// stored value when listing, and flushed in one transaction at most once a `flushInterval`.
/// A crash loses at most that much of "last used", which is a hint, not an audit record.
final class TokenUsage: Sendable {
    static let flushInterval: TimeInterval = 60

    private struct State {
        /// Token id → newest use (seconds since 1970) not yet written.
        var pending: [Int64: Double] = [:]
        /// Token id → newest use seen by this process (written or not).
        var seen: [Int64: Double] = [:]
        var lastFlush: Double = Date().timeIntervalSince1970
        var flushing = false
    }
    private let state = Mutex(State())

    /// Notes a use of token `id` now; starts a flush off the request when one is due.
    func record(_ id: Int64, store: any StateStore, now: Double = Date().timeIntervalSince1970) {
        let due = state.withLock { s -> Bool in
            // Newest wins: requests of one token finish in any order.
            s.pending[id] = max(s.pending[id] ?? now, now)
            // Memory stays bounded by the number of live tokens; a revoked token's entry is harmless.
            s.seen[id] = max(s.seen[id] ?? now, now)
            guard !s.flushing, now - s.lastFlush >= Self.flushInterval else { return false }
            s.flushing = true
            return true
        }
        if due { Task.detached { await self.flush(store) } }
    }

    /// Writes the pending uses; keeps them for the next flush when the database is busy.
    func flush(_ store: any StateStore) async {
        let batch = state.withLock { s -> [Int64: Double] in
            defer { s.pending = [:] }
            return s.pending
        }
        do {
            try await store.write { db in
                // The newest of every collector's uses wins, whichever flushes last.
                let greatest = db.dialect.greatest
                for (id, at) in batch {
                    try await db.execute("UPDATE ingest_tokens SET last_used_at = \(greatest)(COALESCE(last_used_at, 0), ?) WHERE id = ?",
                                         [at, id])
                }
            }
            state.withLock { s in
                s.lastFlush = Date().timeIntervalSince1970
                s.flushing = false
            }
        } catch {
            state.withLock { s in
                s.pending.merge(batch) { max($0, $1) }
                s.flushing = false
            }
        }
    }

    /// The newest use of `id`: this process's, or the stored one from earlier runs or other collectors.
    func lastUsed(_ id: Int64, stored: Double?) -> Double? {
        let mine = state.withLock { $0.seen[id] }
        switch (mine, stored) {
        case let (m?, s?): return max(m, s)
        case let (m, s): return m ?? s
        }
    }
}
