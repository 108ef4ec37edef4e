import Dashboard
import Hummingbird

extension CollectorServer {
    /// The admin API and page, in the admin access group (RouteAccess.admin): users with the
    /// admin role only, state-changing requests same-origin only (AdminAccess.swift).
    func addAdminRoutes(to group: RouterGroup<CollectorContext>) {
        let tokens = access.map(TokenAdminAPI.init), users = access.map(UserAdminAPI.init), audit = access.map(AuditAPI.init)
        group.get("/api/v1/admin/tokens") { req, _ in await Self.admin(req, tokens) { await $0.list(Params(query: req.uri.query)) } }
        group.post("/api/v1/admin/tokens") { req, ctx in
            await Self.admin(req, tokens, fields: ["cluster", "labels"]) { api, body in await api.create(body, by: Self.actor(ctx)) }
        }
        group.delete("/api/v1/admin/tokens") { req, ctx in
            await Self.admin(req, tokens) { await $0.revokeCluster(Params(query: req.uri.query), by: Self.actor(ctx)) }
        }
        group.delete("/api/v1/admin/tokens/:id") { req, ctx in
            await Self.admin(req, tokens) { await $0.revoke(id: ctx.parameters.get("id") ?? "", by: Self.actor(ctx)) }
        }
        group.get("/api/v1/admin/users") { req, _ in await Self.admin(req, users) { await $0.list() } }
        group.post("/api/v1/admin/users") { req, ctx in
            await Self.admin(req, users, fields: UserAdminAPI.createFields) { api, body in await api.create(body, by: Self.actor(ctx)) }
        }
        group.patch("/api/v1/admin/users/:name") { req, ctx in
            await Self.admin(req, users, fields: UserAdminAPI.changeFields) { api, body in
                await api.change(Self.userName(ctx), body, by: Self.actor(ctx))
            }
        }
        group.delete("/api/v1/admin/users/:name") { req, ctx in
            await Self.admin(req, users) { await $0.delete(Self.userName(ctx), by: Self.actor(ctx)) }
        }
        group.get("/api/v1/admin/audit") { req, _ in await Self.admin(req, audit) { await $0.list(Params(query: req.uri.query)) } }
        // Prometheus' TSDB admin API; works under --no-auth too, as Prometheus' does.
        let snapshots = SnapshotAPI(tsdb: tsdb, dataDir: options.dataDir)
        group.post("/api/v1/admin/tsdb/snapshot") { req, ctx in await snapshots.respond(req, ctx) }
        DashboardRoutes.registerAdminPage(on: group)
    }

    private static func actor(_ ctx: CollectorContext) -> AuditActor {
        AuditActor(principal: ctx.principal, remoteAddress: ctx.remoteAddress?.ipAddress)
    }

    /// The `:name` segment, percent-decoded (user names may hold any printable character).
    private static func userName(_ ctx: CollectorContext) -> String {
        Params.unescape(Substring(ctx.parameters.get("name") ?? ""))
    }

    /// `--no-auth` opens no user database: there is nothing to administer.
    private static let noAuthError = APIError(type: "unavailable",
        message: "the collector runs with --no-auth: there are no users or ingest tokens to administer", status: 501)

    private static func admin<API>(_ req: Request, _ api: API?, _ handle: (API) async -> APIResponse) async -> Response {
        guard let api else { return response(.error(noAuthError), to: req) }
        return response(await handle(api), to: req)
    }

    private static func admin<API>(_ req: Request, _ api: API?, fields: Set<String>,
                                   _ handle: (API, AdminBody) async -> APIResponse) async -> Response {
        guard let api else { return response(.error(noAuthError), to: req) }
        switch await AdminBody.read(req, allowed: fields) {
        case .success(let body): return response(await handle(api, body), to: req)
        case .failure(let e): return response(.error(e), to: req)
        }
    }
}
