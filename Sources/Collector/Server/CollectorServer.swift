import Dashboard
import Foundation
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import PostgresNIO
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
    /// Single sign-on (`auth.oidc`), nil when not configured or with --no-auth.
    let sso: SingleSignOn?
    let metrics = CollectorMetrics()
    let ingest: IngestService
    let api: PromAPI
    let fleet: FleetRegistry
    let rules: RuleManager
    /// `storage.remote`: the forward queue and its sender (nil: the embedded TSDB stores writes).
    let remoteWrite: RemoteWriteBackend?
    /// `state.postgres`: the one pool for users, tokens, audit and the fleet registry (nil:
    /// each has its SQLite file in the data directory).
    let sharedState: PostgresStateStore?
    let logger: Logger

    public init(options: CollectorOptions, logger: Logger) async throws {
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
        let shared = try options.postgres.map { try PostgresStateStore(options: $0, logger: logger) }
        sharedState = shared
        if let shared { logger.info("shared state (users, tokens, audit, fleet registry) in PostgreSQL at \(shared.location)") }
        if options.noAuth {
            logger.warning("--no-auth: authentication and access control are OFF; use only for local development")
            access = nil
        } else {
            let directory = try options.auth.ldap.map { try LDAPDirectory(options: $0) }
            if let l = options.auth.ldap { logger.info("LDAP logins against \(l.host):\(l.port) (\(l.security.rawValue)); local users take precedence") }
            if options.auth.ldap?.insecureSkipVerify == true { logger.warning("auth.ldap.insecure_skip_verify: the directory's certificate is NOT verified") }
            let store: any StateStore = try shared ?? SQLiteStateStore(path: options.dataDir + "/fleetscope.sqlite", label: "access")
            let a = AccessControl(store: store, loginPolicy: options.login, directory: directory, groupRoles: options.auth.groupRoles)
            try await a.migrate()
            a.login.warmUp()
            access = a
            try await Self.bootstrapAdmin(a, dataDir: options.dataDir, logger: logger)
        }
        sso = options.noAuth ? nil : options.auth.oidc.map {
            SingleSignOn(options: $0, groupRoles: options.auth.groupRoles, secureCookies: options.tls != nil,
                         externalURL: options.externalURL, logger: logger)
        }
        let fleetStore = FleetStore(store: try shared ?? SQLiteStateStore(path: options.dataDir + "/fleet.sqlite", label: "fleet"))
        try await fleetStore.migrate()
        let fleet = FleetRegistry(store: fleetStore, options: options.fleet, clock: now)
        try await fleet.load()
        self.fleet = fleet
        let metrics = self.metrics
        var ingest = IngestService(tsdb: tsdb, metrics: metrics, admission: Admission(), maxDecodedBytes: options.maxDecodedBytes,
                                   maxFutureMs: options.maxFutureMs, now: now,
                                   logger: logger, onAppended: { identity, series, bytes in fleet.record(identity: identity, series: series, labelBytes: bytes) })
        ingest.onClockAhead = { cluster, ahead in fleet.recordClockAhead(cluster: cluster, aheadMs: ahead) }
        let metadata = MetadataStore()
        ingest.metadata = metadata
        remoteWrite = try options.remoteStorage.map { try RemoteWriteBackend(options: $0, dataDir: options.dataDir, metrics: metrics, logger: logger, now: now) }
        ingest.forward = remoteWrite?.forward
        self.ingest = ingest
        let engine = Engine(options: options.engine)
        let backend: any QueryBackend
        if let remote = options.remoteStorage {
            var r = RemoteQueryBackend(options: remote, defaultSubqueryStepMs: options.engine.defaultEvaluationInterval)
            r.metadataTimeout = options.engine.timeout
            backend = r
            logger.info("queries go to the remote storage backend \(remote.queryURL), rewritten with each caller's scope")
        } else {
            backend = EmbeddedQueryBackend(engine: engine, storage: tsdb)
        }
        var api = PromAPI(tsdb: tsdb, engine: engine, backend: backend, metrics: metrics,
                          gate: QueryGate(maxConcurrent: options.maxConcurrentQueries, maxQueued: options.maxQueuedQueries),
                          metadata: metadata)
        api.writeBackendStatus = remoteWrite?.status
        self.api = api
        let groups = try RuleFileParser.load(patterns: options.ruleFiles, defaultIntervalMs: options.evaluationIntervalMs)
        let notifier = Notifier(alertmanagers: options.alertmanagers, webhooks: options.webhooks,
                                externalURL: options.externalURL ?? "\(options.tls == nil ? "http" : "https")://\(options.host == "0.0.0.0" ? "127.0.0.1" : options.host):\(options.port)",
                                logger: logger, metrics: metrics)
        if !groups.isEmpty && notifier.isEmpty && groups.contains(where: { $0.rules.contains { $0.kind != .recording } }) {
            logger.notice("alerting rules loaded but no alerting.alertmanagers or alerting.webhooks configured: alerts show only in /api/v1/alerts and the dashboard")
        }
        // The rule lease and the shared alert state use the same pool as users, tokens and the fleet.
        let replicas = RuleReplicas(postgres: shared?.client, groups: groups, port: options.port, logger: logger)
        rules = RuleManager(groups: groups, tsdb: tsdb, engine: api.engine, notifier: notifier,
                            metrics: metrics, logger: logger, onAlerts: { fleet.applyAlerts(firingByCluster: $0) },
                            restore: AlertRestore(gracePeriodMs: options.forGracePeriodMs, outageToleranceMs: options.forOutageToleranceMs),
                            backend: backend, lease: replicas.lease, store: replicas.store,
                            sink: remoteWrite.map { .forward($0.forward) }, restoreThroughBackend: remoteWrite != nil)
    }

    /// First start with auth on and no users: create `admin` with a random password, written
    /// to a file only root can read, so nobody runs an open collector by accident. With a
    /// shared PostgreSQL only the first collector ever started finds no users.
    static func bootstrapAdmin(_ a: AccessControl, dataDir: String, logger: Logger) async throws {
        guard try await a.userCount == 0 else { return }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let password = String((0..<20).map { _ in alphabet.randomElement(using: &rng)! })
        try await a.addUser(name: "admin", password: password, role: .admin, scope: "all", by: .collector)
        let path = dataDir + "/initial-admin-password"
        FileManager.default.createFile(atPath: path, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        logger.notice("created user \"admin\"; its password is in \(path)")
    }

    /// Serves until SIGTERM/SIGINT (or task cancellation), then persists and closes storage.
    /// `onListening` receives the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        do {
            try await serve(onListening: onListening)
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Persists the fleet registry, then closes storage and the shared state's pool.
    private func close() async {
        do { try await fleet.close() } catch { logger.error("writing the fleet registry: \(error)") }
        // The head goes into blocks, so a stopped collector's directory is not mostly WAL.
        do { try tsdb.close(persistingHead: true) } catch { logger.error("closing TSDB: \(error)") }
        sharedState?.shutdown()
    }

    private func serve(onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let server: HTTPServerBuilder
        if let tls = options.tls {
            server = .reloadingTLS(try ServerTLSContext(options: tls, logger: logger), logger: logger)
            logger.info("TLS on: client_auth_type \(tls.clientAuth.rawValue)\(tls.clientAuth.verifies ? ", clusters from client certificate \(tls.clusterFrom.rawValue)" : "")")
        } else {
            server = .http1(configuration: RequestParams.http1)
            if let warning = Self.plainHTTPWarning(host: options.host, port: options.port) { logger.warning("\(warning)") }
        }
        let app = Application(
            router: router(),
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "fleetscope-collector"),
            // The PostgreSQL pool is not among them: it runs from `init` until `close()`, after
            // the services (the rules' lease release at shutdown included) have stopped.
            services: [Maintenance(tsdb: tsdb, interval: options.maintenanceInterval, logger: logger),
                       FleetRefresher(registry: fleet, tsdb: tsdb, engine: api.engine, logger: logger, backend: api.backend, metrics: metrics),
                       rules] + (remoteWrite.map { [$0] } ?? []),
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
                HeapReturn.trim(logger: logger)
            }
        }
    }
}
