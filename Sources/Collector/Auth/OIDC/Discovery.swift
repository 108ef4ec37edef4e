import Foundation

/// What the provider publishes at `ISSUER/.well-known/openid-configuration` (OpenID Connect
/// Discovery 1.0 §3), as far as the relying party uses it.
struct ProviderMetadata: Sendable {
    var issuer: String
    var authorizationEndpoint: String
    var tokenEndpoint: String
    var jwksURI: String
    var userinfoEndpoint: String?
    /// RP-initiated logout, where offered.
    var endSessionEndpoint: String?
    var tokenAuthMethods: [String]

    static func url(issuer: String) -> String {
        (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration"
    }

    /// The document must name exactly the configured issuer (§4.3): a document for another
    /// issuer would let its tokens in.
    init(json bytes: [UInt8], expectedIssuer: String) throws(JWTError) {
        guard case .object(let o)? = JSONValue.parse(bytes) else { throw .malformed("the discovery document is not a JSON object") }
        func url(_ key: String) throws(JWTError) -> String {
            guard let s = o[key]?.stringValue, let u = URL(string: s), u.scheme == "https" || u.scheme == "http", u.host != nil else {
                throw .malformed("the discovery document has no valid \(key)")
            }
            return s
        }
        guard let iss = o["issuer"]?.stringValue, iss == expectedIssuer else {
            throw .refused("the discovery document names issuer \(o["issuer"]?.stringValue ?? "none"), not \(expectedIssuer)")
        }
        issuer = iss
        authorizationEndpoint = try url("authorization_endpoint")
        tokenEndpoint = try url("token_endpoint")
        jwksURI = try url("jwks_uri")
        userinfoEndpoint = o["userinfo_endpoint"] == nil ? nil : try url("userinfo_endpoint")
        endSessionEndpoint = o["end_session_endpoint"] == nil ? nil : try url("end_session_endpoint")
        if case .array(let a)? = o["token_endpoint_auth_methods_supported"] {
            tokenAuthMethods = a.compactMap(\.stringValue)
        } else {
            tokenAuthMethods = ["client_secret_basic"]
        }
    }
}
