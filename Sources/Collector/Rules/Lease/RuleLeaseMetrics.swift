import Prometheus

/// `fleetscope_rule_lease_held` (0/1) and `fleetscope_rule_lease_transitions_total`: which
/// replica evaluates the rules, and how often that changed (a flapping lease shows here).
extension CollectorMetrics {
    func ruleLease(held: Bool) {
        ruleLeaseHeldGauge().set(held ? 1.0 : 0.0)
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "fleetscope_rule_lease_transitions_total", unitName: "",
                                                              helpText: "Rule lease gains and losses of this collector."),
                             labels: [("to", held ? "held" : "lost")]).increment()
    }

    /// Set once at start: a single collector holds the lease for good, a replica starts without.
    func ruleLeaseInitial(held: Bool) { ruleLeaseHeldGauge().set(held ? 1.0 : 0.0) }

    private func ruleLeaseHeldGauge() -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "fleetscope_rule_lease_held", unitName: "",
                                                            helpText: "1 while this collector holds the rule lease (evaluates rules and notifies), else 0."),
                           labels: [])
    }
}
