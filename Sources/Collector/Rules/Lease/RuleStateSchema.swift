import Logging
import PostgresNIO

/// The two tables the rules own in `state.postgres` (nothing else reads or writes them):
/// `rule_lease`, one row per lease (today only "rules"), and `rule_alert_state`, one row per
/// alert of every alerting rule, as the lease holder last saved it.
enum RuleStateSchema {
    /// Idempotent. Under a transaction-scoped advisory lock because two replicas starting at
    /// once would otherwise race `CREATE TABLE IF NOT EXISTS` into a unique violation on pg_type.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(7243120013)", logger: logger)
            try await c.query("""
                CREATE TABLE IF NOT EXISTS rule_lease (
                    name text PRIMARY KEY,
                    holder text NOT NULL,
                    expires_at timestamptz NOT NULL)
                """, logger: logger)
            try await c.query("""
                CREATE TABLE IF NOT EXISTS rule_alert_state (
                    group_key text NOT NULL,
                    rule_key text NOT NULL,
                    fingerprint text NOT NULL,
                    alert text NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (group_key, rule_key, fingerprint))
                """, logger: logger)
        }
    }
}
