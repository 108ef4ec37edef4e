import Foundation
import YAMLTree

/// `auth.oidc`: single sign-on through an OpenID Connect provider.
/// ```yaml
/// auth:
///   oidc:
///     issuer: https://idp.example.com/realms/ops   # discovery: ISSUER/.well-known/openid-configuration
///     client_id: fleetscope
///     client_secret_file: oidc-secret               # mode 0600, like every private file
///     scopes: [openid, profile, groups]             # openid is always asked for
///     groups_claim: groups                          # the claim (ID token, access token or userinfo) with the groups
///     redirect_url: https://fleet.example.com/oidc/callback   # default: alerting.external_url or the request's host
///     session_idle_timeout: 1h
///     session_max_age: 12h
///     clock_skew: 1m                                # accepted clock difference for exp/iat/nbf
///     audiences: [grafana]                          # other clients whose bearer tokens the API takes
/// ```
struct OIDCOptions: Sendable {
    var issuer: String
    var clientID: String
    var clientSecret: String
    var scopes: [String] = ["openid", "profile", "groups"]
    var groupsClaim = "groups"
    var redirectURL: String?
    var sessionIdleTimeout: Duration = .seconds(3600)
    var sessionMaxAge: Duration = .seconds(12 * 3600)
    var clockSkew: Duration = .seconds(60)
    var audiences: [String] = []

    static let keys: Set<String> = ["issuer", "client_id", "client_secret_file", "scopes", "groups_claim", "redirect_url",
                                    "session_idle_timeout", "session_max_age", "clock_skew", "audiences"]

    init(issuer: String, clientID: String, clientSecret: String) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    init(node: YAMLNode, file: String) throws {
        func fail(_ n: YAMLNode, _ why: String) -> OptionsError { OptionsError("\(file):\(n.line): auth.oidc\(why)") }
        guard let m = node.mapping else { throw fail(node, " must be a mapping { issuer, client_id, client_secret_file, scopes, groups_claim }") }
        var issuer: String?, clientID: String?, secret: String?
        var scopes: [String]?, groupsClaim: String?, redirect: String?, idle: Duration?, maxAge: Duration?, skew: Duration?, audiences: [String]?
        for pair in m {
            let v = pair.value.scalar ?? ""
            let key = pair.key.scalar ?? ""
            func duration() throws -> Duration {
                guard let ms = parseDurationMs(v), ms > 0 else { throw fail(pair.value, ".\(key): invalid duration \"\(v)\"") }
                return .milliseconds(ms)
            }
            switch key {
            case "issuer":
                guard let u = URL(string: v), let host = u.host, u.query == nil, u.fragment == nil,
                      u.scheme == "https" || (u.scheme == "http" && CollectorServer.isLoopback(host)) else {
                    throw fail(pair.value, ".issuer: \"\(v)\" must be an https URL (http only on loopback, for tests)")
                }
                issuer = v
            case "client_id":
                guard !v.isEmpty else { throw fail(pair.value, ".client_id must not be empty") }
                clientID = v
            case "client_secret_file":
                let base = (file as NSString).deletingLastPathComponent
                let path = v.hasPrefix("/") || base.isEmpty ? v : base + "/" + v
                do { secret = try Self.readSecret(path) } catch { throw fail(pair.value, ".client_secret_file: \(error)") }
            case "scopes":
                guard let seq = pair.value.sequence, seq.allSatisfy({ !($0.scalar ?? "").isEmpty && !($0.scalar ?? "").contains(" ") }) else {
                    throw fail(pair.value, ".scopes must be a list of scope names")
                }
                scopes = seq.compactMap(\.scalar)
            case "groups_claim":
                guard !v.isEmpty else { throw fail(pair.value, ".groups_claim must not be empty") }
                groupsClaim = v
            case "redirect_url":
                guard let u = URL(string: v), u.scheme == "https" || u.scheme == "http", u.host != nil else {
                    throw fail(pair.value, ".redirect_url: \"\(v)\" is not an http(s) URL")
                }
                redirect = v
            case "session_idle_timeout": idle = try duration()
            case "session_max_age": maxAge = try duration()
            case "clock_skew": skew = try duration()
            case "audiences":
                guard let seq = pair.value.sequence, seq.allSatisfy({ !($0.scalar ?? "").isEmpty }) else {
                    throw fail(pair.value, ".audiences must be a list of client ids")
                }
                audiences = seq.compactMap(\.scalar)
            case let k:
                throw fail(pair.key, ": unknown key \"\(k)\" (known: \(Self.keys.sorted().joined(separator: ", ")))")
            }
        }
        guard let issuer else { throw fail(node, " needs issuer (the provider's URL)") }
        guard let clientID else { throw fail(node, " needs client_id") }
        guard let secret else { throw fail(node, " needs client_secret_file (a file with the client secret, mode 0600)") }
        self.init(issuer: issuer, clientID: clientID, clientSecret: secret)
        if let scopes { self.scopes = scopes.contains("openid") ? scopes : ["openid"] + scopes }
        if let groupsClaim { self.groupsClaim = groupsClaim }
        redirectURL = redirect
        if let idle { sessionIdleTimeout = idle }
        if let maxAge { sessionMaxAge = maxAge }
        if let skew { clockSkew = skew }
        if let audiences { self.audiences = audiences }
    }

    /// The client secret is a credential: refused when group or others may read it.
    static func readSecret(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw OptionsError("cannot read \(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o077 == 0 else {
            throw OptionsError("\(path) is readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 \(path)")
        }
        guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw OptionsError("cannot read \(path)")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw OptionsError("\(path) is empty") }
        return secret
    }
}
