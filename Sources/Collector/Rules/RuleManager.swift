import Foundation
import Logging
import PromQL
import ServiceLifecycle
import Storage
import Synchronization
import TSDB

/// Evaluates recording and alerting rule groups on their intervals over the whole TSDB (or
/// the remote backend), hands recorded series and `ALERTS` to the output sink, and alerts to the
/// notifier. With several replicas, only the holder of the rule lease evaluates (see Lease/).
final class RuleManager: Service, Sendable {
    let groups: [RuleGroup]
    /// Per group, its rules' state. Each group's task writes only its own slot.
    let states: Mutex<[[RuleState]]>
    private let lastGroupEval = Mutex<[Int: (Int64, Double)]>([:])
    let tsdb: TSDB
    let engine: Engine
    /// Where rule expressions are evaluated: the embedded engine, or the remote backend.
    let backend: any QueryBackend
    let notifier: Notifier
    let logger: Logger
    let metrics: CollectorMetrics
    /// Told the firing alerts per cluster after every group evaluation (the fleet registry).
    let onAlerts: @Sendable ([String: Int]) -> Void
    /// Prometheus' `--rules.alert.resend-delay`.
    static let resendMs: Int64 = 60_000

    /// Restores alerts' `for` state after a restart, once per group after its first evaluation.
    let restore: AlertRestore
    /// Who evaluates when several collectors run as one; SingleProcessLease: always this one.
    let lease: any RuleLease
    /// The alert state shared between replicas (state.postgres); nil: this process only.
    let store: (any AlertStateStore)?
    /// Where rule output goes: the embedded TSDB or the forward queue.
    let sink: RuleOutputSink
    /// Remote mode: the `for` restore reads ALERTS_FOR_STATE through `backend`.
    let restoreThroughBackend: Bool
    /// Per group and rule, the alerts as last saved to (or loaded from) `store`.
    let saved: Mutex<[[[Labels: AlertSignature]]]>

    init(groups: [RuleGroup], tsdb: TSDB, engine: Engine, notifier: Notifier, metrics: CollectorMetrics, logger: Logger,
         onAlerts: @escaping @Sendable ([String: Int]) -> Void = { _ in }, restore: AlertRestore = AlertRestore(),
         backend: (any QueryBackend)? = nil, lease: any RuleLease = SingleProcessLease(),
         store: (any AlertStateStore)? = nil, sink: RuleOutputSink? = nil, restoreThroughBackend: Bool = false) {
        self.backend = backend ?? EmbeddedQueryBackend(engine: engine, storage: tsdb)
        self.lease = lease
        self.store = store
        self.sink = sink ?? .embedded(tsdb)
        self.restoreThroughBackend = restoreThroughBackend
        saved = Mutex(groups.map { $0.rules.map { _ in [:] } })
        self.onAlerts = onAlerts
        self.restore = restore
        self.groups = groups
        states = Mutex(groups.map { $0.rules.map(RuleState.init) })
        self.tsdb = tsdb
        self.engine = engine
        self.notifier = notifier
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        // A service that returns early would end the whole server (ServiceGroup cancels on
        // return), so with no rules it simply waits for shutdown.
        guard !groups.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        logger.info("evaluating \(groups.reduce(0) { $0 + $1.rules.count }) rule(s) in \(groups.count) group(s)")
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { tg in
                tg.addTask { await self.lease.run { self.leaseChanged(held: $0) } }
                for i in self.groups.indices {
                    tg.addTask { await self.loop(group: i) }
                }
            }
        }
    }

    private func loop(group i: Int) async {
        let interval = groups[i].intervalMs
        var first = true
        // The lease term whose shared state this group has loaded.
        var loadedTerm: UInt64?
        while !Task.isCancelled {
            // Aligned to the interval, like Prometheus, so every group evaluates at stable times.
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let next = (now / interval + 1) * interval
            try? await Task.sleep(for: .milliseconds(next - now))
            if Task.isCancelled { return }
            guard let term = lease.heldTerm else {
                // Not the holder: evaluate nothing, show what the holder shares.
                loadedTerm = nil
                if store != nil { _ = await loadShared(group: i) }
                continue
            }
            if store != nil && loadedTerm != term {
                // Just became the holder: continue from the shared state, or wait a round.
                guard await loadShared(group: i) else { continue }
                loadedTerm = term
            }
            await evaluate(group: i, at: next)
            if first && store == nil {
                // As Prometheus: after the first evaluation, so the active alerts are known.
                // (With a shared store, the loaded state already carries every active time.)
                await restoreForState(group: i, at: next)
                first = false
            }
        }
    }

    /// One evaluation of group `i` at `now` (ms). Rules run in order, so a rule can read what
    /// an earlier one recorded in the same round.
    func evaluate(group i: Int, at now: Int64) async {
        let started = ContinuousClock.now
        var rules = states.withLock { $0[i] }
        var toAlertmanager: [Alert] = [], toWebhooks: [Alert] = []
        for r in rules.indices {
            let out = await rules[r].evaluate(backend: backend, timeout: engine.options.timeout, now: now)
            if rules[r].health == "err" {
                metrics.ruleEvaluationFailed()
                logger.warning("rule \"\(rules[r].rule.name)\" in group \"\(groups[i].name)\" failed: \(rules[r].lastError)")
            }
            if !out.isEmpty {
                do { try await sink.append(out, now) } catch {
                    logger.error("storing the results of rule \"\(rules[r].rule.name)\" failed: \(error)")
                }
            }
            toAlertmanager += rules[r].takeAlertsToSend(now: now, resendMs: Self.resendMs)
            toWebhooks += rules[r].takeWebhookChanges()
        }
        // Shared state first: what is not saved as sent is not sent (see PostgresAlertStateStore).
        if !(await saveShared(group: i, &rules)) { toAlertmanager = []; toWebhooks = [] }
        states.withLock { $0[i] = rules }
        lastGroupEval.withLock { $0[i] = (now, (ContinuousClock.now - started).seconds) }
        metrics.ruleGroupEvaluated()
        onAlerts(firingByCluster())
        await notifier.sendToAlertmanagers(toAlertmanager, now: now, validForMs: 4 * max(groups[i].intervalMs, Self.resendMs))
        await notifier.sendToWebhooks(toWebhooks)
    }

    /// Active (pending or firing) alerts a caller with `scope` may see (see RuleVisibility),
    /// with whether the caller may see their annotations.
    func activeAlerts(scope: Scope = .all) -> [(alert: Alert, full: Bool)] {
        let vis = RuleVisibility(scope: scope)
        var out: [(alert: Alert, full: Bool)] = []
        for rules in states.withLock({ $0 }) {
            for r in rules {
                let inside = vis.ruleInside(r.rule)
                for a in r.alerts.values where a.state != .inactive && (inside || vis.dataLabelsMatch(a, of: r.rule)) {
                    out.append((a, inside))
                }
            }
        }
        return out.sorted { $0.alert.labels < $1.alert.labels }
    }

    /// Firing alerts per `cluster` label, which the fleet registry counts into health.
    func firingByCluster() -> [String: Int] {
        // Runs after every group evaluation: count under the lock, without activeAlerts()' copy and sort.
        states.withLock { groups in
            var out: [String: Int] = [:]
            for rules in groups {
                for r in rules {
                    for a in r.alerts.values where a.state == .firing {
                        if let c = a.labels["cluster"] { out[c, default: 0] += 1 }
                    }
                }
            }
            return out
        }
    }

    // MARK: Prometheus API

    func alertsJSON(scope: Scope) -> APIResponse {
        .success { w in
            w.raw("{\"alerts\":[")
            for (i, a) in activeAlerts(scope: scope).enumerated() {
                if i > 0 { w.raw(",") }
                Self.alertJSON(&w, a.alert, annotations: a.full)
            }
            w.raw("]}")
        }
    }

    /// `type=alert|record` filters like Prometheus; a scoped user sees what RuleVisibility allows.
    func rulesJSON(_ p: Params, scope: Scope) throws(APIError) -> APIResponse {
        // Prometheus lower-cases it and takes "" as no filter.
        let type = p["type"].map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        guard type == nil || type == "alert" || type == "record" else {
            throw APIError(type: "bad_data", message: "invalid parameter \"type\": not supported value \"\(type!)\"", status: 400)
        }
        let evals = lastGroupEval.withLock { $0 }
        let all = states.withLock { $0 }
        let vis = RuleVisibility(scope: scope)
        return .success { w in
            w.raw("{\"groups\":[")
            var firstGroup = true
            for (gi, g) in groups.enumerated() {
                let rules: [(RuleState, [Alert]?)] = all[gi].compactMap { r in
                    switch (r.rule.kind, type) {
                    case (_, nil), (.alerting, "alert"), (.recording, "record"): break
                    default: return nil
                    }
                    if vis.ruleInside(r.rule) { return (r, nil) }
                    let alerts = r.alerts.values.filter { $0.state != .inactive && vis.dataLabelsMatch($0, of: r.rule) }
                    return alerts.isEmpty ? nil : (r, alerts)
                }
                if rules.isEmpty && !vis.isUnscoped { continue }
                if !firstGroup { w.raw(",") }
                firstGroup = false
                w.raw("{\"name\":"); w.string(g.name)
                w.raw(",\"file\":"); w.string(g.file)
                w.raw(",\"rules\":[")
                for (ri, (r, visible)) in rules.enumerated() {
                    if ri > 0 { w.raw(",") }
                    Self.ruleJSON(&w, r, redactedTo: visible)
                }
                w.raw("],\"interval\":"); w.raw(formatPromValue(Double(g.intervalMs) / 1000))
                w.raw(",\"limit\":0,\"evaluationTime\":"); w.raw(formatPromValue(evals[gi]?.1 ?? 0))
                w.raw(",\"lastEvaluation\":"); w.string(evals[gi].map { Notifier.rfc3339($0.0) } ?? "0001-01-01T00:00:00Z")
                w.raw("}")
            }
            w.raw("]}")
        }
    }

    /// `redactedTo`: nil shows the whole rule; otherwise only these alerts, without the rule's
    /// query, labels and annotations (a rule outside the caller's scope).
    private static func ruleJSON(_ w: inout JSONWriter, _ r: RuleState, redactedTo visible: [Alert]?) {
        let rule = r.rule
        let full = visible == nil
        if case .alerting(let forMs, let keepMs) = rule.kind {
            let alerts = (visible ?? r.alerts.values.filter { $0.state != .inactive }).sorted { $0.labels < $1.labels }
            let state = alerts.contains { $0.state == .firing } ? "firing" : alerts.isEmpty ? "inactive" : "pending"
            w.raw("{\"state\":"); w.string(state)
            w.raw(",\"name\":"); w.string(rule.name)
            w.raw(",\"query\":"); w.string(full ? rule.query : "")
            w.raw(",\"duration\":"); w.raw(formatPromValue(Double(forMs) / 1000))
            w.raw(",\"keepFiringFor\":"); w.raw(formatPromValue(Double(keepMs) / 1000))
            w.raw(",\"labels\":"); Notifier.object(&w, full ? rule.labels : [])
            w.raw(",\"annotations\":"); Notifier.object(&w, full ? rule.annotations : [])
            w.raw(",\"alerts\":[")
            for (i, a) in alerts.enumerated() {
                if i > 0 { w.raw(",") }
                alertJSON(&w, a, annotations: full)
            }
            w.raw("]")
        } else {
            w.raw("{\"name\":"); w.string(rule.name)
            w.raw(",\"query\":"); w.string(full ? rule.query : "")
            w.raw(",\"labels\":"); Notifier.object(&w, full ? rule.labels : [])
        }
        w.raw(",\"health\":"); w.string(r.health)
        if !r.lastError.isEmpty && full { w.raw(",\"lastError\":"); w.string(r.lastError) }
        w.raw(",\"evaluationTime\":"); w.raw(formatPromValue(r.evaluationSeconds))
        w.raw(",\"lastEvaluation\":"); w.string(r.lastEvaluationMs > 0 ? Notifier.rfc3339(r.lastEvaluationMs) : "0001-01-01T00:00:00Z")
        w.raw(",\"type\":"); w.string(rule.kind == .recording ? "recording" : "alerting")
        w.raw("}")
    }

    private static func alertJSON(_ w: inout JSONWriter, _ a: Alert, annotations: Bool) {
        w.raw("{\"labels\":"); Notifier.object(&w, a.labels.map { ($0.name, $0.value) })
        w.raw(",\"annotations\":"); Notifier.object(&w, annotations ? a.annotations : [])
        w.raw(",\"state\":"); w.string(a.state.rawValue)
        w.raw(",\"activeAt\":"); w.string(Notifier.rfc3339(a.activeAtMs))
        w.raw(",\"value\":"); w.string(goExponent(a.value))
        w.raw("}")
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, which Prometheus uses for an alert's value:
/// `1e+00`, `4.2e+01`, `-3.5e-07`.
func goExponent(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    if v == 0 { return v.sign == .minus ? "-0e+00" : "0e+00" }
    // Swift's description is the shortest round-tripping decimal; re-express it as d.ddde±XX.
    var s = "\(Swift.abs(v))"
    var exp = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exp = Int(s[s.index(after: e)...]) ?? 0
        s = String(s[..<e])
    }
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
    var digits = intPart + frac
    exp += intPart.count - 1
    while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); exp -= 1 }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    let mantissa = digits.count > 1 ? String(digits.first!) + "." + digits.dropFirst() : digits
    let e = Swift.abs(exp)
    return (v < 0 ? "-" : "") + mantissa + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
}
