import PromQL
import Storage
import TSDB

/// Alert `for` state across restarts, as Prometheus keeps it: every evaluation writes
/// `ALERTS_FOR_STATE{<alert labels>}` = the second the alert became active; after a restart,
/// the first evaluation finds the alerts active again (as pending, since now), and then each
/// gets its old active time back from the last ALERTS_FOR_STATE sample, so `for` does not start
/// over and an alert that was firing fires again at the next evaluation, with no resolved
/// notification in between (Alertmanager keeps it firing until its `endsAt`).
///
/// Prometheus' rules (rules/manager.go, RestoreForState): only samples within the outage
/// tolerance count; a rule whose `for` is below the grace period is not restored (it waits its
/// `for` again); an alert that still had more than the grace period to wait gets the downtime
/// added (the time down does not count as pending), one with less gets exactly the grace period.
struct AlertRestore: Sendable {
    var gracePeriodMs: Int64 = 10 * 60_000
    var outageToleranceMs: Int64 = 60 * 60_000

    static let metricName = "ALERTS_FOR_STATE"

    static func forStateLabels(_ alertLabels: Labels) -> Labels {
        alertLabels.setting(Labels.metricName, metricName)
    }

    /// The restored active time (ms) of an alert of a rule with `forMs`, given the last
    /// ALERTS_FOR_STATE sample `(t, v)` before the restart; nil keeps the alert as it is.
    func restoredActiveAt(last: Sample, forMs: Int64, now: Int64) -> Int64? {
        if StaleNaN.isStale(last.v) || !last.v.isFinite { return nil }
        // Whole seconds, as Prometheus reads both (time.Unix(t/1000), time.Unix(int64(v))).
        let downAt = last.t / 1000 * 1000
        let activeAt = Int64(last.v) * 1000
        let remaining = forMs - (downAt - activeAt)
        if remaining <= 0 { return activeAt }
        if remaining < gracePeriodMs { return now + gracePeriodMs - forMs }
        return activeAt + (now - downAt)
    }
}

extension RuleManager {
    /// Gives the active alerts of group `i` their active times from before the restart.
    func restoreForState(group i: Int, at now: Int64) async {
        var rules = states.withLock { $0[i] }
        let q: ForStateSource?
        do {
            q = restoreThroughBackend
                ? .backend(backend, timeout: engine.options.timeout)
                : .local(try tsdb.querier(mint: now - restore.outageToleranceMs, maxt: now))
        } catch {
            logger.warning("restoring alert state of group \"\(groups[i].name)\": \(error)")
            q = nil
        }
        var restored = 0
        for r in rules.indices {
            rules[r].forStateRestored = true
            guard let q, case .alerting(let forMs, _) = rules[r].rule.kind, forMs >= restore.gracePeriodMs else { continue }
            guard rules[r].alerts.values.contains(where: { $0.state != .inactive }) else { continue }
            let lastByLabels: [Labels: Sample]
            do { lastByLabels = try await q.lastSamples(alertname: rules[r].rule.name, now: now, toleranceMs: restore.outageToleranceMs) } catch {
                logger.warning("restoring alert state of rule \"\(rules[r].rule.name)\": \(error)")
                continue
            }
            for (l, var a) in rules[r].alerts where a.state != .inactive {
                guard let last = lastByLabels[AlertRestore.forStateLabels(l)],
                      let at = restore.restoredActiveAt(last: last, forMs: forMs, now: now) else { continue }
                a.activeAtMs = at
                rules[r].alerts[l] = a
                restored += 1
            }
        }
        states.withLock { $0[i] = rules }
        if restored > 0 { logger.info("restored the `for` state of \(restored) alert(s) in group \"\(groups[i].name)\" from ALERTS_FOR_STATE") }
    }
}
