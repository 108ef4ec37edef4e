import Hummingbird
import HTTPTypes
import Logging

/// Who may call a route. A route is declared in exactly one access group, which carries the
/// matching middleware, so a route's access is fixed where it is declared and never decided
/// again by comparing path strings.
enum RouteAccess: String, Sendable {
    /// Liveness and readiness probes, and the 405/OPTIONS answers: nothing behind them reads or writes data.
    case open
    /// Remote-write: an ingest token or a verified client certificate (IngestAuthMiddleware).
    case ingest
    /// What people and their tools read: HTTP Basic users, each read narrowed to the user's scope (UserAuthMiddleware).
    case user
    /// The admin API and page: a user as for `user`, with the admin role; state-changing
    /// requests same-origin only (UserAuthMiddleware, then AdminOnlyMiddleware).
    case admin
}

/// One declared route: method, path pattern (as the router spells it) and access.
struct DeclaredRoute: Hashable, Sendable {
    let method: HTTPRequest.Method
    let path: String
    let access: RouteAccess
}

/// Every route as declared, in order; filled while the router is built. The 405/OPTIONS
/// answers are derived from it, and the security tests check it against the router.
final class RouteDeclarations {
    private(set) var routes: [DeclaredRoute] = []
    private(set) var patterns: [String: RouterPath] = [:]

    func record(_ method: HTTPRequest.Method, _ path: RouterPath, _ access: RouteAccess) {
        routes.append(DeclaredRoute(method: method, path: path.description, access: access))
        patterns[path.description] = path
    }

    /// A route group bound to one access level: its authentication middleware comes first in
    /// the group, and every route added through it is recorded with that access.
    func group(_ access: RouteAccess, on router: Router<CollectorContext>, accessControl: AccessControl?,
               sso: SingleSignOn? = nil, logger: Logger) -> RouterGroup<CollectorContext> {
        let group = Recorder(access: access, router: router, declarations: self).group()
        switch access {
        case .open: break
        case .ingest: group.add(middleware: IngestAuthMiddleware(access: accessControl, logger: logger))
        case .user: group.add(middleware: UserAuthMiddleware(access: accessControl, sso: sso, logger: logger))
        case .admin:
            group.add(middleware: UserAuthMiddleware(access: accessControl, sso: sso, logger: logger))
            group.add(middleware: AdminOnlyMiddleware())
        }
        return group
    }

    /// The parent of an access group: records each route the group adds (with the group's
    /// middleware already wrapped around it) and hands it to the router.
    private struct Recorder: RouterMethods {
        typealias Context = CollectorContext
        let access: RouteAccess
        let router: Router<CollectorContext>
        let declarations: RouteDeclarations

        @discardableResult func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method,
                                                            responder: Responder) -> Self where Responder.Context == Context {
            declarations.record(method, path, access)
            router.on(path, method: method, responder: responder)
            return self
        }

        /// Middleware belongs on the group this recorder is the parent of.
        func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
            preconditionFailure("add middleware to the access group, not to its recorder")
        }
    }
}
