import Logging
import PostgresNIO
import Storage

/// `rule_alert_state` in `state.postgres`: one row per alert (group, rule, Alertmanager
/// fingerprint of its labels), the alert as JSON.
///
/// A save is fenced on the lease: in one transaction it first locks this replica's lease row
/// (`SELECT ... FOR UPDATE`, only if still ours and unexpired), then writes. A replica taking
/// the lease over updates that same row, so it waits for such a save to commit, and the state
/// it loads afterwards includes it; a save by a replica that lost the lease writes nothing and
/// throws, and the caller then sends nothing. This is what keeps notifications single across a
/// takeover: the holder saves "sent" before it sends, the next holder reads "sent".
struct PostgresAlertStateStore: AlertStateStore {
    let client: PostgresClient
    let holderID: String
    let leaseName: String
    let logger: Logger

    init(client: PostgresClient, holderID: String, leaseName: String = "rules", logger: Logger) {
        self.client = client
        self.holderID = holderID
        self.leaseName = leaseName
        self.logger = logger
    }

    func load(group: String) async throws -> [String: [Alert]] {
        let rows = try await client.query("SELECT rule_key, alert FROM rule_alert_state WHERE group_key = \(group)", logger: logger)
        var out: [String: [Alert]] = [:]
        for try await (rule, text) in rows.decode((String, String).self) {
            // A row this version cannot read is skipped: the rule re-evaluates that alert anew.
            if let a = SharedAlert.decode(text) { out[rule, default: []].append(a) }
        }
        return out
    }

    func save(group: String, _ changes: [AlertStateChanges]) async throws {
        let changes = changes.filter { !$0.isEmpty }
        guard !changes.isEmpty else { return }
        var rules: [String] = [], prints: [String] = [], alerts: [String] = []
        var goneRules: [String] = [], gonePrints: [String] = []
        for c in changes {
            for a in c.upserts {
                rules.append(c.ruleKey); prints.append(Notifier.fingerprint(a.labels)); alerts.append(try SharedAlert.encode(a))
            }
            for l in c.removed { goneRules.append(c.ruleKey); gonePrints.append(Notifier.fingerprint(l)) }
        }
        let (holder, lease, logger) = (holderID, leaseName, self.logger)
        let ours = try await client.withTransaction(logger: logger) { c -> Bool in
            let fence = try await c.query("""
                SELECT holder FROM rule_lease WHERE name = \(lease) AND holder = \(holder) AND expires_at > now() FOR UPDATE
                """, logger: logger)
            var ours = false
            for try await _ in fence.decode(String.self) { ours = true }
            // Not ours: return (the empty transaction commits) rather than throw, which the
            // transaction would wrap in its own error type.
            guard ours else { return false }
            if !rules.isEmpty {
                try await c.query("""
                    INSERT INTO rule_alert_state (group_key, rule_key, fingerprint, alert, updated_at)
                    SELECT \(group), r, f, a, now() FROM unnest(\(rules)::text[], \(prints)::text[], \(alerts)::text[]) AS t(r, f, a)
                    ON CONFLICT (group_key, rule_key, fingerprint) DO UPDATE SET alert = EXCLUDED.alert, updated_at = EXCLUDED.updated_at
                    """, logger: logger)
            }
            if !goneRules.isEmpty {
                try await c.query("""
                    DELETE FROM rule_alert_state s USING unnest(\(goneRules)::text[], \(gonePrints)::text[]) AS t(r, f)
                    WHERE s.group_key = \(group) AND s.rule_key = t.r AND s.fingerprint = t.f
                    """, logger: logger)
            }
            return true
        }
        guard ours else { throw NotLeaseHolder() }
    }
}
