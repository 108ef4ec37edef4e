import Crypto
import Foundation
import Synchronization

/// The authorization code flow with PKCE (RFC 7636, S256): what the collector remembers between
/// sending the browser to the provider and the provider sending it back.
enum CodeFlow {
    /// 256 random bits, base64url: state, nonce, PKCE verifier, session ids.
    static func randomToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func challenge(verifier: String) -> String {
        Base64URL.encode(SHA256.hash(data: Array(verifier.utf8)))
    }

    static func authorizationURL(endpoint: String, clientID: String, redirectURI: String, scopes: [String],
                                 state: String, nonce: String, verifier: String) -> String {
        let query = FormEncoding.encode([
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI),
            ("scope", scopes.joined(separator: " ")), ("state", state), ("nonce", nonce),
            ("code_challenge", challenge(verifier: verifier)), ("code_challenge_method", "S256"),
        ])
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// Where to go after login: a path on this site only, never `//host` or `/\host`
    /// (browsers read both as another host), so the login cannot be an open redirect.
    static func localPath(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\"),
              !next.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return "/" }
        return next
    }
}

/// Logins under way, by `state`. Each is bound to the browser that started it by a random
/// value in a short-lived cookie, so a callback URL planted in someone else's browser (login
/// CSRF) does not sign that browser in; each state is used once.
final class PendingLogins: Sendable {
    struct Login: Sendable {
        let verifier: String
        let nonce: String
        let next: String
        let binding: String
        let redirectURI: String
        let started: Double
    }

    static let lifetime: Double = 600
    /// Bounded: anyone can start logins.
    static let capacity = 10_000
    private let logins = Mutex<[String: Login]>([:])
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double) { self.now = now }

    func start(next: String, redirectURI: String) -> (state: String, login: Login) {
        let state = CodeFlow.randomToken()
        let login = Login(verifier: CodeFlow.randomToken(), nonce: CodeFlow.randomToken(), next: CodeFlow.localPath(next),
                          binding: CodeFlow.randomToken(), redirectURI: redirectURI, started: now())
        let t = now()
        logins.withLock { m in
            if m.count >= Self.capacity {
                m = m.filter { t - $0.value.started < Self.lifetime }
                if m.count >= Self.capacity, let oldest = m.min(by: { $0.value.started < $1.value.started }) { m[oldest.key] = nil }
            }
            m[state] = login
        }
        return (state, login)
    }

    /// The login for `state` if this browser started it and it is fresh; removed either way.
    func finish(state: String, binding: String?) -> Login? {
        guard let login = logins.withLock({ $0.removeValue(forKey: state) }) else { return nil }
        guard let binding, Self.same(binding, login.binding), now() - login.started < Self.lifetime else { return nil }
        return login
    }

    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
