import Foundation

/// Checks a parsed token against the provider's keys and the claims OpenID Connect Core §3.1.3.7
/// requires of an ID token; access tokens that are JWTs (RFC 9068) are held to the same.
struct TokenVerifier: Sendable {
    let issuer: String
    let clientID: String
    /// Other clients of the same provider whose bearer tokens the API takes (Grafana's client
    /// when it forwards the user's OAuth identity). Never for the ID token at login.
    var extraAudiences: Set<String> = []
    /// Accepted clock difference for `exp`, `iat` and `nbf`.
    var leeway: Double = 60
    /// Tokens issued further in the past than this are refused even if `exp` says otherwise.
    var maxAge: Double = 24 * 3600

    /// Algorithms we verify. Never `none`, never HMAC: an HS256 token "signed" with the
    /// provider's public key must not pass.
    static let algorithms: Set<String> = ["RS256", "RS384", "RS512", "ES256"]


    func checkSignature(_ jwt: JWT, keys: JWKSet) throws(JWTError) {
        guard Self.algorithms.contains(jwt.algorithm) else { throw .refused("algorithm \(jwt.algorithm) is not accepted") }
        let candidates = keys.candidates(keyID: jwt.keyID)
        guard !candidates.isEmpty else { throw .refused("no key \(jwt.keyID ?? "") in the provider's JWKS") }
        guard candidates.contains(where: { $0.verifies(alg: jwt.algorithm, input: jwt.signingInput, signature: jwt.signature) }) else {
            throw .refused("bad signature")
        }
    }

    /// `nonce`: the value sent in the authorization request (ID tokens at login); nil for bearer tokens.
    func checkClaims(_ jwt: JWT, now: Double, nonce: String?) throws(JWTError) {
        guard jwt.string("iss") == issuer else { throw .refused("issuer \(jwt.string("iss") ?? "none") is not \(issuer)") }
        // At login (nonce given) the ID token must be for us; a bearer token may also be for a listed client.
        let accepted = nonce == nil ? extraAudiences.union([clientID]) : [clientID]
        let aud = jwt.audiences
        guard aud.contains(where: accepted.contains) else { throw .refused("audience \(aud) does not include \(accepted.sorted())") }
        if aud.count > 1, let azp = jwt.string("azp"), !accepted.contains(azp) { throw .refused("authorized party \(azp) is not \(accepted.sorted())") }
        guard let exp = jwt.date("exp") else { throw .refused("no exp") }
        guard now < exp + leeway else { throw .refused("expired") }
        guard let iat = jwt.date("iat") else { throw .refused("no iat") }
        guard iat <= now + leeway else { throw .refused("issued in the future") }
        guard now - iat <= maxAge else { throw .refused("issued too long ago") }
        if let nbf = jwt.date("nbf"), nbf > now + leeway { throw .refused("not valid yet") }
        guard let sub = jwt.string("sub"), !sub.isEmpty else { throw .refused("no sub") }
        if let nonce {
            guard jwt.string("nonce") == nonce else { throw .refused("nonce does not match the login") }
        }
    }
}
