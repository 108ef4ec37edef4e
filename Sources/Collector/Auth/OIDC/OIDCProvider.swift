import Crypto
import Foundation

/// The provider as the collector sees it: discovery and keys fetched when first needed and
/// kept, keys fetched again when a token names a key we do not have (rotation), the token
/// endpoint and userinfo. A provider that is down makes logins fail with 503, never pass.
actor OIDCProvider {
    let options: OIDCOptions
    let verifier: TokenVerifier
    private let now: @Sendable () -> Double
    private var metadata: ProviderMetadata?
    private var keys: JWKSet?
    private var keysFetched: ContinuousClock.Instant?
    /// Unknown `kid`s make us refetch, but not more than once per interval: random kids in
    /// forged tokens must not turn the collector into a load generator against the provider.
    static let keyRefetchInterval: Duration = .seconds(10)

    init(options: OIDCOptions, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.options = options
        verifier = TokenVerifier(issuer: options.issuer, clientID: options.clientID, extraAudiences: Set(options.audiences),
                                 leeway: options.clockSkew.seconds)
        self.now = now
    }

    struct Unavailable: Error, CustomStringConvertible { let description: String }

    func discovered() async throws -> ProviderMetadata {
        if let metadata { return metadata }
        let url = ProviderMetadata.url(issuer: options.issuer)
        let r: OIDCHTTP.Response
        do { r = try await OIDCHTTP.get(url) } catch { throw Unavailable(description: "discovery at \(url): \(error)") }
        guard r.status == 200 else { throw Unavailable(description: "discovery at \(url) answered \(r.status)") }
        let m = try ProviderMetadata(json: r.body, expectedIssuer: options.issuer)
        metadata = m
        return m
    }

    private func fetchKeys() async throws -> JWKSet {
        let m = try await discovered()
        let r: OIDCHTTP.Response
        do { r = try await OIDCHTTP.get(m.jwksURI) } catch { throw Unavailable(description: "JWKS at \(m.jwksURI): \(error)") }
        guard r.status == 200 else { throw Unavailable(description: "JWKS at \(m.jwksURI) answered \(r.status)") }
        let set = try JWKSet(json: r.body)
        keys = set
        keysFetched = .now
        return set
    }

    /// A token's signature and claims. Throws `JWTError` for a bad token, `Unavailable` when
    /// the provider cannot be reached to get its keys.
    func verify(_ token: String, nonce: String?) async throws -> JWT {
        let jwt = try JWT(compact: token)
        // Refuse what no key could verify before any fetch.
        guard TokenVerifier.algorithms.contains(jwt.algorithm) else { throw JWTError.refused("algorithm \(jwt.algorithm) is not accepted") }
        var set: JWKSet
        if let keys { set = keys } else { set = try await fetchKeys() }
        if set.candidates(keyID: jwt.keyID).isEmpty, keysFetched.map({ .now - $0 >= Self.keyRefetchInterval }) ?? true {
            set = try await fetchKeys()
        }
        try verifier.checkSignature(jwt, keys: set)
        try verifier.checkClaims(jwt, now: now(), nonce: nonce)
        return jwt
    }

    struct Tokens: Sendable {
        var idToken: String
        var accessToken: String?
    }

    /// The authorization code for tokens (with the PKCE verifier), authenticating as the client.
    func exchange(code: String, verifier: String, redirectURI: String) async throws -> Tokens {
        let m = try await discovered()
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier)]
        var headers: [(String, String)] = []
        if m.tokenAuthMethods.contains("client_secret_basic") || !m.tokenAuthMethods.contains("client_secret_post") {
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let pair = FormEncoding.escape(options.clientID) + ":" + FormEncoding.escape(options.clientSecret)
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        } else {
            form += [("client_id", options.clientID), ("client_secret", options.clientSecret)]
        }
        let r: OIDCHTTP.Response
        do { r = try await OIDCHTTP.postForm(m.tokenEndpoint, form: form, headers: headers) } catch {
            throw Unavailable(description: "token endpoint: \(error)")
        }
        guard r.status == 200, case .object(let o)? = JSONValue.parse(r.body), let id = o["id_token"]?.stringValue else {
            throw JWTError.refused("the token endpoint answered \(r.status): \(String(decoding: r.body.prefix(300), as: UTF8.self))")
        }
        return Tokens(idToken: id, accessToken: o["access_token"]?.stringValue)
    }

    /// Claims from the userinfo endpoint for an access token; nil when the token is refused.
    /// This is also how opaque (non-JWT) access tokens are checked: the provider vouches for them.
    func userinfo(accessToken: String) async throws -> [String: JSONValue]? {
        guard let endpoint = try await discovered().userinfoEndpoint else { return nil }
        let r: OIDCHTTP.Response
        do { r = try await OIDCHTTP.get(endpoint, headers: [("Authorization", "Bearer " + accessToken)]) } catch {
            throw Unavailable(description: "userinfo: \(error)")
        }
        if r.status == 401 || r.status == 403 || r.status == 400 { return nil }
        guard r.status == 200 else { throw Unavailable(description: "userinfo answered \(r.status)") }
        // A JWT-signed userinfo answer is not asked for; plain JSON is what we take.
        guard case .object(let o)? = JSONValue.parse(r.body) else { return nil }
        return o
    }

    /// The groups in a set of claims: an array of strings, or one string.
    nonisolated func groups(in claims: [String: JSONValue]) -> [String]? {
        switch claims[options.groupsClaim] {
        case .array(let a)?: return a.compactMap(\.stringValue)
        case .string(let s)?: return [s]
        default: return nil
        }
    }

    /// Who a token speaks for: `preferred_username`, else `email`, else `sub`.
    nonisolated static func userName(_ claims: [String: JSONValue]) -> String {
        for k in ["preferred_username", "email", "sub"] { if let s = claims[k]?.stringValue, !s.isEmpty { return s } }
        return "?"
    }
}
