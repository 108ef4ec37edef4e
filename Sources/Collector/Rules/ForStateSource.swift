import PromQL
import Storage
import TSDB

/// Where AlertRestore reads the last ALERTS_FOR_STATE samples: the embedded TSDB, or with
/// `storage.remote` the query backend (the local TSDB holds nothing then: rule output went
/// through the forward queue).
enum ForStateSource {
    case local(any Querier)
    case backend(any QueryBackend, timeout: Duration)

    /// The last sample within `toleranceMs` before `now` of every ALERTS_FOR_STATE series of
    /// alert `alertname`, by its labels.
    func lastSamples(alertname: String, now: Int64, toleranceMs: Int64) async throws -> [Labels: Sample] {
        let name = try LabelMatcher(.equal, Labels.metricName, AlertRestore.metricName)
        let alert = try LabelMatcher(.equal, "alertname", alertname)
        switch self {
        case .local(let q):
            // Every sample, stale markers included: a series that ended in one is not restored.
            var out: [Labels: Sample] = [:]
            for s in try q.select([name, alert]) { if let last = s.samples.last { out[s.labels] = last } }
            return out
        case .backend(let b, let timeout):
            // A range selector at one instant answers the raw samples of the window, so the
            // last one's own timestamp (when the old holder last wrote it) comes back too.
            let expr = try parseExpr("\(AlertRestore.metricName){alertname=\(Self.quoted(alertname))}[\(toleranceMs)ms]")
            guard case .matrix(let series) = try await b.instantQuery(expr, at: now, scope: [], timeout: timeout) else { return [:] }
            var out: [Labels: Sample] = [:]
            for s in series { if let last = s.samples.last { out[s.labels] = last } }
            return out
        }
    }

    /// A PromQL double-quoted string.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
