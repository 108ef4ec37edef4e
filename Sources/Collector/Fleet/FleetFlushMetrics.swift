import Prometheus

/// The fleet registry's writes to the state store: how many clusters, how long, how often it
/// failed. At 125,000 clusters on a shared PostgreSQL this is the write load the fleet puts on it.
extension CollectorMetrics {
    func fleetFlush(rows: Int, seconds: Double, failed: Bool) {
        func counter(_ name: String, _ help: String) -> Prometheus.Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: [])
        }
        counter("fleetscope_fleet_registry_flushes_total", "Writes of changed clusters to the state store.").increment()
        counter("fleetscope_fleet_registry_rows_written_total", "Clusters written to the state store.").increment(by: Int64(rows))
        counter("fleetscope_fleet_registry_flush_seconds_total", "Time spent writing clusters to the state store (and reading the other collectors' changes).")
            .increment(by: seconds)
        if failed { counter("fleetscope_fleet_registry_flush_failures_total", "Writes to the state store that failed (retried at the next flush).").increment() }
    }
}
