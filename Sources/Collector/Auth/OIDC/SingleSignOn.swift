import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Single sign-on as the routes and the user middleware need it: who a session cookie or a
/// bearer token speaks for, the group grant behind it, and the cookies.
final class SingleSignOn: Sendable {
    let options: OIDCOptions
    let provider: OIDCProvider
    let groupRoles: GroupRoles
    let pending: PendingLogins
    let sessions: SessionStore
    /// Cookies get `Secure` when the collector serves TLS.
    let secureCookies: Bool
    /// Base of the redirect URI when `redirect_url` is not set (alerting.external_url).
    let externalURL: String?
    let logger: Logger
    private let now: @Sendable () -> Double
    /// Opaque access tokens as userinfo vouched for them, by SHA-256, for a minute: Grafana
    /// sends the same token with every panel.
    private let opaqueTokens = Mutex<[String: (principal: Principal, checked: Double)]>([:])
    static let opaqueTokenTTL: Double = 60

    static let sessionCookie = "fs_session"
    static let bindingCookie = "fs_login"
    /// Not HttpOnly and no secret: tells the dashboard's script to show "Sign out".
    static let markerCookie = "fs_signed_in"

    init(options: OIDCOptions, groupRoles: GroupRoles, secureCookies: Bool, externalURL: String?, logger: Logger,
         now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.options = options
        provider = OIDCProvider(options: options, now: now)
        self.groupRoles = groupRoles
        pending = PendingLogins(now: now)
        sessions = SessionStore(idleTimeout: Double(options.sessionIdleTimeout.components.seconds),
                                maxAge: Double(options.sessionMaxAge.components.seconds), now: now)
        self.secureCookies = secureCookies
        self.externalURL = externalURL
        self.logger = logger
        self.now = now
    }

    func redirectURI(for request: Request) -> String {
        if let r = options.redirectURL { return r }
        if let base = externalURL { return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/oidc/callback" }
        return origin(of: request) + "/oidc/callback"
    }

    func origin(of request: Request) -> String {
        (secureCookies ? "https://" : "http://") + (request.head.authority ?? "localhost")
    }

    // MARK: sessions

    func session(of request: Request) -> (id: String, session: SessionStore.Session)? {
        guard let id = Self.cookie(Self.sessionCookie, in: request), let s = sessions.use(id) else { return nil }
        return (id, s)
    }

    /// A request that changes something and comes from another site is refused even though the
    /// browser attached the session cookie. SameSite=Lax already keeps the cookie off cross-site
    /// POSTs; this holds where it does not (old browsers, same-site sibling hosts).
    func isCrossSite(_ request: Request) -> Bool {
        if [.get, .head, .options].contains(request.method) { return false }
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" { return true }
        if let o = request.headers[HTTPField.Name("Origin")!], o != origin(of: request) { return true }
        return false
    }

    func setCookie(_ name: String, _ value: String, maxAge: Int?, httpOnly: Bool = true) -> String {
        var c = "\(name)=\(value); Path=/; SameSite=Lax"
        if httpOnly { c += "; HttpOnly" }
        if secureCookies { c += "; Secure" }
        if let maxAge { c += "; Max-Age=\(maxAge)" }
        return c
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == name { return String(kv[1]) }
            }
        }
        return nil
    }

    // MARK: bearer tokens

    /// A bearer token from the provider: a JWT (ID or access token) verified with the JWKS,
    /// or an opaque access token that the userinfo endpoint accepts. Ingest tokens (`fst_`)
    /// never leave the collector.
    func principal(bearer token: String) async -> Result<Principal, LoginRefusal> {
        if token.hasPrefix("fst_") {
            return .failure(LoginRefusal(status: 401, message: "ingest tokens cannot read; use a user or a token from the identity provider"))
        }
        do {
            var claims: [String: JSONValue]
            if token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
                claims = try await provider.verify(token, nonce: nil).claims
                if provider.groups(in: claims) == nil, let info = try await provider.userinfo(accessToken: token) {
                    claims.merge(info) { own, _ in own }
                }
            } else {
                let key = SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
                let t = now()
                if let hit = opaqueTokens.withLock({ $0[key] }), t - hit.checked < Self.opaqueTokenTTL { return .success(hit.principal) }
                guard let info = try await provider.userinfo(accessToken: token) else {
                    return .failure(LoginRefusal(status: 401, message: "the identity provider does not accept this access token"))
                }
                claims = info
                let result = grant(claims)
                if case .success(let p) = result {
                    opaqueTokens.withLock { m in
                        if m.count >= 10_000 { m = m.filter { t - $0.value.checked < Self.opaqueTokenTTL } }
                        if m.count < 10_000 { m[key] = (p, t) }
                    }
                }
                return result
            }
            return grant(claims)
        } catch let e as JWTError {
            return .failure(LoginRefusal(status: 401, message: "\(e)", logMessage: "refused bearer token: \(e)"))
        } catch {
            return .failure(LoginRefusal(status: 503, message: "cannot check the token with the identity provider right now; retry",
                                         retryAfterSeconds: 5, logMessage: "identity provider: \(error)"))
        }
    }

    private func grant(_ claims: [String: JSONValue]) -> Result<Principal, LoginRefusal> {
        let name = OIDCProvider.userName(claims)
        let groups = provider.groups(in: claims) ?? []
        guard let g = groupRoles.grant(groups: groups) else {
            return .failure(LoginRefusal(status: 403, message: Self.noGroupMessage(user: name, groups: groups, claim: options.groupsClaim)))
        }
        return .success(g.principal(name: name))
    }

    static func noGroupMessage(user: String, groups: [String], claim: String) -> String {
        let list = groups.isEmpty ? "no groups (claim \"\(claim)\")" : "the groups " + groups.map { "\"\($0)\"" }.joined(separator: ", ")
        return "\(user) has \(list), and none of them is mapped to a role in auth.group_roles of collector.yml; ask an administrator to map one of your groups"
    }
}
