import Foundation
import PromQL
import TSDB
import YAMLTree

/// Everything the collector can be told, from flags and the optional YAML config file.
public struct CollectorOptions: Sendable {
    public var host = "0.0.0.0"
    public var port = 9490
    public var dataDir = "./data"
    public var configFile: String?
    public var noAuth = false
    public var tsdb = TSDBOptions()
    public var engine = EngineOptions()
    /// `query.max_concurrency`: API queries evaluated at once; more wait. One core less than the
    /// machine has (at least 1), not Prometheus' 20: measured on 2 cores, 20 heavy-query slots
    /// starved ingest (write p99 7 s) where one slot kept it at 0.6 s (docs/benchmarks.md).
    public var maxConcurrentQueries = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
    /// How many more may wait for a slot (each at most `query.timeout`) before the rest get a 503:
    /// 4 per slot, and at least `minQueuedQueries` so a dashboard's burst of panel queries fits
    /// even behind one slot.
    public var maxQueuedQueries: Int { max(4 * maxConcurrentQueries, minQueuedQueries) }
    var minQueuedQueries = 100
    /// Compressed body limit (413 above it).
    public var maxBodyBytes = 16 << 20
    /// Decompressed body limit, checked against the snappy header before allocating.
    public var maxDecodedBytes = 32 << 20
    /// Samples further ahead of the collector's clock are refused (`ingest.max_future`):
    /// ordinary drift passes, an edge device with a broken clock does not.
    public var maxFutureMs: Int64 = 600_000
    /// Shifts the collector's own clock (fault injection for tests: `--debug.clock-offset`).
    public var clockOffsetMs: Int64 = 0
    /// How often head compaction, block compaction and retention run.
    public var maintenanceInterval: Duration = .seconds(60)
    /// Health thresholds and refresh cadence of the fleet registry.
    public var fleet = FleetOptions()
    /// Prometheus rule files (globs allowed; relative to the config file).
    public var ruleFiles: [String] = []
    public var evaluationIntervalMs: Int64 = 60_000
    /// Prometheus' `--rules.alert.for-grace-period` and `--rules.alert.for-outage-tolerance`:
    /// how alert `for` state is restored from ALERTS_FOR_STATE after a restart (AlertRestore).
    public var forGracePeriodMs: Int64 = 10 * 60_000
    public var forOutageToleranceMs: Int64 = 60 * 60_000
    /// Alertmanager base URLs (alerts go to their `/api/v2/alerts`).
    public var alertmanagers: [String] = []
    /// Webhook receivers that get Alertmanager's webhook JSON directly.
    public var webhooks: [String] = []
    /// How alert links (generatorURL) reach this collector.
    public var externalURL: String?
    /// HTTPS and client certificates on the listener (`tls:`); nil serves plain HTTP.
    public var tls: TLSOptions?
    /// `storage.remote`: a distributed backend instead of the embedded TSDB.
    public var remoteStorage: RemoteStorageOptions?
    /// `state.postgres`: users, tokens, audit, fleet registry and rule state in PostgreSQL, shared
    /// by every collector behind a load balancer; nil keeps them in SQLite under the data dir.
    public var postgres: PostgresOptions?
    /// `auth`: single sign-on, a directory, and roles for their groups.
    var auth = AuthOptions()
    /// Login throttling and how fast user changes reach this process (tests shorten them).
    var login = LoginPolicy()

    public init() {}

    /// `HOST:PORT`, `:PORT` or `[v6]:PORT`.
    public mutating func setListen(_ s: String) throws {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw OptionsError("invalid --listen \"\(s)\": expected HOST:PORT, e.g. 0.0.0.0:9490")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    /// Applies a YAML config file:
    /// ```yaml
    /// storage: { retention: 15d, retention_size: 50GB }
    /// state: { postgres: "postgres://fleetscope:secret@db/fleetscope" }
    /// query: { lookback_delta: 5m, timeout: 2m, max_samples: 50000000, max_concurrency: 20 }
    /// ingest: { max_body_bytes: 16MiB, max_decoded_bytes: 32MiB, max_future: 10m }
    /// fleet: { down_after: 2m, stale_after: 1h, refresh_interval: 30s }
    /// rules: { files: [rules/*.yml], evaluation_interval: 30s, for_grace_period: 10m, for_outage_tolerance: 1h }
    /// alerting: { alertmanagers: [http://127.0.0.1:9093], webhooks: [http://hooks/x], external_url: http://collector:9490 }
    /// tls: { cert_file: server.crt, key_file: server.key, client_ca_file: edge-ca.crt, client_auth_type: RequireAndVerifyClientCert }
    /// ```
    public mutating func apply(configFile path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw OptionsError("cannot read config file \(path): \(error.localizedDescription)")
        }
        let node: YAMLNode?
        do { node = try YAML.compose(text) } catch { throw OptionsError("\(path): invalid YAML: \(error)") }
        guard let root = node?.mapping else { return }
        let known: [String: Set<String>] = [
            "storage": ["retention", "retention_size", "remote"],
            "state": ["postgres"],
            "auth": AuthOptions.keys,
            "query": ["lookback_delta", "timeout", "max_samples", "max_concurrency"],
            "ingest": ["max_body_bytes", "max_decoded_bytes", "max_future"],
            "fleet": ["down_after", "stale_after", "refresh_interval"],
            "rules": ["files", "evaluation_interval", "for_grace_period", "for_outage_tolerance"],
            "alerting": ["alertmanagers", "webhooks", "external_url"],
            "tls": TLSOptions.configKeys,
        ]
        let baseDir = (path as NSString).deletingLastPathComponent
        var tlsValues: [String: (value: String, line: Int)] = [:]
        for (k, v) in root.map({ ($0.key, $0.value) }) {
            guard let section = k.scalar, let keys = known[section] else {
                throw OptionsError("\(path):\(k.line): unknown section \"\(k.scalar ?? "?")\" (known: \(known.keys.sorted().joined(separator: ", ")))")
            }
            // Sections of nested mappings parse themselves, in their own files.
            if section == "auth" {
                auth = try AuthOptions(node: v, file: path)
                continue
            }
            guard let m = v.mapping else { throw OptionsError("\(path):\(v.line): \"\(section)\" must be a mapping") }
            for (kk, vv) in m.map({ ($0.key, $0.value) }) {
                let key = kk.scalar ?? ""
                let line = kk.line
                guard keys.contains(key) else {
                    throw OptionsError("\(path):\(line): unknown key \"\(key)\" in \(section) (known: \(keys.sorted().joined(separator: ", ")))")
                }
                let value = vv.scalar ?? ""
                func bad(_ what: String) -> OptionsError { OptionsError("\(path):\(line): \(section).\(key): invalid \(what) \"\(value)\"") }
                func list() throws -> [String] {
                    guard let seq = vv.sequence else { throw OptionsError("\(path):\(line): \(section).\(key) must be a list") }
                    return try seq.map { n in
                        guard let s = n.scalar, !s.isEmpty else { throw OptionsError("\(path):\(n.line): \(section).\(key): empty entry") }
                        return s
                    }
                }
                func urls() throws -> [String] {
                    try list().map { u in
                        guard let url = URL(string: u), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                            throw OptionsError("\(path):\(line): \(section).\(key): \"\(u)\" is not an http(s) URL")
                        }
                        return u
                    }
                }
                switch (section, key) {
                case ("rules", "files"): ruleFiles = try list().map { $0.hasPrefix("/") || baseDir.isEmpty ? $0 : baseDir + "/" + $0 }
                case ("rules", "evaluation_interval"): evaluationIntervalMs = try positiveDurationMs(value) ?? { throw bad("duration") }()
                case ("rules", "for_grace_period"): forGracePeriodMs = try parseDurationMs(value) ?? { throw bad("duration") }()
                case ("rules", "for_outage_tolerance"): forOutageToleranceMs = try parseDurationMs(value) ?? { throw bad("duration") }()
                case ("alerting", "alertmanagers"): alertmanagers = try urls()
                case ("alerting", "webhooks"): webhooks = try urls()
                case ("alerting", "external_url"): externalURL = value
                case ("tls", _): tlsValues[key] = (value, line)
                case ("storage", "retention"): tsdb.retention = try parseDurationMs(value) ?? { throw bad("duration") }()
                case ("state", "postgres"):
                    do { postgres = try PostgresOptions(url: value) } catch let e as OptionsError {
                        throw OptionsError("\(path):\(line): \(e.description)")
                    }
                case ("storage", "remote"): remoteStorage = try RemoteStorageOptions(node: vv, file: path)
                case ("storage", "retention_size"): tsdb.maxBytes = try parseBytes(value) ?? { throw bad("size") }()
                case ("query", "lookback_delta"): engine.lookbackDelta = try parseDurationMs(value) ?? { throw bad("duration") }()
                case ("query", "timeout"): engine.timeout = .milliseconds(try positiveDurationMs(value) ?? { throw bad("duration") }())
                case ("query", "max_samples"):
                    engine.maxSamples = try Int(value).flatMap { $0 > 0 ? $0 : nil } ?? { throw bad("positive number") }()
                case ("query", "max_concurrency"):
                    maxConcurrentQueries = try Int(value).flatMap { (1...100_000).contains($0) ? $0 : nil } ?? { throw bad("number (1 to 100000)") }()
                case ("ingest", "max_body_bytes"): maxBodyBytes = Int(try parseBytes(value) ?? { throw bad("size") }())
                case ("ingest", "max_decoded_bytes"): maxDecodedBytes = Int(try parseBytes(value) ?? { throw bad("size") }())
                case ("ingest", "max_future"): maxFutureMs = try parseDurationMs(value) ?? { throw bad("duration") }()
                case ("fleet", "down_after"): fleet.downAfterMs = try positiveDurationMs(value) ?? { throw bad("duration") }()
                case ("fleet", "stale_after"): fleet.staleAfterMs = try positiveDurationMs(value) ?? { throw bad("duration") }()
                case ("fleet", "refresh_interval"):
                    fleet.refreshInterval = .milliseconds(try positiveDurationMs(value) ?? { throw bad("duration") }())
                default: break
                }
            }
        }
        if node?["tls"] != nil { tls = try TLSOptions(configValues: tlsValues, file: path, baseDir: baseDir) }
        if fleet.staleAfterMs < fleet.downAfterMs {
            throw OptionsError("\(path): fleet.stale_after (\(fleet.staleAfterMs / 1000)s) must not be shorter than fleet.down_after (\(fleet.downAfterMs / 1000)s)")
        }
    }
}

private func positiveDurationMs(_ s: String) -> Int64? {
    guard let ms = parseDurationMs(s), ms > 0 else { return nil }
    return ms
}

public struct OptionsError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// `15d`, `1h30m`, `500ms` as Prometheus writes durations.
public func parseDurationMs(_ s: String) -> Int64? {
    try? parseDuration(s)
}

/// `512MiB`, `10GB`, `1024` (bytes). Both SI and binary units mean powers of 1024, as in Prometheus' `--storage.tsdb.retention.size`.
public func parseBytes(_ s: String) -> Int64? {
    let t = s.trimmingCharacters(in: .whitespaces)
    let digits = t.prefix { $0.isNumber || $0 == "." }
    guard let n = Double(digits), n >= 0 else { return nil }
    let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).uppercased()
    let mult: Double
    switch unit {
    case "", "B": mult = 1
    case "KB", "KIB", "K": mult = 1024
    case "MB", "MIB", "M": mult = 1024 * 1024
    case "GB", "GIB", "G": mult = 1024 * 1024 * 1024
    case "TB", "TIB", "T": mult = 1024 * 1024 * 1024 * 1024
    default: return nil
    }
    // Compared as a Double first: `Int64(1e300)` would trap.
    return TimeMath.int64((n * mult).rounded(.down))
}
