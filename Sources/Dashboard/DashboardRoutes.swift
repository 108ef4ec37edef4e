import Hummingbird

/// Mounts the dashboard pages and their assets on the collector's router. Pages are small HTML
/// shells; the browser reads everything else through the collector's HTTP API, so this target
/// never touches storage and every page honours the caller's access scope for free.
public struct DashboardRoutes: Sendable {
    public static func register(on router: some RouterMethods) {
        let paths: [RouterPath] = ["/", "/alerts", "/explore", "/clusters/:name", "/assets/:file"]
        for path in paths {
            router.get(path) { request, _ in DashboardSite.respond(path: request.uri.path).response }
            router.head(path) { request, _ in
                var r = DashboardSite.respond(path: request.uri.path).response
                r.body = .init()
                return r
            }
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
