import PromQL
import Storage
import TSDB

/// Endpoints whose only job is to look like Prometheus 2.42 to its clients (Grafana, promtool,
/// the Prometheus UI): build info, exemplars (none are stored) and metric metadata.
extension PromAPI {
    /// The version Grafana's feature detection reads. Grafana picks its code paths from the
    /// semver in `version` (2.24+: label values with match[], series and metadata endpoints) and
    /// treats any `application` field as Cortex/Mimir (ruler API), so we report what
    /// Prometheus 2.42 reports, with no `application`; `revision`/`branch` name the collector.
    static let prometheusCompatibleVersion = "2.42.0"

    func buildInfo() -> APIResponse {
        .success { w in
            w.raw("{\"version\":\"\(Self.prometheusCompatibleVersion)\",\"revision\":\"fleetscope-collector-\(CollectorVersion.version)\",")
            w.raw("\"branch\":\"fleetscope\",\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"swift\"}")
        }
    }

    /// Prometheus' checks, in its order and words; the answer is always empty (no exemplars kept).
    func exemplars(_ p: Params) throws(APIError) -> APIResponse {
        let start = try TimeParam.optional(p, "start", default: TimeMath.minTime)
        let end = try TimeParam.optional(p, "end", default: TimeMath.maxTime)
        guard end >= start else { throw .badData("end timestamp must not be before start timestamp") }
        do {
            _ = try parseExpr(p["query"] ?? "")
        } catch {
            throw .badData(error.message)
        }
        return .success { $0.raw("[]") }
    }

    /// `/api/v1/metadata` as Prometheus 2.42: `{metric: [{type, help, unit}]}`, `metric` picks one
    /// family, `limit` caps the number of families (negative: no cap, not a number: 400).
    func metadataResponse(_ p: Params, _ storage: any Queryable) throws -> APIResponse {
        var limit = -1
        if let l = p["limit"], !l.isEmpty {
            guard let n = Int(l) else { throw APIError.badData("limit must be a number") }
            limit = n
        }
        let metric = p["metric"].flatMap { $0.isEmpty ? nil : $0 }
        let families = try metadata.visible(metric: metric, limit: limit, storage: storage)
        return .success { w in
            w.raw("{")
            for (i, f) in families.enumerated() {
                if i > 0 { w.raw(",") }
                w.string(f.name)
                w.raw(":[")
                for (j, e) in f.entries.enumerated() {
                    if j > 0 { w.raw(",") }
                    w.raw("{\"type\":")
                    w.string(e.type)
                    w.raw(",\"help\":")
                    w.string(e.help)
                    w.raw(",\"unit\":")
                    w.string(e.unit)
                    w.raw("}")
                }
                w.raw("]")
            }
            w.raw("}")
        }
    }
}
