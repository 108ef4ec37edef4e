import Foundation
import Hummingbird
import HTTPTypes

/// The admin access group's second middleware, after UserAuthMiddleware: the caller must be an
/// admin (or `--no-auth`), and a request that changes something must not come from another
/// site (below). Bound to the routes of the admin group (RouteAccess.admin), not to paths.
struct AdminOnlyMiddleware: RouterMiddleware {
    typealias Context = CollectorContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch context.principal {
        case .user(_, .admin, _), .anonymous: break
        case .user, .cluster:
            return CollectorServer.response(.error(.forbidden("the admin API and page need the admin role")), to: request)
        }
        if let why = CrossSiteCheck.refusal(request) {
            return CollectorServer.response(.error(.forbidden(why)), to: request)
        }
        return try await next(request, context)
    }
}

/// Cross-site request forgery. The dashboard authenticates with HTTP Basic (and, with single
/// sign-on, a session cookie): a browser attaches both to any request for this origin, also
/// one a page on another site makes it send. No CSRF token is needed, because browsers say
/// where a request comes from, and this check, stateless like Go's
/// `http.CrossOriginProtection`, refuses every state-changing request they mark as cross-site:
/// - `Sec-Fetch-Site` (every current browser sends it) must be `same-origin` or `none`
///   (typed by the user); `same-site` is refused too, a sibling subdomain is another party;
/// - without it, an `Origin` header must name this host (older browsers send Origin on POST,
///   PATCH and DELETE);
/// - and POST/PATCH bodies must be `application/json` (AdminBody): an HTML form cannot send
///   that, and a cross-site `fetch` with it needs a CORS preflight the collector never grants
///   (it sends no `Access-Control-Allow-*` headers).
/// Requests with neither header come from no browser (curl, provisioning tools): they carry no
/// ambient credentials to abuse, and pass. Reads (GET, HEAD) change nothing and are not checked;
/// the same-origin policy keeps their answers from other sites.
enum CrossSiteCheck {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// Why the request is refused, or nil.
    static func refusal(_ request: Request) -> String? {
        guard request.method != .get, request.method != .head, request.method != .options else { return nil }
        if let site = request.headers[secFetchSite] {
            let s = site.trimmingCharacters(in: .whitespaces).lowercased()
            return s == "same-origin" || s == "none" ? nil : "cross-site admin request refused (Sec-Fetch-Site: \(s))"
        }
        guard let origin = request.headers[.origin] else { return nil }
        let host = (request.head.authority ?? "").lowercased()
        guard let originHost = authority(ofOrigin: origin), !host.isEmpty, originHost == host else {
            return "cross-site admin request refused (Origin \(LogText.quoted(origin)) is not this host)"
        }
        return nil
    }

    /// `https://Fleet.example:9490` → `fleet.example:9490`; nil for `null` and other non-URLs.
    static func authority(ofOrigin origin: String) -> String? {
        let o = origin.trimmingCharacters(in: .whitespaces).lowercased()
        for scheme in ["http://", "https://"] where o.hasPrefix(scheme) {
            let rest = o.dropFirst(scheme.count)
            guard !rest.isEmpty, !rest.contains("/") else { return nil }
            return String(rest)
        }
        return nil
    }
}
