import Hummingbird
import HTTPTypes
import ServiceLifecycle
import Storage

extension CollectorServer {
    /// The Prometheus HTTP API under /api/v1, in the user group: each endpoint bound to its
    /// handler. GET and POST (form body) like Prometheus, label values GET only.
    func addPromRoutes(to group: RouterGroup<CollectorContext>) {
        for method in [HTTPRequest.Method.get, .post] {
            group.on("/api/v1/query", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: true) { api, p, _, scope, waited in try await api.query(p, scope, waited: waited) }
            }
            group.on("/api/v1/query_range", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: true) { api, p, _, scope, waited in try await api.queryRange(p, scope, waited: waited) }
            }
            group.on("/api/v1/series", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: true) { api, p, _, scope, _ in try await api.series(p, scope) }
            }
            group.on("/api/v1/labels", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: true) { api, p, _, scope, _ in try await api.labels(p, scope) }
            }
            // The TSDB's own statistics: the handler applies the scope itself.
            group.on("/api/v1/status/tsdb", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: false) { api, p, _, scope, _ in try await api.tsdbStatus(p, scope: scope) }
            }
            group.on("/api/v1/status/buildinfo", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: false) { api, _, _, _, _ in api.buildInfo() }
            }
            group.on("/api/v1/metadata", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: false) { api, p, storage, _, _ in try api.metadataResponse(p, storage) }
            }
            group.on("/api/v1/query_exemplars", method: method) { [self] req, ctx in
                await promRead(req, ctx, gated: false) { api, p, _, _, _ in try api.exemplars(p) }
            }
            // Rules and alerts come from the rule manager, narrowed to the caller's scope.
            group.on("/api/v1/rules", method: method) { [rules] req, ctx in
                let p: Params
                switch await RequestParams.parse(req) {
                case .success(let parsed): p = parsed
                case .failure(let e): return Self.response(.error(e), to: req)
                }
                do throws(APIError) { return Self.response(try rules.rulesJSON(p, scope: ctx.principal.scope), to: req) } catch { return Self.response(.error(error), to: req) }
            }
            group.on("/api/v1/alerts", method: method) { [rules] req, ctx in Self.response(rules.alertsJSON(scope: ctx.principal.scope), to: req) }
        }
        group.get("/api/v1/label/:name/values") { [self] req, ctx in
            let name = Params.unescape(Substring(ctx.parameters.get("name") ?? ""))
            return await promRead(req, ctx, gated: true) { api, p, _, scope, _ in try await api.labelValues(name, p, scope) }
        }
    }

    /// A read of the Prometheus API: parameters from the query string and form body, storage
    /// narrowed to the caller's scope. On SIGTERM a running read is cancelled rather than
    /// awaited, so shutdown never waits for a query's timeout (a viewer may ask for minutes).
    private func promRead(
        _ request: Request, _ context: CollectorContext, gated: Bool,
        _ handler: @escaping @Sendable (PromAPI, Params, any Queryable, Scope, Duration) async throws -> APIResponse
    ) async -> Response {
        let params: Params
        switch await RequestParams.parse(request) {
        case .success(let p): params = p
        case .failure(let e): return Self.response(.error(e), to: request)
        }
        let scope = context.principal.scope
        let storage = ScopedQueryable.wrap(tsdb, scope)
        let r = await cancelWhenGracefulShutdown { [api] in
            await api.run(gated: gated) { waited in try await handler(api, params, storage, scope, waited) }
        }
        return Self.response(r, to: request)
    }

    /// An API answer as JSON over HTTP (gzipped when the client accepts it), with `Retry-After`
    /// when the answer names one.
    static func response(_ r: APIResponse, to request: Request) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let ra = r.retryAfterSeconds { headers[.retryAfter] = String(ra) }
        return Gzip.response(to: request, status: r.status, headers: headers, body: r.body)
    }
}
