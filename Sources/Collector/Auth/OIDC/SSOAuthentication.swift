import Hummingbird
import HTTPTypes

/// How the user middleware settles a request when single sign-on is on: an explicit
/// `Authorization` header wins (Bearer from the provider; Basic goes on to local users), then
/// the session cookie; a browser asking for a page with neither is sent to sign in.
extension SingleSignOn {
    enum Outcome {
        case principal(Principal)
        case respond(Response)
        /// Not ours: HTTP Basic (or nothing) for the local users, as without single sign-on.
        case basic
    }

    func authenticate(_ request: Request, authorization: String) async -> Outcome {
        if let token = AuthorizationHeader.bearerToken(authorization) {
            switch await principal(bearer: token) {
            case .success(let p): return .principal(p)
            case .failure(let refusal):
                if let line = refusal.logMessage { logger.warning("\(line)") }
                var r = AuthResponses.text(refusal.status, refusal.message)
                if refusal.status == 401 { r.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\"" }
                if let s = refusal.retryAfterSeconds { r.headers[.retryAfter] = String(s) }
                return .respond(r)
            }
        }
        guard authorization.isEmpty else { return .basic }
        if let (_, s) = session(of: request) {
            if isCrossSite(request) { return .respond(AuthResponses.text(403, "cross-site request refused")) }
            return .principal(s.principal)
        }
        if (request.method == .get || request.method == .head), Self.wantsPage(request) {
            let next = FormEncoding.escape(request.uri.description)
            return .respond(Response(status: .found, headers: [.location: "/oidc/login?next=" + next, .cacheControl: "no-store"]))
        }
        return .basic
    }

    /// A browser navigating (not a script's fetch): it asks for HTML first.
    static func wantsPage(_ request: Request) -> Bool {
        if let mode = request.headers[HTTPField.Name("Sec-Fetch-Mode")!] { return mode == "navigate" }
        return (request.headers[.accept] ?? "").contains("text/html")
    }
}
