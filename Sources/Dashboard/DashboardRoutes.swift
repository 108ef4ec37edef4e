import Hummingbird

/// Mounts the dashboard pages and their assets on the collector's router. Pages are small HTML
/// shells; the browser reads everything else through the collector's HTTP API, so this target
/// never touches storage and every page honours the caller's access scope for free.
public struct DashboardRoutes: Sendable {
    /// `showsAdmin`: whether the caller may open the admin page (its nav link is shown then).
    public static func register<R: RouterMethods>(on router: R, showsAdmin: @escaping @Sendable (R.Context) -> Bool = { _ in false }) {
        page(router, "/") { _, ctx in DashboardSite.overview(admin: showsAdmin(ctx)) }
        page(router, "/alerts") { _, ctx in DashboardSite.alerts(admin: showsAdmin(ctx)) }
        page(router, "/explore") { _, ctx in DashboardSite.explore(admin: showsAdmin(ctx)) }
        page(router, "/clusters/:name") { p, ctx in DashboardSite.cluster(encodedName: p.get("name") ?? "", admin: showsAdmin(ctx)) }
        page(router, "/assets/:file") { p, _ in DashboardSite.asset(p.get("file") ?? "") }
    }

    /// The admin page, on a route group that admits admins only.
    public static func registerAdminPage(on router: some RouterMethods) {
        page(router, "/admin") { _, _ in DashboardSite.admin() }
    }

    /// GET and HEAD (the same headers, no body) for one path.
    private static func page<R: RouterMethods>(_ router: R, _ path: RouterPath,
                                               _ reply: @escaping @Sendable (Parameters, R.Context) -> DashboardReply) {
        router.get(path) { _, context in reply(context.parameters, context).response }
        router.head(path) { _, context in
            var r = reply(context.parameters, context).response
            r.body = .init()
            return r
        }
    }
}

extension DashboardReply {
    var response: Response {
        var headers: HTTPFields = [.contentType: contentType, .cacheControl: cacheControl]
        headers[.xContentTypeOptions] = "nosniff"
        if contentType.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] = DashboardSite.contentSecurityPolicy
            headers[.init("Referrer-Policy")!] = "same-origin"
        }
        return Response(status: .init(code: status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
