import Dashboard
import Hummingbird
import HTTPTypes

extension CollectorServer {
    /// Every route of the collector, each declared once, with its handler, in the group that
    /// fixes its access. The router alone decides which group a request reaches.
    func router() -> Router<CollectorContext> { routes().router }

    /// The router and its declared routes (the security tests check one against the other).
    func routes() -> (router: Router<CollectorContext>, declared: [DeclaredRoute]) {
        let router = Router(context: CollectorContext.self)
        // First, so that 401s and 404s carry the headers too.
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: RequestLimitsMiddleware())
        let declarations = RouteDeclarations()
        func group(_ access: RouteAccess) -> RouterGroup<CollectorContext> {
            declarations.group(access, on: router, accessControl: self.access, sso: sso, logger: logger)
        }
        let open = group(.open)
        addProbeRoutes(to: open)
        sso?.register(on: open)
        addWriteRoute(to: group(.ingest))
        let user = group(.user)
        addMetricsRoute(to: user)
        addPromRoutes(to: user)
        addFleetRoutes(to: user)
        // The nav shows the admin page to those who may open it.
        DashboardRoutes.register(on: user, showsAdmin: { [access] ctx in
            if case .user(_, .admin, _) = ctx.principal { return access != nil }
            return false
        })
        addAdminRoutes(to: group(.admin))
        // Last: derived from everything above.
        MethodAnswers.register(on: open, for: declarations, hints: ["/api/v1/write": Self.writeMethodHint])
        return (router, declarations.routes)
    }

    /// Liveness and readiness: open, GET and HEAD like Prometheus' probes.
    private func addProbeRoutes(to group: RouterGroup<CollectorContext>) {
        // With storage.remote, readiness also says which backend and whether it answers.
        for (path, text) in [("/-/healthy", "Fleetscope collector is Healthy.\n"), ("/-/ready", "Fleetscope collector is Ready.\n")] {
            // Ready names the remote backends and whether they answer (still 200: ingest goes on,
            // into the forward queue, and the edges keep their backlog).
            let writeStatus = path == "/-/ready" ? remoteWrite?.status : nil
            group.get(RouterPath(stringLiteral: path)) { [api, sharedState] _, _ in
                var body = text + (writeStatus?.readyLine ?? "")
                if path == "/-/ready", let status = await QueryBackendStatus.check(api.backend) { body += status.line }
                if path == "/-/ready", let sharedState { body += await Self.stateLine(sharedState) }
                return Self.plain(body)
            }
            group.head(RouterPath(stringLiteral: path)) { _, _ in Self.plain(text).createHeadResponse() }
        }
    }

    /// The collector's own metrics, fleet-wide: only for callers that may see the whole fleet.
    private func addMetricsRoute(to group: RouterGroup<CollectorContext>) {
        group.get("/metrics") { [metrics, tsdb, fleet, remoteWrite] _, context in
            guard context.principal.scope.isAll else {
                return AuthResponses.text(403, "/metrics shows fleet-wide numbers; it needs an admin or an unscoped user (`collector user add --role viewer --scope all`)")
            }
            metrics.refresh(from: tsdb.metrics)
            metrics.refreshFleet(fleet.snapshot())
            remoteWrite?.refreshMetrics()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }

    /// Readiness of `state.postgres` (still 200: known sessions and the TSDB go on; token
    /// checks answer 503 until it is back).
    private static func stateLine(_ store: any StateStore) async -> String {
        do {
            try await store.ping()
            return "State store: PostgreSQL \(store.location), reachable.\n"
        } catch {
            return "State store: PostgreSQL \(store.location), unreachable: \(error).\n"
        }
    }

    private static func plain(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }
}
