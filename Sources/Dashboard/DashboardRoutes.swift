import Hummingbird

/// Mounts the dashboard pages and their assets on the collector's router. Pages are small HTML
/// shells; the browser reads everything else through the collector's HTTP API, so this target
/// never touches storage and every page honours the caller's access scope for free.
public struct DashboardRoutes: Sendable {
    public static func register(on router: some RouterMethods) {
        page(router, "/") { _ in DashboardSite.overview() }
        page(router, "/alerts") { _ in DashboardSite.alerts() }
        page(router, "/explore") { _ in DashboardSite.explore() }
        page(router, "/clusters/:name") { DashboardSite.cluster(encodedName: $0.get("name") ?? "") }
        page(router, "/assets/:file") { DashboardSite.asset($0.get("file") ?? "") }
    }

    /// GET and HEAD (the same headers, no body) for one path.
    private static func page<R: RouterMethods>(_ router: R, _ path: RouterPath,
                                               _ reply: @escaping @Sendable (Parameters) -> DashboardReply) {
        router.get(path) { _, context in reply(context.parameters).response }
        router.head(path) { _, context in
            var r = reply(context.parameters).response
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
