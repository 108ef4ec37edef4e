import Crypto
import Foundation
import Synchronization

/// Dashboard sessions after a single sign-on, kept server-side: the browser holds only a
/// random id in an HttpOnly cookie, and the collector keeps its SHA-256 (a leaked memory dump
/// or log holds no usable cookie). A session ends when idle too long, when it reaches its
/// maximum age, or at logout. In memory: a restart signs everyone out.
final class SessionStore: Sendable {
    struct Session: Sendable {
        let user: String
        let groups: [String]
        let principal: Principal
        /// For RP-initiated logout (`id_token_hint`).
        let idToken: String
        let created: Double
        var lastSeen: Double
    }

    let idleTimeout: Double
    let maxAge: Double
    static let capacity = 100_000
    private let sessions = Mutex<[String: Session]>([:])
    private let now: @Sendable () -> Double

    init(idleTimeout: Double, maxAge: Double, now: @escaping @Sendable () -> Double) {
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.now = now
    }

    /// A new session; returns the id for the cookie.
    func create(user: String, groups: [String], principal: Principal, idToken: String) -> String {
        let id = CodeFlow.randomToken()
        let t = now()
        let s = Session(user: user, groups: groups, principal: principal, idToken: idToken, created: t, lastSeen: t)
        sessions.withLock { m in
            if m.count >= Self.capacity { m = m.filter { live($0.value, at: t) } }
            if m.count >= Self.capacity, let oldest = m.min(by: { $0.value.lastSeen < $1.value.lastSeen }) { m[oldest.key] = nil }
            m[Self.key(id)] = s
        }
        return id
    }

    /// The session for a cookie value, if live; using it counts as activity.
    func use(_ id: String) -> Session? {
        let k = Self.key(id), t = now()
        return sessions.withLock { m in
            guard var s = m[k] else { return nil }
            guard live(s, at: t) else { m[k] = nil; return nil }
            s.lastSeen = t
            m[k] = s
            return s
        }
    }

    func end(_ id: String) -> Session? {
        sessions.withLock { $0.removeValue(forKey: Self.key(id)) }
    }

    private func live(_ s: Session, at t: Double) -> Bool {
        t - s.lastSeen < idleTimeout && t - s.created < maxAge
    }

    private static func key(_ id: String) -> String {
        SHA256.hash(data: Array(id.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
