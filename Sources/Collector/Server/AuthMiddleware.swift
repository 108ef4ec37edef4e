import Foundation
import Hummingbird
import HTTPTypes
import Logging

/// Authentication is bound to route groups (Routes/RouteAccess.swift), never to path strings: the write group takes
/// ingest identities only, the user group takes users only, and a route belongs to exactly
/// one of them however its path is spelled (`/api/v1/write/`, `//api/v1/write`, ...), because
/// the router, not a string comparison, decides which group a request reaches.
/// `--no-auth` (access nil) lets everything through as `.anonymous`.

/// The remote-write group: an ingest token (`Authorization: Bearer`) or a verified client
/// certificate (ClientCertificateAuth.swift), nothing else. User credentials are refused here
/// so a viewer can never write as a cluster.
struct IngestAuthMiddleware: RouterMiddleware {
    typealias Context = CollectorContext
    let access: AccessControl?
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let access else { return try await next(request, context) }
        var context = context
        let bearer = AuthorizationHeader.bearerToken(request.headers[.authorization] ?? "")
        if bearer == nil {
            switch await Self.principalFromClientCertificate(context) {
            case .success(let principal)?:
                context.principal = principal
                return try await next(request, context)
            case .failure(let refusal)?: return AuthResponses.text(401, refusal.description)
            case nil: break
            }
        }
        guard let token = bearer else {
            return AuthResponses.text(401, "remote-write needs an ingest token: send \"Authorization: Bearer <token>\"; create one with `collector token create --data-dir DIR --cluster NAME` (user credentials cannot write)")
        }
        let identity: IngestIdentity?
        do {
            identity = try await access.cluster(forToken: token)
        } catch {
            // The access database is busy or broken: the sender must retry, not give up.
            logger.error("looking up an ingest token failed: \(error)")
            let why = error is StateStoreUnavailable ? " (the state store cannot be reached)" : ""
            var r = AuthResponses.text(503, "cannot check the ingest token right now\(why); retry")
            r.headers[.retryAfter] = "5"
            return r
        }
        guard let identity else {
            logger.warning("remote-write with an unknown or revoked ingest token")
            return AuthResponses.text(401, "unknown or revoked ingest token")
        }
        context.principal = .cluster(identity)
        return try await next(request, context)
    }
}

/// Everything people and their tools read (API, fleet, dashboard, /metrics): HTTP Basic
/// users, and with single sign-on also session cookies and the provider's bearer tokens
/// (OIDC/SingleSignOn.swift). Ingest tokens never read.
struct UserAuthMiddleware: RouterMiddleware {
    typealias Context = CollectorContext
    let access: AccessControl?
    var sso: SingleSignOn? = nil
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let access else { return try await next(request, context) }
        var context = context
        let auth = request.headers[.authorization] ?? ""
        if let sso {
            switch await sso.authenticate(request, authorization: auth) {
            case .principal(let p):
                context.principal = p
                return try await next(request, context)
            case .respond(let r): return r
            case .basic: break
            }
        }
        switch await access.login.authenticate(authorization: auth, remoteAddress: context.remoteAddress?.ipAddress) {
        case .success(let principal):
            context.principal = principal
            return try await next(request, context)
        case .failure(let refusal):
            return AuthResponses.refuse(refusal, logger: logger)
        }
    }
}

enum AuthResponses {
    static func text(_ status: Int, _ message: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    /// 401 asks for credentials again; 429 says when to retry (no bcrypt ran).
    static func refuse(_ r: LoginRefusal, logger: Logger) -> Response {
        if let line = r.logMessage { logger.warning("\(line)") }
        if r.status == 401 { return challenge(r.message) }
        var resp = text(r.status, r.message)
        if let s = r.retryAfterSeconds { resp.headers[.retryAfter] = String(s) }
        return resp
    }

    static func challenge(_ message: String) -> Response {
        var r = text(401, message)
        r.headers[.wwwAuthenticate] = "Basic realm=\"fleetscope\", charset=\"UTF-8\""
        return r
    }
}
