import Dashboard
import Foundation
import Hummingbird
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Hummingbird glue: a real server on a loopback port, the headers a browser gets.
@Suite(.timeLimit(.minutes(1)))
struct DashboardRoutesTests {
    struct Fetched: Sendable {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    static func withServer(_ body: @Sendable @escaping (String) async throws -> Void) async throws {
        let router = Router()
        DashboardRoutes.register(on: router)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var it = ports.makeAsyncIterator()
            let port = try #require(await it.next())
            try await body("http://127.0.0.1:\(port)")
            group.cancelAll()
        }
    }

    static func get(_ url: String) async throws -> Fetched {
        let (data, resp) = try await URLSession.shared.data(from: URL(string: url)!)
        let http = resp as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Fetched(status: http.statusCode, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    @Test func pagesAndAssetsOverHTTP() async throws {
        try await Self.withServer { base in
            for path in ["/", "/alerts", "/explore", "/clusters/edge-00001", "/clusters/a%20b"] {
                let r = try await Self.get(base + path)
                #expect(r.status == 200, "\(path)")
                #expect(r.headers["content-type"] == "text/html; charset=utf-8", "\(path)")
                #expect(r.headers["cache-control"] == "no-cache")
                #expect(r.headers["content-security-policy"] == DashboardSite.contentSecurityPolicy)
                #expect(r.headers["x-content-type-options"] == "nosniff")
            }
            let named = try await Self.get(base + "/clusters/a%20b")
            #expect(named.body.contains("data-cluster=\"a b\""))
            for (name, type) in [("app.js", "text/javascript; charset=utf-8"), ("chart.js", "text/javascript; charset=utf-8"),
                                 ("style.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml")] {
                let r = try await Self.get(base + DashboardSite.assets[name]!.path)
                #expect(r.status == 200)
                #expect(r.headers["content-type"] == type)
                #expect(r.headers["cache-control"] == "public, max-age=31536000, immutable")
                #expect(r.body == DashboardSite.assets[name]!.body)
            }
            #expect(try await Self.get(base + "/assets/missing.js").status == 404)
            // The router picks the page: a query string does not change it; paths without a route are 404.
            #expect(try await Self.get(base + "/explore?expr=up").body.contains("data-page=\"explore\""))
            for path in ["/nowhere", "/clusters/a/b", "/assets/"] {
                #expect(try await Self.get(base + path).status == 404, "\(path)")
            }
            let evil = try await Self.get(base + "/clusters/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
            #expect(evil.status == 200)
            #expect(!evil.body.contains("<script>alert(1)"))
            #expect(evil.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
    }
}
