import Dashboard
import Foundation
import Hummingbird
import HummingbirdCore
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
        try PrivateFiles.prepareDirectory(options.dataDir)
        // One clock for every horizon: TSDB retention and cuts, ingest's future limit, fleet ages.
        var tsdbOptions = options.tsdb
        if options.clockOffsetMs != 0 {
            let base = tsdbOptions.now, offset = options.clockOffsetMs
            tsdbOptions.now = { base() &+ offset }
            logger.warning("the collector's clock is shifted by \(offset) ms (--debug.clock-offset)")
        }
        let now = tsdbOptions.now
        logger.info("opening TSDB in \(options.dataDir)/tsdb")
        tsdb = try TSDB.open(directory: options.dataDir + "/tsdb", options: tsdbOptions, logger: logger)
        if options.noAuth {
            logger.warning("--no-auth: authentication and access control are OFF; use only for local development")
            access = nil
        } else {
            let a = try AccessControl(path: options.dataDir + "/fleetscope.sqlite", loginPolicy: options.login)
            a.login.warmUp()
            access = a
            try Self.bootstrapAdmin(a, dataDir: options.dataDir, logger: logger)
        }
        let fleet = try FleetRegistry(path: options.dataDir + "/fleet.sqlite", options: options.fleet, clock: now)
        self.fleet = fleet
        let metrics = self.metrics
        var ingest = IngestService(tsdb: tsdb, metrics: metrics, admission: Admission(), maxDecodedBytes: options.maxDecodedBytes,
                                   maxFutureMs: options.maxFutureMs, now: now,
                                   logger: logger, onAppended: { identity, series in fleet.record(identity: identity, series: series) })
        ingest.onClockAhead = { cluster, ahead in fleet.recordClockAhead(cluster: cluster, aheadMs: ahead) }
        self.ingest = ingest
        api = PromAPI(tsdb: tsdb, engine: Engine(options: options.engine), metrics: metrics,
                      gate: QueryGate(maxConcurrent: options.maxConcurrentQueries, maxQueued: options.maxQueuedQueries))
        let groups = try RuleFileParser.load(patterns: options.ruleFiles, defaultIntervalMs: options.evaluationIntervalMs)
        let notifier = Notifier(alertmanagers: options.alertmanagers, webhooks: options.webhooks,
                                externalURL: options.externalURL ?? "\(options.tls == nil ? "http" : "https")://\(options.host == "0.0.0.0" ? "127.0.0.1" : options.host):\(options.port)",
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
        try a.addUser(name: "admin", password: password, role: .admin, scope: "all")
        let path = dataDir + "/initial-admin-password"
        FileManager.default.createFile(atPath: path, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        logger.notice("created user \"admin\"; its password is in \(path)")
    }

    func router() -> Router<CollectorContext> {
        let router = Router(context: CollectorContext.self)
        // First, so that 401s and 404s carry the headers too.
        router.add(middleware: SecurityHeadersMiddleware())
        // Open: liveness and readiness probes.
        router.get("/-/healthy") { _, _ in Self.plain("Fleetscope collector is Healthy.\n") }
        router.get("/-/ready") { _, _ in Self.plain("Fleetscope collector is Ready.\n") }
        // Every other method on the write path: say which one is allowed instead of a bare 404.
        for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
            router.on("/api/v1/write", method: method) { _, _ in
                var r = AuthResponses.text(405, "remote-write takes POST (snappy-compressed protobuf WriteRequest)")
                r.headers[.allow] = "POST"
                return r
            }
        }
        addWriteRoutes(router.group().add(middleware: IngestAuthMiddleware(access: access, logger: logger)))
        addUserRoutes(router.group().add(middleware: UserAuthMiddleware(access: access, logger: logger)))
        return router
    }

    /// Remote-write: ingest identities only (IngestAuthMiddleware).
    private func addWriteRoutes(_ group: RouterGroup<CollectorContext>) {
        group.post("/api/v1/write") { [ingest, metrics, options] request, context in
            let started = ContinuousClock.now
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: options.maxBodyBytes)
            } catch {
                metrics.request(code: 413, seconds: 0)
                return AuthResponses.text(413, "request body larger than \(options.maxBodyBytes) bytes; send smaller batches")
            }
            let identity: IngestIdentity?
            if case .cluster(let c) = context.principal { identity = c } else { identity = nil }
            let out = await ingest.ingest(body: Array(body.readableBytesView),
                                          contentEncoding: request.headers[.contentEncoding],
                                          contentType: request.headers[.contentType], identity: identity)
            metrics.request(code: out.status, seconds: (ContinuousClock.now - started).seconds)
            if out.status == 204 { return Response(status: .noContent) }
            var r = AuthResponses.text(out.status, out.message)
            if let ra = out.retryAfterSeconds { r.headers[.retryAfter] = String(ra) }
            return r
        }
    }

    /// What people and their tools read: users only (UserAuthMiddleware), each read narrowed
    /// to the user's scope.
    private func addUserRoutes(_ group: RouterGroup<CollectorContext>) {
        group.get("/metrics") { [metrics, tsdb, fleet] _, context in
            // Fleet-wide counts: only for callers that may see the whole fleet.
            guard context.principal.scope.isEmpty else {
                return AuthResponses.text(403, "/metrics shows fleet-wide numbers; it needs an admin or an unscoped user (`collector user add --role viewer --scope all`)")
            }
            metrics.refresh(from: tsdb.metrics)
            metrics.refreshFleet(fleet.snapshot())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }

        let endpoints = ["query", "query_range", "series", "labels", "status/tsdb", "status/buildinfo", "metadata",
                         "query_exemplars", "rules", "alerts"]
        for e in endpoints {
            group.get("/api/v1/\(e)") { [self] req, ctx in await apiResponse(e, req, ctx) }
            group.post("/api/v1/\(e)") { [self] req, ctx in await apiResponse(e, req, ctx) }
        }
        group.get("/api/v1/label/:name/values") { [self] req, ctx in
            await apiResponse("label/\(ctx.parameters.get("name") ?? "")/values", req, ctx)
        }

        let fleetAPI = FleetAPI(registry: fleet)
        for e in ["summary", "grid", "clusters"] {
            group.get("/api/v1/fleet/\(e)") { req, ctx in Self.fleetResponse(fleetAPI, e, req, ctx) }
        }
        group.get("/api/v1/fleet/clusters/:name") { req, ctx in
            let raw = ctx.parameters.get("name") ?? ""
            return Self.fleetResponse(fleetAPI, "clusters/" + (raw.removingPercentEncoding ?? raw), req, ctx)
        }

        let snapshots = SnapshotAPI(tsdb: tsdb, dataDir: options.dataDir)
        group.post("/api/v1/admin/tsdb/snapshot") { req, ctx in await snapshots.respond(req, ctx) }

        DashboardRoutes.register(on: group)
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
        default:
            // Reads only: on SIGTERM a running query is cancelled rather than awaited, so shutdown
            // never waits for a query's timeout (a viewer may ask for minutes).
            r = await cancelWhenGracefulShutdown { [api, params, context] in await api.handle(endpoint, params, storage: storage, scope: context.principal.scope) }
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let ra = r.retryAfterSeconds { headers[.retryAfter] = String(ra) }
        return Response(status: .init(code: r.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    private static func fleetResponse(_ api: FleetAPI, _ endpoint: String, _ request: Request, _ context: CollectorContext) -> Response {
        let r = api.handle(endpoint, Params(query: request.uri.query), scope: context.principal.scope)
        return Response(status: .init(code: r.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    private static func plain(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// Serves until SIGTERM/SIGINT (or task cancellation), then persists and closes storage.
    /// `onListening` receives the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        defer {
            do { try fleet.close() } catch { logger.error("writing fleet.sqlite: \(error)") }
            do { try tsdb.close() } catch { logger.error("closing TSDB: \(error)") }
        }
        let server: HTTPServerBuilder
        if let tls = options.tls {
            server = .reloadingTLS(try ServerTLSContext(options: tls, logger: logger), logger: logger)
            logger.info("TLS on: client_auth_type \(tls.clientAuth.rawValue)\(tls.clientAuth.verifies ? ", clusters from client certificate \(tls.clusterFrom.rawValue)" : "")")
        } else {
            server = .http1()
            if let warning = Self.plainHTTPWarning(host: options.host, port: options.port) { logger.warning("\(warning)") }
        }
        let app = Application(
            router: router(),
            server: server,
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
        try await app.runService()
    }

    /// Addresses only this machine can reach; anything else deserves TLS.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// What to say at start when serving plain HTTP beyond loopback (nil on loopback).
    static func plainHTTPWarning(host: String, port: Int) -> String? {
        isLoopback(host) ? nil : "listening on \(host):\(port) without TLS: passwords and ingest tokens cross the network in clear; set tls: { cert_file, key_file } in collector.yml (README, Security)"
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
