import Logging
import PostgresNIO

/// The lease and the shared alert state for the rule manager: with `state.postgres`, the
/// PostgreSQL ones (several collectors may run the same rules; one evaluates); without, this
/// process alone, as before.
struct RuleReplicas {
    let lease: any RuleLease
    let store: (any AlertStateStore)?

    init(postgres: PostgresClient?, groups: [RuleGroup], port: Int, logger: Logger) {
        guard let postgres, !groups.isEmpty else {
            lease = SingleProcessLease()
            store = nil
            return
        }
        let shortest = groups.map(\.intervalMs).min() ?? 60_000
        let (ttl, renew) = PostgresRuleLease.timing(evaluationIntervalMs: shortest)
        let id = PostgresRuleLease.defaultHolderID(port: port)
        lease = PostgresRuleLease(client: postgres, holderID: id, ttl: ttl, renewEvery: renew, logger: logger)
        store = PostgresAlertStateStore(client: postgres, holderID: id, logger: logger)
        logger.info("rules: lease and alert state in PostgreSQL as \(id) (lease ttl \(ttl), renewed every \(renew))")
    }
}
