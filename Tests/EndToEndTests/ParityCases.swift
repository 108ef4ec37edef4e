import Foundation
import RemoteWrite
import Storage

/// The data and the requests of `PrometheusParityTests`: what Grafana (POST forms, label and
/// series lookups over a time range), promtool (GET with `time`/`start`/`end`/`step`) and the
/// Prometheus UI (instant queries, metric names, metadata) send, and the mistakes users make.
enum ParityCases {
    struct Request {
        let name: String
        let path: String
        var form: String? = nil
        /// Prometheus' result order is part of the answer (topk, bottomk, sort).
        var ordered = false
        /// A deliberate difference (the README lists it): only the status is compared.
        var knownDifference: String? = nil
    }

    /// Five samples 15 s apart ending at `end`, two clusters, values chosen so that topk and
    /// bottomk have no ties; plus a pair that makes many-to-many matching fail.
    static func data(end: Int64) -> WriteRequest {
        var series: [TimeSeries] = []
        func add(_ labels: [(String, String)], _ value: (Int) -> Double) {
            series.append(TimeSeries(labels: labels.map { Label($0.0, $0.1) },
                                     samples: (0..<5).map { k in Sample(t: end - Int64(4 - k) * 15_000, v: value(k)) }))
        }
        var n = 0
        for cluster in ["store-1", "store-2"] {
            for instance in ["a", "b", "c"] {
                for code in ["200", "500"] {
                    n += 1
                    let base = Double(n * 7 % 13) * 10
                    add([("__name__", "parity_requests_total"), ("cluster", cluster), ("code", code), ("instance", instance), ("job", "edge")]) {
                        base + Double($0 * n)
                    }
                }
                add([("__name__", "parity_up"), ("cluster", cluster), ("instance", instance), ("job", "edge")]) { _ in instance == "c" ? 0 : 1 }
            }
        }
        add([("__name__", "parity_m2m"), ("cluster", "store-1"), ("side", "l"), ("x", "1"), ("y", "1")]) { _ in 1 }
        add([("__name__", "parity_m2m"), ("cluster", "store-1"), ("side", "l"), ("x", "1"), ("y", "2")]) { _ in 2 }
        add([("__name__", "parity_m2m"), ("cluster", "store-1"), ("side", "r"), ("x", "1"), ("y", "3")]) { _ in 3 }
        add([("__name__", "parity_m2m"), ("cluster", "store-1"), ("side", "r"), ("x", "1"), ("y", "4")]) { _ in 4 }
        return WriteRequest(timeseries: series, metadata: [
            MetricMetadata(type: .counter, family: "parity_requests_total", help: "Requests served."),
            MetricMetadata(type: .gauge, family: "parity_up", help: "Whether the target answered."),
        ])
    }

    static func q(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }

    static func requests(end: Int64) -> [Request] {
        let t = String(end / 1000)
        let start = String(end / 1000 - 60)
        let range = "start=\(start)&end=\(t)"
        var out: [Request] = [
            // The first case is also the readiness probe: it must return parity_requests_total.
            Request(name: "ui instant", path: "/api/v1/query?query=\(q("parity_requests_total"))&time=\(t)"),
        ]
        // Instant queries: the Prometheus UI and promtool (GET), Grafana (POST form).
        let instant: [(String, Bool)] = [
            ("parity_up", false), ("sum by (cluster) (parity_requests_total)", false),
            ("rate(parity_requests_total[1m])", false), ("sum by (code) (rate(parity_requests_total[1m]))", false),
            ("topk(3, parity_requests_total)", true), ("bottomk(3, parity_requests_total)", true),
            ("topk by (cluster) (2, parity_requests_total)", true), ("bottomk by (code) (2, parity_requests_total)", true),
            ("topk(3, rate(parity_requests_total[1m]))", true), ("topk(100, parity_requests_total)", true),
            ("sort_desc(sum by (instance) (parity_requests_total))", true), ("sort(parity_requests_total)", true),
            (#"count_values("value", parity_up)"#, false), ("count_values without (instance) (\"v\", parity_up)", false),
            ("histogram_quantile(0.9, parity_requests_total)", false), ("up == 1", false), ("vector(1)", false),
            ("scalar(sum(parity_up))", false), (#""hello""#, false), ("1 + 2", false), ("parity_up[1m]", false),
            ("max_over_time(parity_requests_total[1m:15s])", false), ("absent(nope)", false),
            ("parity_requests_total / on (cluster, instance) group_left sum by (cluster, instance) (parity_requests_total)", false),
            (#"parity_requests_total{instance=~"a|b"}"#, false), (#"{__name__=~"parity_.*", instance="a", code!="500"}"#, false),
            // Errors Grafana users see.
            ("", false), ("   ", false), ("# only a comment", false), ("sum(parity_up", false), ("parity_up{", false),
            (#"parity_up{instance=~"("}"#, false), (#"parity_up{instance=~"a**"}"#, false), (#"parity_up{instance=~"[z-a]"}"#, false),
            (#"parity_m2m{side="l"} + ignoring(side, y) parity_m2m{side="r"}"#, false),
            (#"parity_m2m{side="l"} + on(x) group_left parity_m2m{side="r"}"#, false),
            ("rate(parity_up)", false), ("sum(parity_up) by", false), ("foo(1)", false), (#"label_replace(parity_up, "a-b", "x", "", "")"#, false),
            ("topk(parity_up, parity_up)", false), ("parity_up offset", false), ("1 +", false), ("{}", false),
        ]
        for (query, ordered) in instant {
            out.append(Request(name: "instant GET", path: "/api/v1/query?query=\(q(query))&time=\(t)", ordered: ordered))
            out.append(Request(name: "instant POST", path: "/api/v1/query", form: "query=\(q(query))&time=\(t)", ordered: ordered))
        }
        // Range queries: Grafana posts them, promtool gets them.
        for query in ["sum by (cluster) (rate(parity_requests_total[1m]))", "parity_up", "topk(2, parity_requests_total)",
                      "count_values(\"v\", parity_up)", "parity_up[1m]", "sum(parity_up"] {
            out.append(Request(name: "range POST", path: "/api/v1/query_range", form: "query=\(q(query))&\(range)&step=15"))
            out.append(Request(name: "range GET", path: "/api/v1/query_range?query=\(q(query))&\(range)&step=15s"))
        }
        out += [
            // Parameter errors, in Prometheus' words and status codes.
            Request(name: "no query", path: "/api/v1/query"),
            Request(name: "bad time", path: "/api/v1/query?query=1&time=yesterday"),
            Request(name: "rfc3339 time", path: "/api/v1/query?query=time()&time=2023-01-02T03:04:05.678Z"),
            Request(name: "bad timeout", path: "/api/v1/query?query=1&timeout=soon"),
            Request(name: "range no start", path: "/api/v1/query_range?query=1&end=\(t)&step=15"),
            Request(name: "range no step", path: "/api/v1/query_range?query=1&\(range)"),
            Request(name: "range end before start", path: "/api/v1/query_range?query=1&start=\(t)&end=\(start)&step=15"),
            Request(name: "range step 0", path: "/api/v1/query_range?query=1&\(range)&step=0"),
            Request(name: "range step negative", path: "/api/v1/query_range?query=1&\(range)&step=-15"),
            Request(name: "range too many points", path: "/api/v1/query_range?query=1&start=0&end=\(t)&step=1"),
            Request(name: "range bad start", path: "/api/v1/query_range?query=1&start=x&end=\(t)&step=15"),
            Request(name: "query in URL and body", path: "/api/v1/query?query=1&time=\(t)", form: "query=2"),
            // Grafana's label and series lookups, with a time range.
            Request(name: "labels", path: "/api/v1/labels?\(range)"),
            Request(name: "labels POST", path: "/api/v1/labels", form: range),
            Request(name: "labels match", path: "/api/v1/labels?match%5B%5D=\(q("parity_up"))&\(range)"),
            Request(name: "metric names", path: "/api/v1/label/__name__/values?\(range)"),
            Request(name: "label values", path: "/api/v1/label/instance/values?\(range)"),
            Request(name: "label values match", path: "/api/v1/label/code/values?match%5B%5D=\(q("parity_requests_total{instance=\"a\"}"))"),
            Request(name: "label values bad name", path: "/api/v1/label/a-b/values"),
            Request(name: "series", path: "/api/v1/series?match%5B%5D=\(q("parity_up"))&\(range)"),
            Request(name: "series POST", path: "/api/v1/series", form: "match%5B%5D=\(q("parity_up"))&match%5B%5D=\(q("parity_m2m"))&\(range)"),
            Request(name: "series no match", path: "/api/v1/series"),
            Request(name: "series empty matcher", path: "/api/v1/series?match%5B%5D=%7B%7D"),
            Request(name: "series empty-value matcher", path: "/api/v1/series?match%5B%5D=\(q("{instance=\"\"}"))"),
            Request(name: "labels empty matcher", path: "/api/v1/labels?match%5B%5D=%7B%7D"),
            Request(name: "label values empty matcher", path: "/api/v1/label/job/values?match%5B%5D=%7B%7D"),
            Request(name: "series bad selector", path: "/api/v1/series?match%5B%5D=\(q("parity_up{"))"),
            Request(name: "labels bad selector", path: "/api/v1/labels?match%5B%5D=\(q("parity_up{"))"),
            Request(name: "series bad start", path: "/api/v1/series?match%5B%5D=parity_up&start=x"),
            Request(name: "labels bad end", path: "/api/v1/labels?end=x"),
            Request(name: "labels end before start", path: "/api/v1/labels?start=\(t)&end=\(start)",
                    knownDifference: "Prometheus returns series whose chunks span both ends; we answer []"),
            Request(name: "series end before start", path: "/api/v1/series?match%5B%5D=parity_up&start=\(t)&end=\(start)",
                    knownDifference: "Prometheus returns series whose chunks span both ends; we answer []"),
            // Exemplars (Grafana asks with every range query), metadata's parameter checks, rules.
            Request(name: "exemplars", path: "/api/v1/query_exemplars", form: "query=\(q("parity_up"))&\(range)"),
            Request(name: "exemplars bad query", path: "/api/v1/query_exemplars?query=\(q("sum("))"),
            Request(name: "exemplars no query", path: "/api/v1/query_exemplars"),
            Request(name: "exemplars bad start", path: "/api/v1/query_exemplars?query=1&start=x"),
            Request(name: "exemplars end before start", path: "/api/v1/query_exemplars?query=1&start=\(t)&end=\(start)"),
            Request(name: "metadata bad limit", path: "/api/v1/metadata?limit=abc"),
            Request(name: "metadata unknown metric", path: "/api/v1/metadata?metric=nope"),
            Request(name: "rules", path: "/api/v1/rules"),
            Request(name: "rules bad type", path: "/api/v1/rules?type=foo"),
            Request(name: "rules alert", path: "/api/v1/rules?type=alert"),
            Request(name: "alerts", path: "/api/v1/alerts"),
        ]
        return out
    }
}
