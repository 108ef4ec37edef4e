import DurableIO
import Prometheus

/// `/metrics` of the forward path to `storage.remote`, in the collector's registry
/// (`fleetscope_remote_storage_*`, after Prometheus' `prometheus_remote_storage_*`).
struct ForwardMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let queueBytes: Gauge
    let pendingSamples: Gauge
    let oldestUnsentAge: Gauge
    let samplesSent: Counter
    let bytesSent: Counter
    let retries: Counter
    let refused: Counter
    let reachable: Gauge

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        func gauge(_ n: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: n, unitName: "", helpText: help), labels: [])
        }
        func counter(_ n: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: n, unitName: "", helpText: help), labels: [])
        }
        queueBytes = gauge("fleetscope_remote_storage_queue_bytes", "Bytes of forward-queue segments on disk (storage.remote.queue.max_bytes bounds it).")
        pendingSamples = gauge("fleetscope_remote_storage_pending_samples", "Samples in the forward queue not yet acknowledged by the remote storage.")
        oldestUnsentAge = gauge("fleetscope_remote_storage_oldest_unsent_age_seconds", "How long ago the oldest sample not yet delivered to the remote storage was queued (0: nothing waiting).")
        samplesSent = counter("fleetscope_remote_storage_samples_sent_total", "Samples the remote storage acknowledged with a 2xx.")
        bytesSent = counter("fleetscope_remote_storage_bytes_sent_total", "Compressed request body bytes the remote storage acknowledged with a 2xx.")
        retries = counter("fleetscope_remote_storage_retries_total", "Requests to the remote storage retried after a 5xx, 429 or transport error.")
        refused = counter("fleetscope_remote_storage_samples_refused_total", "Samples refused at ingest because the forward queue was full (answered 503; the sender keeps them).")
        reachable = gauge("fleetscope_remote_storage_reachable", "1 when the remote storage answered the last request or probe, else 0.")
        // Present from the start, so a dashboard sees 0 rather than no series.
        for r in ["rejected", "queue_corrupt", "queue_write_error"] { dropped(r, 0) }
    }

    /// Samples that will never reach the remote storage, by reason: `rejected` (a 4xx other
    /// than 429: retrying cannot help), `queue_corrupt`, `queue_write_error`.
    func dropped(_ reason: String, _ samples: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "fleetscope_remote_storage_samples_dropped_total", unitName: "",
                                                              helpText: "Samples that will not reach the remote storage, by reason."),
                             labels: [("reason", reason)]).increment(by: Int64(samples))
    }

    func request(code: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "fleetscope_remote_storage_requests_total", unitName: "",
                                                              helpText: "Requests to storage.remote.write_url by HTTP status (0: no answer)."),
                             labels: [("code", String(code))]).increment()
    }

    /// What DurableIO's queue reports, onto the gauges and counters above.
    var queueObserver: QueueObserver {
        var o = QueueObserver()
        let m = self
        o.bytes = { m.queueBytes.set(Double($0)) }
        o.pending = { m.pendingSamples.set(Double($0)) }
        o.refused = { m.refused.increment(by: Int64($0)) }
        o.droppedCorrupt = { if $0 > 0 { m.dropped("queue_corrupt", $0) } }
        o.droppedWriteError = { if $0 > 0 { m.dropped("queue_write_error", $0) } }
        return o
    }
}
