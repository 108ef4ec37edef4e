import Prometheus
import Synchronization
import TSDB

/// The collector's own metrics, exposed on /metrics. One registry per server instance
/// (no global bootstrap), so tests can run several collectors in one process.
final class CollectorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let samplesIngested: Counter
    private let duplicates: Counter
    private let conflicts: Counter
    private let tooOld: Counter
    private let requestDuration: Histogram<Double>
    private let queryDuration: Histogram<Double>
    private let lastTSDB = Mutex<TSDBMetrics?>(nil)

    init() {
        samplesIngested = Self.counterIn(registry, "fleetscope_samples_ingested_total", labels: [], help: "Samples stored durably (WAL fsynced) from remote-write.")
        duplicates = Self.counterIn(registry, "fleetscope_samples_duplicate_total", labels: [], help: "Samples identical to one already stored (accepted idempotently).")
        conflicts = Self.counterIn(registry, "fleetscope_samples_conflict_total", labels: [], help: "Samples whose timestamp was already stored with another value (the first value wins).")
        tooOld = Self.counterIn(registry, "fleetscope_samples_too_old_total", labels: [], help: "Samples older than the retention period, dropped.")
        let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        requestDuration = Self.histogram(registry, "fleetscope_remote_write_duration_seconds",
                                         "Time from receiving a remote-write body to answering it (includes the WAL fsync).", buckets)
        queryDuration = Self.histogram(registry, "fleetscope_query_duration_seconds", "PromQL query evaluation time.", buckets)
    }

    func request(code: Int, seconds: Double) {
        counter("fleetscope_remote_write_requests_total", labels: [("code", String(code))],
                             help: "Remote-write requests by response status.").increment()
        requestDuration.record(seconds)
    }

    func query(seconds: Double) { queryDuration.record(seconds) }

    func queryRejected(_ reason: String) {
        counter("fleetscope_queries_rejected_total", labels: [("reason", reason)],
                help: "API queries refused by query.max_concurrency admission (queue full, or no slot within the query timeout).").increment()
    }

    func requestRejected(_ reason: String) {
        counter("fleetscope_remote_write_rejected_requests_total", labels: [("reason", reason)],
                             help: "Whole remote-write requests refused, by reason.").increment()
    }

    func samplesRejected(_ reason: String, _ samples: Int, series: Int) {
        counter("fleetscope_series_rejected_total", labels: [("reason", reason)],
                             help: "Series refused from remote-write requests, by reason.").increment(by: Int64(series))
    }

    func samplesRejectedTotal(_ n: Int) {
        counter("fleetscope_samples_rejected_total", labels: [("reason", "invalid_series")], help: Self.rejectedHelp).increment(by: Int64(n))
    }

    /// Per cluster, so the operator sees which site's clock is wrong; only clusters that ever
    /// sent future samples get a series, and at most `maxFutureClusters` of them (without
    /// tokens the cluster comes from the sender, who must not be able to grow /metrics).
    func futureSamplesRejected(cluster: String, _ n: Int) {
        let name = futureClusters.withLock { known in
            if known.contains(cluster) { return cluster }
            if known.count >= Self.maxFutureClusters { return "_other" }
            known.insert(cluster)
            return cluster
        }
        counter("fleetscope_samples_rejected_total", labels: [("reason", "future"), ("cluster", name)], help: Self.rejectedHelp)
            .increment(by: Int64(n))
    }

    static let maxFutureClusters = 10_000
    private let futureClusters = Mutex<Set<String>>([])

    private static let rejectedHelp = "Samples refused: reason=\"invalid_series\" (see fleetscope_series_rejected_total), reason=\"future\" (beyond ingest.max_future ahead of the collector's clock, per cluster)."

    func ignored(_ kind: String, _ n: Int) {
        counter("fleetscope_ignored_total", labels: [("kind", kind)],
                             help: "Remote-write payload that is not stored yet (native histograms, exemplars).").increment(by: Int64(n))
    }

    func appended(_ r: AppendReport) {
        samplesIngested.increment(by: Int64(r.accepted))
        if r.duplicates > 0 { duplicates.increment(by: Int64(r.duplicates)) }
        if r.conflicts > 0 { conflicts.increment(by: Int64(r.conflicts)) }
        if r.tooOld > 0 { tooOld.increment(by: Int64(r.tooOld)) }
    }

    /// Copies the TSDB's own counters and gauges into the registry just before a scrape.
    func refresh(from m: TSDBMetrics) {
        let prev = lastTSDB.withLock { last in
            defer { last = m }
            return last
        }
        func counter(_ name: String, _ help: String, _ now: Int, _ before: Int?) {
            let d = now - (before ?? 0)
            let c = self.counter(name, labels: [], help: help)
            if d > 0 { c.increment(by: Int64(d)) }
        }
        counter("fleetscope_tsdb_wal_fsyncs_total", "WAL fsync calls (shared by concurrent writers).", m.walFsyncs, prev?.walFsyncs)
        counter("fleetscope_tsdb_wal_bytes_written_total", "Bytes written to the WAL.", m.walBytesWritten, prev?.walBytesWritten)
        counter("fleetscope_tsdb_wal_corruptions_repaired_total", "Torn or corrupt WAL tails cut at the last good record.", m.walCorruptionsRepaired, prev?.walCorruptionsRepaired)
        counter("fleetscope_tsdb_out_of_order_samples_total", "Samples older than their series' newest sample (stored in out-of-order chunks).", m.outOfOrderSamples, prev?.outOfOrderSamples)
        counter("fleetscope_tsdb_compactions_total", "Block compactions run.", m.compactions, prev?.compactions)
        counter("fleetscope_tsdb_retention_deleted_blocks_total", "Blocks deleted by time or size retention.", m.retentionDeletedBlocks, prev?.retentionDeletedBlocks)
        let fsyncSeconds = gauge("fleetscope_tsdb_wal_fsync_seconds_total", labels: [], help: "Total time spent in WAL fsync.")
        fsyncSeconds.set(m.walFsyncSecondsTotal)
        gauge("fleetscope_tsdb_head_series", labels: [], help: "Series in the in-memory head.").set(Double(m.headSeries))
        gauge("fleetscope_tsdb_head_chunks", labels: [], help: "Chunks in the in-memory head.").set(Double(m.headChunks))
        gauge("fleetscope_tsdb_blocks", labels: [], help: "Persisted blocks.").set(Double(m.blocks))
        gauge("fleetscope_tsdb_block_bytes", labels: [], help: "Bytes of persisted blocks on disk.").set(Double(m.blockBytes))
    }

    /// Fleet totals by health, set just before a scrape.
    func refreshFleet(_ snap: FleetSnapshot) {
        var counts: [FleetHealth: Int] = [:]
        for c in snap.clusters { counts[c.health, default: 0] += 1 }
        for h in FleetHealth.allCases {
            gauge("fleetscope_fleet_clusters", labels: [("health", h.rawValue)],
                  help: "Clusters known to the fleet registry, by health.").set(Double(counts[h] ?? 0))
        }
    }

    func notifications(receiver: String, outcome: String, _ n: Int) {
        counter("fleetscope_notifications_total", labels: [("receiver", receiver), ("outcome", outcome)],
                help: "Alerts sent to Alertmanagers and webhooks, by outcome.").increment(by: Int64(n))
    }

    func ruleGroupEvaluated() {
        counter("fleetscope_rule_group_evaluations_total", labels: [], help: "Rule group evaluations.").increment()
    }

    func ruleEvaluationFailed() {
        counter("fleetscope_rule_evaluation_failures_total", labels: [], help: "Rule evaluations that failed (see /api/v1/rules).").increment()
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }

    private func counter(_ name: String, labels: [(String, String)], help: String) -> Prometheus.Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    private func gauge(_ name: String, labels: [(String, String)], help: String) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    private static func counterIn(_ r: PrometheusCollectorRegistry, _ name: String, labels: [(String, String)], help: String) -> Prometheus.Counter {
        r.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    private static func histogram(_ r: PrometheusCollectorRegistry, _ name: String, _ help: String, _ buckets: [Double]) -> Histogram<Double> {
        r.makeValueHistogram(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: [], buckets: buckets)
    }
}
