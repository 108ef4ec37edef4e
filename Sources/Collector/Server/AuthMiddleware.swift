import Foundation
import Hummingbird
import HTTPTypes
import Logging

/// Authentication is bound to route groups, never to path strings: the write group takes
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
        let auth = request.headers[.authorization] ?? ""
        if !auth.lowercased().hasPrefix("bearer ") {
            switch await Self.principalFromClientCertificate(context) {
            case .success(let principal)?:
                context.principal = principal
                return try await next(request, context)
            case .failure(let refusal)?: return AuthResponses.text(401, refusal.description)
            case nil: break
            }
        }
        guard auth.lowercased().hasPrefix("bearer ") else {
            return AuthResponses.text(401, "remote-write needs an ingest token: send \"Authorization: Bearer <token>\"; create one with `collector token create --data-dir DIR --cluster NAME` (user credentials cannot write)")
        }
        let token = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let cluster = try access.cluster(forToken: token) else {
            logger.warning("remote-write with an unknown or revoked ingest token")
            return AuthResponses.text(401, "unknown or revoked ingest token")
        }
        context.principal = .cluster(cluster)
        return try await next(request, context)
    }
}

/// Everything people and their tools read (API, fleet, dashboard, /metrics): HTTP Basic
/// users only. Ingest tokens never read.
struct UserAuthMiddleware: RouterMiddleware {
    typealias Context = CollectorContext
    let access: AccessControl?
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let access else { return try await next(request, context) }
        var context = context
        let auth = request.headers[.authorization] ?? ""
        guard auth.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(auth.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { return AuthResponses.challenge("authentication required") }
        let user = String(pair[..<colon]), password = String(pair[pair.index(after: colon)...])
        guard let principal = try access.authenticate(user: user, password: password) else {
            logger.warning("failed login for user \(AuthResponses.quoted(user))")
            return AuthResponses.challenge("invalid user name or password")
        }
        context.principal = principal
        return try await next(request, context)
    }
}

enum AuthResponses {
    static func text(_ status: Int, _ message: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func challenge(_ message: String) -> Response {
        var r = text(401, message)
        r.headers[.wwwAuthenticate] = "Basic realm=\"fleetscope\", charset=\"UTF-8\""
        return r
    }

    /// A caller-chosen string in a log line, quoted and escaped, so a user name with `"` or a
    /// newline cannot forge log lines.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.prefix(128).unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) || u.value == 0x2028 || u.value == 0x2029 {
                    out += "\\u{" + String(u.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
