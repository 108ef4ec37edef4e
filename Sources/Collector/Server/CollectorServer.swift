import Dashboard
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import PromQL
import ServiceLifecycle
import Storage
import TSDB

/// The central server: wires storage, ingest, the query API, access control and the
/// dashboard into one HTTP application.
public final class CollectorServer: Sendable {
    public let options: CollectorOptions
    let tsdb: TSDB
    let access: AccessControl?
    let metrics = CollectorMetrics()
    let ingest: IngestService
    let api: PromAPI
    let fleet: FleetRegistry
    let rules: RuleManager
    let logger: Logger

    public init(options: CollectorOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        try FileManager.default.createDirectory(atPath: options.dataDir, withIntermediateDirectories: true)
        logger.info("opening TSDB in \(options.dataDir)/tsdb")
        tsdb = try TSDB.open(directory: options.dataDir + "/tsdb", options: options.tsdb, logger: logger)
        if options.noAuth {
            logger.warning("--no-auth: authentication and access control are OFF; use only for local development")
            access = nil
        } else {
            let a = try AccessControl(path: options.dataDir + "/fleetscope.sqlite")
            access = a
            try Self.bootstrapAdmin(a, dataDir: options.dataDir, logger: logger)
        }
        let fleet = try FleetRegistry(path: options.dataDir + "/fleet.sqlite", options: options.fleet)
        self.fleet = fleet
        let metrics = self.metrics
        ingest = IngestService(tsdb: tsdb, metrics: metrics, admission: Admission(), maxDecodedBytes: options.maxDecodedBytes,
                               logger: logger, onAppended: { cluster, series in fleet.record(cluster: cluster, series: series) })
        api = PromAPI(tsdb: tsdb, engine: Engine(options: options.engine), metrics: metrics,
                      gate: QueryGate(maxConcurrent: options.maxConcurrentQueries, maxQueued: options.maxQueuedQueries))
        let groups = try RuleFileParser.load(patterns: options.ruleFiles, defaultIntervalMs: options.evaluationIntervalMs)
        let notifier = Notifier(alertmanagers: options.alertmanagers, webhooks: options.webhooks,
                                externalURL: options.externalURL ?? "http://\(options.host == "0.0.0.0" ? "127.0.0.1" : options.host):\(options.port)",
                                logger: logger, metrics: metrics)
        if !groups.isEmpty && notifier.isEmpty && groups.contains(where: { $0.rules.contains { $0.kind != .recording } }) {
            logger.notice("alerting rules loaded but no alerting.alertmanagers or alerting.webhooks configured: alerts show only in /api/v1/alerts and the dashboard")
        }
        rules = RuleManager(groups: groups, tsdb: tsdb, engine: api.engine, notifier: notifier,
                            metrics: metrics, logger: logger, onAlerts: { fleet.applyAlerts(firingByCluster: $0) })
    }

    /// First start with auth on and no users: create `admin` with a random password, written
    /// to a file only root can read, so nobody runs an open collector by accident.
    static func bootstrapAdmin(_ a: AccessControl, dataDir: String, logger: Logger) throws {
        guard try a.userCount == 0 else { return }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let password = String((0..<20).map { _ in alphabet.randomElement(using: &rng)! })
        try a.addUser(name: "admin", password: password, role: .admin, scope: "")
        let path = dataDir + "/initial-admin-password"
        FileManager.default.createFile(atPath: path, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        logger.notice("created user \"admin\"; its password is in \(path)")
    }

    func router() -> Router<CollectorContext> {
        let router = Router(context: CollectorContext.self)
        router.add(middleware: AuthMiddleware(access: access, logger: logger))

        router.get("/-/healthy") { _, _ in Self.plain("Fleetscope collector is Healthy.\n") }
        router.get("/-/ready") { _, _ in Self.plain("Fleetscope collector is Ready.\n") }
        router.get("/metrics") { [metrics, tsdb, fleet] _, _ in
            metrics.refresh(from: tsdb.metrics)
            metrics.refreshFleet(fleet.snapshot())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }

        router.post("/api/v1/write") { [ingest, metrics, options] request, context in
            let started = ContinuousClock.now
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: options.maxBodyBytes)
            } catch {
                metrics.request(code: 413, seconds: 0)
                return AuthMiddleware.text(413, "request body larger than \(options.maxBodyBytes) bytes; send smaller batches")
            }
            let cluster: String?
            if case .cluster(let c) = context.principal { cluster = c } else { cluster = nil }
            let out = await ingest.ingest(body: Array(body.readableBytesView),
                                          contentEncoding: request.headers[.contentEncoding],
                                          contentType: request.headers[.contentType], cluster: cluster)
            metrics.request(code: out.status, seconds: (ContinuousClock.now - started).seconds)
            if out.status == 204 { return Response(status: .noContent) }
            var r = AuthMiddleware.text(out.status, out.message)
            if let ra = out.retryAfterSeconds { r.headers[.retryAfter] = String(ra) }
            return r
        }

        let endpoints = ["query", "query_range", "series", "labels", "status/tsdb", "status/buildinfo", "metadata",
                         "query_exemplars", "rules", "alerts"]
        for e in endpoints {
            router.get("/api/v1/\(e)") { [self] req, ctx in await apiResponse(e, req, ctx) }
            router.post("/api/v1/\(e)") { [self] req, ctx in await apiResponse(e, req, ctx) }
        }
        router.get("/api/v1/label/:name/values") { [self] req, ctx in
            await apiResponse("label/\(ctx.parameters.get("name") ?? "")/values", req, ctx)
        }

        let fleetAPI = FleetAPI(registry: fleet)
        for e in ["summary", "grid", "clusters"] {
            router.get("/api/v1/fleet/\(e)") { req, ctx in Self.fleetResponse(fleetAPI, e, req, ctx) }
        }
        router.get("/api/v1/fleet/clusters/:name") { req, ctx in
            let raw = ctx.parameters.get("name") ?? ""
            return Self.fleetResponse(fleetAPI, "clusters/" + (raw.removingPercentEncoding ?? raw), req, ctx)
        }

        DashboardRoutes.register(on: router)
        return router
    }

    private func apiResponse(_ endpoint: String, _ request: Request, _ context: CollectorContext) async -> Response {
        var params = Params(query: request.uri.query)
        if request.method == .post,
           (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded") {
            var req = request
            if let body = try? await req.collectBody(upTo: 4 << 20) {
                params.add(String(decoding: body.readableBytesView, as: UTF8.self))
            }
        }
        let storage = ScopedQueryable.wrap(tsdb, context.principal.scope)
        let r: APIResponse
        switch endpoint {
        case "alerts": r = rules.alertsJSON(scope: context.principal.scope)
        case "rules":
            do { r = try rules.rulesJSON(params, scope: context.principal.scope) } catch { r = .error(error) }
        default: r = await api.handle(endpoint, params, storage: storage)
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let ra = r.retryAfterSeconds { headers[.retryAfter] = String(ra) }
        return Response(status: .init(code: r.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    private static func fleetResponse(_ api: FleetAPI, _ endpoint: String, _ request: Request, _ context: CollectorContext) -> Response {
        let r: APIResponse
        if case .cluster = context.principal {
            // Ingest tokens write; they never read the fleet.
            r = .error(APIError(type: "forbidden", message: "ingest tokens cannot read the fleet API; authenticate as a user", status: 403))
        } else {
            r = api.handle(endpoint, Params(query: request.uri.query), scope: context.principal.scope)
        }
        return Response(status: .init(code: r.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    private static func plain(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// Serves until SIGTERM/SIGINT (or task cancellation), then persists and closes storage.
    /// `onListening` receives the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "fleetscope-collector"),
            services: [Maintenance(tsdb: tsdb, interval: options.maintenanceInterval, logger: logger),
                       FleetRefresher(registry: fleet, tsdb: tsdb, engine: api.engine, logger: logger),
                       rules],
            onServerRunning: { [logger] channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("collector listening on \(channel.localAddress?.description ?? "?")")
                await onListening(port)
            },
            logger: logger
        )
        defer {
            do { try fleet.close() } catch { logger.error("writing fleet.sqlite: \(error)") }
            do { try tsdb.close() } catch { logger.error("closing TSDB: \(error)") }
        }
        try await app.runService()
    }
}

/// Head compaction, block compaction and retention on a timer.
struct Maintenance: Service {
    let tsdb: TSDB
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Cancel the sleep on SIGTERM: a plain sleep would hold shutdown for up to `interval`.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do { try tsdb.maintain() } catch { logger.error("TSDB maintenance failed: \(error)") }
            }
        }
    }
}
