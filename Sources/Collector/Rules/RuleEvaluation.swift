import PromQL
import Storage
import TSDB

enum AlertState: String, Sendable {
    case pending, firing, inactive
}

/// One alert instance of an alerting rule, as Prometheus tracks it.
struct Alert: Sendable {
    var labels: Labels
    var annotations: [(String, String)]
    var state: AlertState
    var activeAtMs: Int64
    var value: Double
    var firedAtMs: Int64?
    var resolvedAtMs: Int64?
    var keepFiringSinceMs: Int64?
    /// Last time this alert went to Alertmanager (resend every minute while firing).
    var lastSentMs: Int64?
    /// The state webhooks were last told about (they hear only changes).
    var webhookState: AlertState?
}

/// What one rule knows between evaluations. A value type: the manager owns it and hands it
/// to `evaluate`, which is pure apart from the query, so the state machine is testable.
struct RuleState: Sendable {
    let rule: Rule
    var alerts: [Labels: Alert] = [:]
    var health = "unknown"
    var lastError = ""
    var lastEvaluationMs: Int64 = 0
    var evaluationSeconds = 0.0
    /// Series written by the last evaluation, to end the ones that disappear with a
    /// staleness marker as Prometheus does.
    var written: Set<Labels> = []
    /// Set once AlertRestore has looked for this rule's state from before a restart; from then
    /// on evaluations write ALERTS_FOR_STATE.
    var forStateRestored = false

    /// Resolved alerts are kept (and re-sent as resolved) this long, as in Prometheus.
    static let resolvedRetentionMs: Int64 = 15 * 60_000

    init(rule: Rule) { self.rule = rule }

    /// Evaluates the rule at `now` over `storage` and returns the series to append: the
    /// recorded series, or `ALERTS`, plus staleness markers for those that went away.
    mutating func evaluate(engine: Engine, storage: any Queryable, now: Int64) async -> [SeriesSamples] {
        await evaluate(backend: EmbeddedQueryBackend(engine: engine, storage: storage), timeout: engine.options.timeout, now: now)
    }

    /// Evaluates the rule through `backend` (embedded or remote), unscoped.
    mutating func evaluate(backend: any QueryBackend, timeout: Duration, now: Int64) async -> [SeriesSamples] {
        let started = ContinuousClock.now
        defer {
            lastEvaluationMs = now
            evaluationSeconds = (ContinuousClock.now - started).seconds
        }
        let vector: [VectorElement]
        do {
            switch try await backend.instantQuery(rule.expr, at: now, scope: [], timeout: timeout) {
            case .vector(let v): vector = v
            case .scalar(let t, let v): vector = [VectorElement(labels: Labels(), t: t, v: v)]
            default: throw PromQLError(.execution, "rule expression must give an instant vector or a scalar")
            }
            let current: [Labels: Double]
            switch rule.kind {
            case .recording: current = try record(vector)
            case .alerting(let forMs, let keepMs): current = try alert(vector, now: now, forMs: forMs, keepMs: keepMs)
            }
            health = "ok"
            lastError = ""
            return series(current, now: now)
        } catch let e as PromQLError {
            health = "err"
            lastError = e.message
        } catch let e as APIError {
            health = "err"
            lastError = e.message
        } catch {
            health = "err"
            lastError = "\(error)"
        }
        // On error Prometheus writes nothing (and keeps alert state as it was).
        return []
    }

    private func record(_ vector: [VectorElement]) throws(PromQLError) -> [Labels: Double] {
        var out: [Labels: Double] = [:]
        for el in vector {
            var l = el.labels.setting(Labels.metricName, rule.name)
            for (k, v) in rule.labels { l = v.isEmpty ? l.removing([k]) : l.setting(k, v) }
            guard out.updateValue(el.v, forKey: l) == nil else {
                throw PromQLError(.execution, "vector contains metrics with the same labelset after applying rule labels")
            }
        }
        return out
    }

    private mutating func alert(_ vector: [VectorElement], now: Int64, forMs: Int64, keepMs: Int64) throws(PromQLError) -> [Labels: Double] {
        var seen: [Labels: (Double, [(String, String)])] = [:]
        for el in vector {
            let t = AlertTemplate(labels: el.labels, value: el.v)
            var l = el.labels.withoutMetricName
            for (k, v) in rule.labels {
                let x = t.expand(v)
                l = x.isEmpty ? l.removing([k]) : l.setting(k, x)
            }
            l = l.setting("alertname", rule.name)
            guard seen[l] == nil else {
                throw PromQLError(.execution, "vector contains metrics with the same labelset after applying alert labels")
            }
            seen[l] = (el.v, rule.annotations.map { ($0.0, t.expand($0.1)) })
        }
        for (l, (v, annotations)) in seen {
            if var a = alerts[l], a.state != .inactive {
                a.value = v
                a.annotations = annotations
                a.keepFiringSinceMs = nil
                alerts[l] = a
            } else {
                alerts[l] = Alert(labels: l, annotations: annotations, state: .pending, activeAtMs: now, value: v)
            }
        }
        for (l, var a) in alerts where seen[l] == nil {
            switch a.state {
            case .pending:
                alerts[l] = nil
            case .firing:
                if keepMs > 0 {
                    let since = a.keepFiringSinceMs ?? now
                    a.keepFiringSinceMs = since
                    if now - since < keepMs { alerts[l] = a; continue }
                }
                a.state = .inactive
                a.resolvedAtMs = now
                alerts[l] = a
            case .inactive:
                if now - (a.resolvedAtMs ?? now) > Self.resolvedRetentionMs { alerts[l] = nil }
            }
        }
        var out: [Labels: Double] = [:]
        for (l, var a) in alerts where a.state != .inactive {
            if a.state == .pending && now - a.activeAtMs >= forMs {
                a.state = .firing
                a.firedAtMs = now
                alerts[l] = a
            }
            out[l.setting(Labels.metricName, "ALERTS").setting("alertstate", a.state.rawValue)] = 1
            // When it became active, in whole seconds as Prometheus writes it: read back after a
            // restart. Not before this run's restore, which would otherwise read its own sample.
            if forStateRestored { out[AlertRestore.forStateLabels(l)] = Double(a.activeAtMs / 1000) }
        }
        return out
    }

    private mutating func series(_ current: [Labels: Double], now: Int64) -> [SeriesSamples] {
        var out = current.map { SeriesSamples(labels: $0.key, samples: [Sample(t: now, v: $0.value)]) }
        for gone in written where current[gone] == nil {
            out.append(SeriesSamples(labels: gone, samples: [Sample(t: now, v: StaleNaN.value)]))
        }
        written = Set(current.keys)
        return out
    }

    /// Prometheus' `needsSending`: firing alerts every `resendMs`, resolved ones once more
    /// after they resolve (and again every `resendMs` while kept), pending never.
    func needsSending(_ a: Alert, now: Int64, resendMs: Int64) -> Bool {
        if a.state == .pending { return false }
        guard let sent = a.lastSentMs else { return true }
        if let r = a.resolvedAtMs, r > sent { return true }
        return sent + resendMs <= now
    }

    /// Alerts to send now, marking them sent.
    mutating func takeAlertsToSend(now: Int64, resendMs: Int64) -> [Alert] {
        var out: [Alert] = []
        for (l, var a) in alerts where needsSending(a, now: now, resendMs: resendMs) {
            a.lastSentMs = now
            alerts[l] = a
            out.append(a)
        }
        return out
    }

    /// Alerts whose firing/resolved state changed since webhooks last heard of them.
    mutating func takeWebhookChanges() -> [Alert] {
        var out: [Alert] = []
        for (l, var a) in alerts where a.state != .pending && a.webhookState != a.state {
            // An alert that resolved before webhooks ever heard it fire is not news.
            if a.state == .inactive && a.webhookState == nil { continue }
            a.webhookState = a.state
            alerts[l] = a
            out.append(a)
        }
        return out
    }
}
