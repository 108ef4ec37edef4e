import Logging
import PromQL
import ServiceLifecycle
import Storage
import TSDB

/// Keeps the registry's key numbers current and the fleet state visible as series:
/// every `refreshInterval` it runs a few fleet-wide PromQL aggregations over the TSDB and
/// appends `fleetscope_cluster_*` (like Prometheus scraping itself); every `flushInterval`
/// it writes changed clusters to the state store (SQLite or PostgreSQL).
struct FleetRefresher: Service {
    let registry: FleetRegistry
    let tsdb: TSDB
    let engine: Engine
    let logger: Logger
    /// Where the fleet queries run; nil: the embedded engine over `tsdb`.
    var backend: (any QueryBackend)? = nil
    /// How the registry's writes to the state store go (nil in tests that need none).
    var metrics: CollectorMetrics? = nil
    /// Delay of the first refresh: soon after start, once the first writes had a chance to land.
    var initialDelay: Duration = .seconds(5)

    /// Chosen for what `edge-scraper` (node collector and `simulate`) actually sends: per-CPU
    /// `node_cpu_seconds_total` with `mode`, `node_memory_*` from /proc/meminfo, filesystems
    /// with `fstype`, and kube-state-metrics' `kube_pod_status_phase`.
    /// `irate` of the idle counter: the last two samples, no extrapolation, so a cluster that
    /// started sending a minute ago is not shown near 100 % as `rate(...[5m])` would; and only
    /// the idle series are read (one in eight of `node_cpu_seconds_total`), which matters at
    /// 125,000 clusters.
    static let cpuQuery = #"100 * (1 - avg by (cluster) (irate(node_cpu_seconds_total{mode="idle"}[5m])))"#
    static let memoryQuery = "100 * (1 - sum by (cluster) (node_memory_MemAvailable_bytes) / sum by (cluster) (node_memory_MemTotal_bytes))"
    /// The fullest real filesystem: that is the one that takes a site down.
    static let diskQuery = #"max by (cluster) (100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"}))"#
    static let podsQuery = "sum by (cluster, phase) (kube_pod_status_phase)"

    func run() async throws {
        await sleep(initialDelay)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await refresh()
                    await sleep(registry.options.refreshInterval)
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await sleep(registry.options.flushInterval)
                    let started = ContinuousClock.now
                    do {
                        let rows = try await registry.flush()
                        metrics?.fleetFlush(rows: rows, seconds: (ContinuousClock.now - started).seconds, failed: false)
                    } catch {
                        metrics?.fleetFlush(rows: 0, seconds: (ContinuousClock.now - started).seconds, failed: true)
                        logger.error("writing the fleet registry to the state store failed: \(error)")
                    }
                }
            }
        }
    }

    private func sleep(_ d: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: d) }
    }

    /// One refresh: derived numbers first, so the series written next reflect them.
    func refresh() async {
        let now = registry.clock()
        var d = FleetDerived()
        d.cpuPercent = await byCluster(Self.cpuQuery, now)
        d.memoryPercent = await byCluster(Self.memoryQuery, now)
        d.diskPercent = await byCluster(Self.diskQuery, now)
        if let phases = await vector(Self.podsQuery, now) {
            var pods: [String: PodCounts] = [:]
            for e in phases {
                guard let c = e.labels["cluster"], e.v.isFinite else { continue }
                var p = pods[c, default: PodCounts()]
                let n = Int(e.v.rounded())
                switch e.labels["phase"] ?? "" {
                case "Running": p.running += n
                case "Pending": p.pending += n
                case "Failed": p.failed += n
                default: break
                }
                pods[c] = p
            }
            d.pods = pods
        }
        registry.applyDerived(d)
        do {
            for chunk in Self.stateSeries(registry.snapshot(), at: now).chunked(10_000) {
                _ = try await tsdb.append(Array(chunk))
            }
        } catch {
            logger.error("appending fleetscope_cluster_* series failed: \(error)")
        }
    }

    private func vector(_ query: String, _ now: Int64) async -> [VectorElement]? {
        do {
            let backend = backend ?? EmbeddedQueryBackend(engine: engine, storage: tsdb)
            guard case .vector(let v) = try await backend.instantQuery(query, at: now, timeout: engine.options.timeout) else { return [] }
            return v
        } catch {
            logger.warning("fleet query \(query) failed: \(error)")
            return nil
        }
    }

    private func byCluster(_ query: String, _ now: Int64) async -> [String: Double]? {
        guard let v = await vector(query, now) else { return nil }
        var out: [String: Double] = [:]
        for e in v where e.v.isFinite { if let c = e.labels["cluster"] { out[c] = e.v } }
        return out
    }

    /// `fleetscope_cluster_last_seen_seconds{cluster,region}` and
    /// `fleetscope_cluster_health{cluster,region,state}` (every state, 1 for the current
    /// one, so a state change never leaves a stale 1 behind for the lookback window).
    static func stateSeries(_ snap: FleetSnapshot, at t: Int64) -> [SeriesSamples] {
        var out: [SeriesSamples] = []
        out.reserveCapacity(snap.clusters.count * 5)
        let lastSeen = Label(Labels.metricName, "fleetscope_cluster_last_seen_seconds")
        let health = Label(Labels.metricName, "fleetscope_cluster_health")
        let job = Label("job", "fleetscope")
        let states = FleetHealth.allCases.map { ($0, Label("state", $0.rawValue)) }
        for c in snap.clusters {
            // Built in sorted order (__name__ < cluster < job < region < state): no sort per series.
            let region: [Label] = c.region.isEmpty ? [] : [Label("region", c.region)]
            let cluster = Label("cluster", c.name)
            if let last = c.lastSeenMs {
                out.append(SeriesSamples(labels: Labels(sortedUnchecked: [lastSeen, cluster, job] + region),
                                         samples: [Sample(t: t, v: Double(last) / 1000)]))
            }
            for (h, state) in states {
                out.append(SeriesSamples(labels: Labels(sortedUnchecked: [health, cluster, job] + region + [state]),
                                         samples: [Sample(t: t, v: h == c.health ? 1 : 0)]))
            }
        }
        return out
    }
}

extension Array {
    fileprivate func chunked(_ n: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: n).map { self[$0..<Swift.min($0 + n, count)] }
    }
}
