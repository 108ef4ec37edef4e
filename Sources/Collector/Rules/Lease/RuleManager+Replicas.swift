import Storage

/// The rule manager's side of running as one of several replicas: the lease's gains and
/// losses, and the alert state shared through the store.
extension RuleManager {
    /// A store that does not answer in this time (a half-dead connection) counts as failed: the
    /// group's evaluations must go on, and notifications wait for a save that succeeds.
    static let storeTimeout: Duration = .seconds(10)

    func leaseChanged(held: Bool) {
        metrics.ruleLease(held: held)
        // One collector holds it from start to shutdown: nothing worth a log line.
        if lease is SingleProcessLease { return }
        if held {
            logger.notice("rule lease gained (\(lease.holderID)): this collector now evaluates the rules and sends the notifications")
        } else {
            logger.notice("rule lease lost or released (\(lease.holderID)): this collector no longer evaluates the rules; /api/v1/rules and /api/v1/alerts show the shared state")
        }
    }

    /// Replaces group `i`'s alerts with the shared ones; false (logged) when the store does not
    /// answer. Rules keep their own health and last evaluation (those are not shared).
    @discardableResult
    func loadShared(group i: Int) async -> Bool {
        guard let store else { return true }
        let key = AlertStateKeys.group(groups[i])
        let loaded: [String: [Alert]]
        do { loaded = try await raceTimeout(Self.storeTimeout) { try await store.load(group: key) } } catch {
            logger.warning("loading the shared alert state of group \"\(groups[i].name)\" failed: \(error)")
            return false
        }
        var rules = states.withLock { $0[i] }
        var sigs: [[Labels: AlertSignature]] = []
        for r in rules.indices {
            let alerts = loaded[AlertStateKeys.rule(r, rules[r].rule)] ?? []
            rules[r].alerts = Dictionary(alerts.map { ($0.labels, $0) }, uniquingKeysWith: { a, _ in a })
            // The shared active times are the ones from before: nothing to restore, and
            // ALERTS_FOR_STATE may be written from the first evaluation on.
            rules[r].forStateRestored = true
            sigs.append(rules[r].alerts.mapValues(AlertSignature.init))
        }
        states.withLock { $0[i] = rules }
        saved.withLock { $0[i] = sigs }
        onAlerts(firingByCluster())
        return true
    }

    /// Saves what changed in group `i` since the last save; true when saved (or no store). On
    /// failure (the store is down, or the lease is gone) the alerts' "sent" marks go back to
    /// what the store holds, so that what was not sent is sent later, by whoever holds the lease.
    func saveShared(group i: Int, _ rules: inout [RuleState]) async -> Bool {
        guard let store else { return true }
        let before = saved.withLock { $0[i] }
        let changes = rules.indices.map { r in
            AlertSignature.changes(ruleKey: AlertStateKeys.rule(r, rules[r].rule), alerts: rules[r].alerts, saved: before[r])
        }
        do {
            let key = AlertStateKeys.group(groups[i])
            try await raceTimeout(Self.storeTimeout) { try await store.save(group: key, changes) }
            saved.withLock { $0[i] = rules.map { $0.alerts.mapValues(AlertSignature.init) } }
            return true
        } catch {
            if error is NotLeaseHolder {
                logger.notice("group \"\(groups[i].name)\": the rule lease moved on during the evaluation; its notifications are left to the new holder")
            } else {
                logger.warning("saving the shared alert state of group \"\(groups[i].name)\" failed, notifications held back: \(error)")
            }
            for r in rules.indices {
                for (l, var a) in rules[r].alerts {
                    a.lastSentMs = before[r][l]?.lastSentMs
                    a.webhookState = before[r][l]?.webhookState
                    rules[r].alerts[l] = a
                }
            }
            return false
        }
    }
}
