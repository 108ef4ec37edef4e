import Foundation
import Hummingbird
import HTTPTypes
import Logging

/// Establishes the caller on every request: an ingest token for `/api/v1/write`, a user
/// (HTTP Basic) for everything else. Only the health endpoints are open. `--no-auth`
/// turns it off.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = CollectorContext
    let access: AccessControl?
    let logger: Logger

    static let open: Set<String> = ["/-/healthy", "/-/ready"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let access else { return try await next(request, context) }
        let path = request.uri.path
        if Self.open.contains(path) { return try await next(request, context) }
        var context = context
        let auth = request.headers[.authorization] ?? ""
        if path == "/api/v1/write" {
            guard auth.lowercased().hasPrefix("bearer ") else {
                return Self.text(401, "missing ingest token: send \"Authorization: Bearer <token>\"; create one with `collector token create --data-dir DIR --cluster NAME`")
            }
            let token = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            guard let cluster = try access.cluster(forToken: token) else {
                logger.warning("remote-write with an unknown or revoked ingest token")
                return Self.text(401, "unknown or revoked ingest token")
            }
            context.principal = .cluster(cluster)
            return try await next(request, context)
        }
        switch await access.login.authenticate(authorization: auth, remoteAddress: context.remoteAddress?.ipAddress) {
        case .success(let principal):
            context.principal = principal
            return try await next(request, context)
        case .failure(let refusal):
            return Self.refuse(refusal, logger: logger)
        }
    }

    /// 401 asks for credentials again; 429 says when to retry (no bcrypt ran).
    static func refuse(_ r: LoginRefusal, logger: Logger) -> Response {
        if let line = r.logMessage { logger.warning("\(line)") }
        if r.status == 401 { return challenge(r.message) }
        var resp = text(r.status, r.message)
        if let s = r.retryAfterSeconds { resp.headers[.retryAfter] = String(s) }
        return resp
    }

    static func text(_ status: Int, _ message: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    private static func challenge(_ message: String) -> Response {
        var r = text(401, message)
        r.headers[.wwwAuthenticate] = "Basic realm=\"fleetscope\", charset=\"UTF-8\""
        return r
    }
}
