import Storage
import TSDB

/// Where recorded series, `ALERTS` and `ALERTS_FOR_STATE` go: the embedded TSDB, or with
/// `storage.remote` the forward queue, the same durable path as ingested samples (the local
/// TSDB is not read in remote mode, so output appended there would be invisible to queries,
/// dashboards and the `for` restore).
struct RuleOutputSink: Sendable {
    let kind: String
    let append: @Sendable (_ series: [SeriesSamples], _ nowMs: Int64) async throws -> Void

    static func embedded(_ tsdb: TSDB) -> RuleOutputSink {
        RuleOutputSink(kind: "embedded") { series, _ in _ = try await tsdb.append(series) }
    }

    /// A full queue refuses the batch (ingest answers 503 then); rule output is not retried:
    /// the next evaluation writes the current values again.
    static func forward(_ queue: ForwardQueue) -> RuleOutputSink {
        RuleOutputSink(kind: "remote") { series, now in try await queue.append(series, nowMs: now) }
    }
}
