import Foundation
import Hummingbird

extension CollectorServer {
    /// `/api/v1/fleet/...`, in the user group: each endpoint bound to its FleetAPI method,
    /// narrowed to the caller's scope.
    func addFleetRoutes(to group: RouterGroup<CollectorContext>) {
        let api = FleetAPI(registry: fleet)
        group.get("/api/v1/fleet/summary") { req, ctx in Self.response(api.summary(scope: ctx.principal.scope), to: req) }
        group.get("/api/v1/fleet/grid") { req, ctx in Self.response(api.grid(scope: ctx.principal.scope), to: req) }
        group.get("/api/v1/fleet/clusters") { req, ctx in
            Self.response(api.clusters(Params(query: req.uri.query), scope: ctx.principal.scope), to: req)
        }
        group.get("/api/v1/fleet/clusters/:name") { req, ctx in
            let raw = ctx.parameters.get("name") ?? ""
            return Self.response(api.cluster(raw.removingPercentEncoding ?? raw, scope: ctx.principal.scope), to: req)
        }
    }
}
