import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Storage
import RemoteWrite
import TestSupport
@testable import PromQL

/// Same data, same queries: our engine against real Prometheus 2.42.
@Suite(.serialized) struct DifferentialTests {
    static let prometheusPath = "/usr/bin/prometheus"

    @Test(.timeLimit(.minutes(5)))
    func matchesRealPrometheus() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prometheusPath) else {
            Issue.record("\(Self.prometheusPath) is missing: install Prometheus 2.42 (Debian package `prometheus`) to run the differential test")
            return
        }
        let data = TestData.generate()
        let prom = try await PrometheusProcess.start()
        defer { prom.stop() }
        try await prom.remoteWrite(data)

        let storage = MemoryStorage()
        for s in data.series { for smp in s.samples { storage.append(s.labels, smp.t, smp.v) } }
        try await prom.waitForData(expectSeries: data.series.count)

        let engine = Engine()
        var total = 0
        var failures: [String] = []
        var nonEmpty = 0, errors = 0
        func tally(_ o: Outcome) {
            switch o {
            case .err: errors += 1
            case .ok(.vector(let v)): if !v.isEmpty { nonEmpty += 1 }
            case .ok(.matrix(let m)): if !m.isEmpty { nonEmpty += 1 }
            case .ok: nonEmpty += 1
            }
        }
        let instantTimes: [Int64] = [data.end, data.end + 150_000, data.end + 420_000, data.start + 1_830_500, data.start + 2_222_000, data.start - 600_000]
        let ranges: [(Int64, Int64, Int64)] = [
            (data.start + 300_000, data.end + 360_000, 60_000),
            (data.start + 17_000, data.end, 97_000),
        ]
        let only = ProcessInfo.processInfo.environment["PROMQL_DIFF_ONLY"]
        let explicit = ProcessInfo.processInfo.environment["PROMQL_DIFF_QUERIES"].map { $0.components(separatedBy: ";;") }
        for q in explicit ?? TestData.queries(data) where only == nil || q.contains(only!) {
            for t in instantTimes {
                total += 1
                let want = await prom.instant(q, t)
                tally(want)
                let got: Outcome
                do { got = .ok(try await engine.instantQuery(q, at: t, storage: storage)) } catch { got = .err(error.type.rawValue, error.message) }
                if let d = compare(got, want, ordered: (try? parseExpr(q)).map(keepsOrder) ?? false) { failures.append("instant @\(t) \(q)\n    \(d)") }
            }
            for (s, e, step) in ranges {
                total += 1
                let want = await prom.range(q, s, e, step)
                tally(want)
                let got: Outcome
                do { got = .ok(try await engine.rangeQuery(q, start: s, end: e, step: step, storage: storage)) } catch { got = .err(error.type.rawValue, error.message) }
                if let d = compare(got, want, ordered: false) { failures.append("range [\(s),\(e),\(step)] \(q)\n    \(d)") }
                if only != nil || explicit != nil { print("QUERY \(q)\n  OURS \(got)\n  PROM \(want)") }
            }
        }
        let passed = total - failures.count
        print("PromQL differential: \(passed)/\(total) passed (\(nonEmpty) non-empty answers, \(errors) errors on both sides)")
        #expect(nonEmpty > total / 2, "most answers should hold data; is the remote write reaching Prometheus?")
        for f in failures.prefix(80) { print("DIFF " + f) }
        #expect(failures.isEmpty, "\(failures.count) of \(total) differential checks differ from Prometheus; first: \(failures.first ?? "")")
    }
}

// MARK: - comparison

enum Outcome {
    case ok(QueryValue)
    case err(String, String)
}

func same(_ a: Double, _ b: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a == b { return true }
    let scale = max(abs(a), abs(b))
    return abs(a - b) <= 1e-9 * scale || abs(a - b) < 1e-12
}

func compare(_ got: Outcome, _ want: Outcome, ordered: Bool) -> String? {
    switch (got, want) {
    case (.err(let t1, _), .err(let t2, _)):
        return t1 == t2 ? nil : "error types differ: ours \(t1), prometheus \(t2)"
    case (.err(let t, let m), .ok):
        return "we failed (\(t): \(m)), prometheus answered"
    case (.ok, .err(let t, let m)):
        return "prometheus failed (\(t): \(m)), we answered"
    case (.ok(let a), .ok(let b)):
        switch (a, b) {
        case (.scalar(let t1, let v1), .scalar(let t2, let v2)):
            return t1 == t2 && same(v1, v2) ? nil : "scalar ours \(t1) \(v1), prometheus \(t2) \(v2)"
        case (.string(_, let v1), .string(_, let v2)):
            return v1 == v2 ? nil : "string ours \(v1), prometheus \(v2)"
        case (.vector(let x), .vector(let y)):
            if ordered {
                let vx = x.map(\.v), vy = y.map(\.v)
                if vx.count != vy.count || !zip(vx, vy).allSatisfy(same) { return "order/values differ: ours \(vx), prometheus \(vy)" }
            }
            let mx = Dictionary(x.map { ($0.labels, $0) }, uniquingKeysWith: { a, _ in a })
            let my = Dictionary(y.map { ($0.labels, $0) }, uniquingKeysWith: { a, _ in a })
            if Set(mx.keys) != Set(my.keys) || x.count != y.count {
                let onlyOurs = Set(mx.keys).subtracting(my.keys).map(\.description).sorted().prefix(3)
                let onlyTheirs = Set(my.keys).subtracting(mx.keys).map(\.description).sorted().prefix(3)
                return "label sets differ (ours \(x.count), prometheus \(y.count)); only ours: \(Array(onlyOurs)); only prometheus: \(Array(onlyTheirs))"
            }
            for (k, e) in mx {
                let o = my[k]!
                if e.t != o.t || !same(e.v, o.v) { return "\(k): ours \(e.t) \(e.v), prometheus \(o.t) \(o.v)" }
            }
            return nil
        case (.matrix(let x), .matrix(let y)):
            let mx = Dictionary(x.map { ($0.labels, $0) }, uniquingKeysWith: { a, _ in a })
            let my = Dictionary(y.map { ($0.labels, $0) }, uniquingKeysWith: { a, _ in a })
            if Set(mx.keys) != Set(my.keys) || x.count != y.count {
                let onlyOurs = Set(mx.keys).subtracting(my.keys).map(\.description).sorted().prefix(3)
                let onlyTheirs = Set(my.keys).subtracting(mx.keys).map(\.description).sorted().prefix(3)
                return "series differ (ours \(x.count), prometheus \(y.count)); only ours: \(Array(onlyOurs)); only prometheus: \(Array(onlyTheirs))"
            }
            for (k, s) in mx {
                let o = my[k]!
                if s.samples.count != o.samples.count {
                    let tx = Set(s.samples.map(\.t)), ty = Set(o.samples.map(\.t))
                    return "\(k): \(s.samples.count) samples, prometheus \(o.samples.count); only ours at \(tx.subtracting(ty).sorted().prefix(3)), only prometheus at \(ty.subtracting(tx).sorted().prefix(3))"
                }
                for (p, q) in zip(s.samples, o.samples) where p.t != q.t || !same(p.v, q.v) {
                    return "\(k): ours \(p.t) \(p.v), prometheus \(q.t) \(q.v)"
                }
            }
            return nil
        default:
            return "result types differ: ours \(a), prometheus \(b)"
        }
    }
}

// MARK: - data

struct TestData {
    struct S { var labels: Labels; var samples: [Sample] }
    var series: [S]
    var start: Int64
    var end: Int64

    static let start: Int64 = 1_699_999_980_000
    static let steps = 240   // one hour at 15s

    static func generate() -> TestData {
        var rng = SplitMix(seed: 42)
        var out: [S] = []
        let t0 = start
        func ts(_ i: Int, jitter: Bool = true) -> Int64 { t0 + Int64(i) * 15_000 + (jitter ? Int64(i % 7) * 3 : 0) }
        func L(_ d: [String: String]) -> Labels { Labels(d) }

        // Counters, with resets in some series.
        for cluster in ["c1", "c2", "c3"] {
            for instance in ["i1", "i2"] {
                for cpu in ["0", "1"] {
                    for mode in ["idle", "user", "system"] {
                        var v = Double(rng.int(1000))
                        var smp: [Sample] = []
                        let resetAt = rng.int(3) == 0 ? 60 + rng.int(150) : -1
                        for i in 0..<steps {
                            if i == resetAt { v = rng.unit() * 5 }
                            v += (mode == "idle" ? 12 : 2) * rng.unit()
                            smp.append(Sample(t: ts(i), v: v))
                        }
                        out.append(S(labels: L(["__name__": "node_cpu_seconds_total", "cluster": cluster, "instance": instance, "cpu": cpu, "mode": mode]), samples: smp))
                    }
                }
                // Gauges: a random walk that crosses zero, and one in [0, 10].
                var g = rng.unit() * 10 - 5
                var h = rng.unit() * 10
                var gs: [Sample] = [], hs: [Sample] = []
                for i in 0..<steps {
                    g += rng.unit() * 2 - 1
                    h = min(10, max(0, h + rng.unit() * 3 - 1.5))
                    gs.append(Sample(t: ts(i), v: (g * 1000).rounded() / 1000))
                    hs.append(Sample(t: ts(i), v: (h * 10).rounded() / 10))
                }
                out.append(S(labels: L(["__name__": "gauge_a", "cluster": cluster, "instance": instance]), samples: gs))
                out.append(S(labels: L(["__name__": "gauge_b", "cluster": cluster, "instance": instance]), samples: hs))
            }
            out.append(S(labels: L(["__name__": "cluster_info", "cluster": cluster, "region": cluster == "c3" ? "eu" : "us"]),
                         samples: (0..<steps).map { Sample(t: ts($0, jitter: false), v: 1) }))
            // Classic histogram: cumulative buckets plus _sum and _count.
            let les = ["0.1", "0.5", "1", "5", "+Inf"]
            var counts = [Double](repeating: 0, count: les.count)
            var sum = 0.0
            var bucketSamples = [[Sample]](repeating: [], count: les.count)
            var sumS: [Sample] = [], countS: [Sample] = []
            for i in 0..<steps {
                let obs = rng.int(20)
                for _ in 0..<obs {
                    let x = rng.unit() * rng.unit() * 8
                    sum += x
                    for (k, le) in les.enumerated() where le == "+Inf" || x <= Double(le)! { counts[k] += 1 }
                }
                for k in les.indices { bucketSamples[k].append(Sample(t: ts(i), v: counts[k])) }
                sumS.append(Sample(t: ts(i), v: sum))
                countS.append(Sample(t: ts(i), v: counts[les.count - 1]))
            }
            for (k, le) in les.enumerated() {
                out.append(S(labels: L(["__name__": "http_request_duration_seconds_bucket", "cluster": cluster, "le": le]), samples: bucketSamples[k]))
            }
            out.append(S(labels: L(["__name__": "http_request_duration_seconds_sum", "cluster": cluster]), samples: sumS))
            out.append(S(labels: L(["__name__": "http_request_duration_seconds_count", "cluster": cluster]), samples: countS))
            // Summary quantiles.
            for q in ["0.5", "0.9", "0.99"] {
                out.append(S(labels: L(["__name__": "rpc_duration_seconds", "cluster": cluster, "quantile": q]),
                             samples: (0..<steps).map { Sample(t: ts($0), v: Double(q)! * (1 + rng.unit())) }))
            }
        }
        // A broken histogram: non-monotonic buckets, and one without +Inf.
        let broken: [(String, [Double])] = [("0.1", [5, 9]), ("1", [3, 7]), ("10", [8, 12]), ("+Inf", [8, 11])]
        for (le, vals) in broken {
            out.append(S(labels: L(["__name__": "broken_bucket", "le": le]),
                         samples: (0..<steps).map { Sample(t: ts($0, jitter: false), v: vals[0] + Double($0) * (vals[1] - vals[0]) / 10) }))
        }
        for le in ["0.5", "2"] {
            out.append(S(labels: L(["__name__": "noinf_bucket", "le": le]), samples: (0..<steps).map { Sample(t: ts($0, jitter: false), v: Double($0)) }))
        }
        // Series that appear and disappear, ending with a staleness marker.
        for id in 1...3 {
            var smp: [Sample] = []
            var alive = id != 2
            for i in 0..<steps {
                if i % (30 + id * 11) == 0 && i > 0 {
                    alive.toggle()
                    if !alive { smp.append(Sample(t: ts(i), v: StaleNaN.value)); continue }
                }
                if alive { smp.append(Sample(t: ts(i), v: Double(i % 17) + Double(id))) }
            }
            out.append(S(labels: L(["__name__": "flappy", "id": String(id)]), samples: smp))
        }
        // Sparse series: gaps longer than the lookback delta.
        out.append(S(labels: L(["__name__": "sparse"]), samples: stride(from: 0, to: steps, by: 27).map { Sample(t: ts($0), v: Double($0)) }))
        // NaN, infinities and negative values.
        let specials: [Double] = [1, .nan, 3, .infinity, -2, -.infinity, 0, 5]
        out.append(S(labels: L(["__name__": "weird", "kind": "special"]), samples: (0..<steps).map { Sample(t: ts($0), v: specials[$0 % specials.count]) }))
        out.append(S(labels: L(["__name__": "weird", "kind": "plain"]), samples: (0..<steps).map { Sample(t: ts($0), v: Double($0 % 9) - 4) }))
        // Same labels apart from the name, for "same labelset" errors.
        out.append(S(labels: L(["__name__": "dup_a", "x": "1"]), samples: (0..<steps).map { Sample(t: ts($0), v: 1) }))
        out.append(S(labels: L(["__name__": "dup_b", "x": "1"]), samples: (0..<steps).filter { $0 > 200 }.map { Sample(t: ts($0), v: 2) }))
        // Same labels apart from the name, never at the same time.
        out.append(S(labels: L(["__name__": "dup_c", "x": "2"]), samples: (0..<100).map { Sample(t: ts($0), v: Double($0)) } + [Sample(t: ts(100), v: StaleNaN.value)]))
        out.append(S(labels: L(["__name__": "dup_d", "x": "2"]), samples: (140..<steps).map { Sample(t: ts($0), v: Double($0)) }))
        // Unix timestamps as values, for the date functions.
        out.append(S(labels: L(["__name__": "epoch", "kind": "leap"]), samples: (0..<steps).map { Sample(t: ts($0), v: 951_782_400 + Double($0) * 86_400 * 3.7) }))
        out.append(S(labels: L(["__name__": "epoch", "kind": "old"]), samples: (0..<steps).map { Sample(t: ts($0), v: -2_000_000_000 + Double($0) * 7_777_777) }))
        let end = out.flatMap { $0.samples.map(\.t) }.max()!
        return TestData(series: out, start: t0, end: end)
    }

    static func queries(_ d: TestData) -> [String] {
        let at = String(format: "%.3f", Double(d.start + 1_800_000) / 1000)
        var q: [String] = [
            // literals and parse errors
            "1", "-2.5", "0x1F", "1e3", "Inf", "-Inf", "NaN", "\"hello\"", "'single'", "2 ^ 3 ^ 2", "-2 ^ 2", "1 + 2 * 3 - 4 / 2 % 3",
            "1 > bool 2", "1 < bool 2", "(1 + 2) * 3", "5 % -3", "-5 atan2 2",
            "sum(", "foo{", "1 +", "rate(gauge_a)", "gauge_a[5m] + 1", "1 == 1", "sum(gauge_a) by", "unknownfn(gauge_a)", "{}",
            "gauge_a offset", "count_values(1, gauge_a)", "topk(gauge_a)", "gauge_a and 1", "gauge_a + on(x) 1",
            // selectors
            "node_cpu_seconds_total", "node_cpu_seconds_total{mode=\"idle\"}", "node_cpu_seconds_total{mode!=\"idle\", cpu=\"0\"}",
            "node_cpu_seconds_total{mode=~\"user|system\"}", "node_cpu_seconds_total{mode!~\"u.*\"}",
            "{__name__=~\"gauge_.*\", cluster=\"c1\"}", "{__name__=\"gauge_b\"}", "gauge_a{nonexistent=\"\"}",
            "gauge_a offset 5m", "gauge_a offset -2m", "gauge_a @ \(at)", "gauge_a @ start()", "gauge_a @ end()",
            "gauge_a offset 1m @ \(at)", "flappy", "sparse", "weird", "gauge_a[2m]", "flappy[3m]", "gauge_a[2m] offset 1m",
            "gauge_a[1m] @ \(at)", "gauge_a[5m:1m]", "rate(node_cpu_seconds_total[5m])[5m:2m]",
            // arithmetic and comparison
            "gauge_a + 1", "2 * gauge_a", "gauge_a / 0", "gauge_a % 3", "gauge_a ^ 2", "-gauge_a", "+gauge_a", "gauge_a atan2 1",
            "gauge_a > 0", "0 < gauge_a", "gauge_a > bool 0", "gauge_a == gauge_a", "gauge_a != bool gauge_a",
            "gauge_a - gauge_b", "gauge_a * on(cluster, instance) gauge_b", "gauge_a / ignoring(instance) gauge_b",
            "node_cpu_seconds_total / ignoring(mode) group_left node_cpu_seconds_total{mode=\"idle\"}",
            "node_cpu_seconds_total{mode=\"idle\"} / ignoring(mode) group_right node_cpu_seconds_total",
            "gauge_a * on(cluster) group_left(region) cluster_info",
            "cluster_info * on(cluster) group_right(region) gauge_a",
            "gauge_a > on(cluster, instance) gauge_b", "gauge_a > bool on(cluster, instance) gauge_b",
            "node_cpu_seconds_total + ignoring(mode) node_cpu_seconds_total",
            "node_cpu_seconds_total + on(cluster) group_left gauge_a",
            "gauge_a + on(cluster) group_left cluster_info", "sum by (cluster) (gauge_a) + on(cluster) group_right gauge_a",
            "{__name__=~\"dup_.*\"} + 1", "{__name__=~\"dup_.*\"}", "-{__name__=~\"dup_.*\"}", "rate({__name__=~\"dup_.*\"}[5m])",
            "abs({__name__=~\"dup_.*\"})", "{__name__=~\"dup_.*\"} > 0",
            "weird + 1", "weird > 0", "weird == weird", "weird * -1", "1 / weird", "weird ^ 0",
            // set operators
            "gauge_a and gauge_a > 0", "gauge_a and on(cluster) gauge_b > 5", "gauge_a or gauge_b", "gauge_a unless gauge_a < 0",
            "gauge_a unless on(cluster) gauge_b{cluster=\"c1\"}", "flappy or sparse", "flappy and ignoring(id) sparse",
            "flappy unless flappy{id=\"1\"}", "gauge_a or vector(1)", "vector(1) and gauge_a",
            // aggregations
            "topk(3, gauge_a)", "bottomk(2, gauge_a) by (cluster)", "topk(2, weird)", "bottomk(1, weird)", "topk(0, gauge_a)",
            "topk(scalar(count(flappy)), gauge_b)", "quantile(0.5, gauge_a) by (cluster)", "quantile(0.9, gauge_b)",
            "quantile(-1, gauge_a)", "quantile(2, gauge_a)", "count_values(\"value\", round(gauge_b))",
            "count_values by (cluster) (\"v\", round(gauge_b))", "count_values without (instance) (\"v\", gauge_b > 5)",
            "sum by (cluster) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m]))", "sum(weird)", "avg(weird)", "max(weird)",
            "min(weird)", "stddev(weird)", "count(weird)", "group(weird) by (kind)", "sum without (le) (http_request_duration_seconds_bucket)",
            "avg by (__name__) ({__name__=~\"gauge_.*\"})", "count by (__name__) ({__name__=~\"gauge_.*\"})",
            "sum(gauge_a) by (cluster)", "max by (cluster) (gauge_a) offset 0", "topk(2, sum by (cluster, mode) (rate(node_cpu_seconds_total[5m])))",
            // functions over ranges
            "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))",
            "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            "histogram_quantile(0, http_request_duration_seconds_bucket)", "histogram_quantile(1, http_request_duration_seconds_bucket)",
            "histogram_quantile(0.99, http_request_duration_seconds_bucket)", "histogram_quantile(-0.5, http_request_duration_seconds_bucket)",
            "histogram_quantile(1.5, http_request_duration_seconds_bucket)", "histogram_quantile(0.7, broken_bucket)",
            "histogram_quantile(0.3, broken_bucket)", "histogram_quantile(0.5, noinf_bucket)", "histogram_quantile(0.5, rpc_duration_seconds)",
            "histogram_quantile(NaN, http_request_duration_seconds_bucket)",
            "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
            "quantile_over_time(0.5, gauge_a[5m])", "quantile_over_time(0.9, weird[10m])", "quantile_over_time(-1, gauge_a[5m])",
            "quantile_over_time(2, gauge_a[5m])", "predict_linear(gauge_a[10m], 600)", "predict_linear(node_cpu_seconds_total[5m], 3600)",
            "holt_winters(gauge_a[10m], 0.5, 0.3)", "holt_winters(gauge_b[5m], 0.1, 0.9)", "holt_winters(gauge_a[10m], 1.5, 0.3)",
            "deriv(gauge_a[5m])", "deriv(sparse[10m])", "predict_linear(gauge_a[10m] @ \(at), 60)",
            "label_replace(gauge_a, \"foo\", \"$1-x\", \"cluster\", \"c(.*)\")", "label_replace(gauge_a, \"foo\", \"$1\", \"cluster\", \"nomatch\")",
            "label_replace(gauge_a, \"cluster\", \"\", \"cluster\", \".*\")", "label_replace(gauge_a, \"x\", \"${1}y$2\", \"instance\", \"(i)(.)\")",
            "label_replace(gauge_a, \"instance\", \"same\", \"instance\", \".*\")", "label_replace(gauge_a, \"1bad\", \"x\", \"cluster\", \".*\")",
            "label_join(gauge_a, \"new\", \"-\", \"cluster\", \"instance\")", "label_join(gauge_a, \"cluster\", \"\", \"nothing\")",
            "scalar(sum(gauge_a))", "scalar(gauge_a)", "vector(1)", "vector(time())", "time()", "pi()", "timestamp(gauge_a)",
            "timestamp(gauge_a offset 1m)", "timestamp(rate(node_cpu_seconds_total[5m]))", "timestamp(flappy)", "timestamp(gauge_a @ \(at))",
            "hour()", "minute()", "month()", "year()", "day_of_week()", "day_of_month()", "day_of_year()", "days_in_month()",
            "hour(epoch)", "minute(epoch)", "month(epoch)", "year(epoch)", "day_of_week(epoch)", "day_of_month(epoch)",
            "day_of_year(epoch)", "days_in_month(epoch)", "sort(gauge_a)", "sort_desc(gauge_a)", "sort(weird)", "sort_desc(weird)",
            "absent(nonexistent)", "absent(nonexistent{a=\"b\"})", "absent(gauge_a)", "absent(nonexistent{a=\"b\", a=\"c\"})",
            "absent(nonexistent{a=~\"b\"})", "absent(sum(nonexistent))", "absent_over_time(nonexistent{x=\"y\"}[5m])",
            "absent_over_time(flappy[1m])", "absent_over_time(sparse[2m])", "absent_over_time(flappy{id=\"2\"}[30s])",
            "round(gauge_a)", "round(gauge_a, 0.3)", "round(weird, 2)", "clamp(gauge_a, -1, 5)", "clamp(gauge_a, 5, -1)",
            "clamp_min(gauge_a, 0)", "clamp_max(gauge_a, 0)", "clamp_max(weird, 2)", "sgn(weird)",
            "max_over_time(rate(node_cpu_seconds_total[1m])[10m:30s])", "avg_over_time(gauge_a[10m:])", "rate(node_cpu_seconds_total[5m:1m] offset 2m)",
            "min_over_time((gauge_a > 0)[15m:1m])", "sum_over_time(gauge_a[5m:1m] @ \(at))", "max_over_time(avg_over_time(gauge_a[5m:1m])[10m:2m])",
            "count_over_time(flappy[7m:45s])", "last_over_time(gauge_a[5m:1m] offset -1m)",
            // more corners
            "flappy or on(id) gauge_a", "count_values(\"v\", flappy)", "topk(1, flappy)", "bottomk(2, gauge_a) or topk(2, gauge_a)",
            "sum_over_time(gauge_a[5m:1m] @ start())", "max_over_time(gauge_a[5m] @ start())", "rate(node_cpu_seconds_total[5m] @ end())",
            "avg_over_time(gauge_a[10m:1m] offset 5m @ \(at))", "max_over_time(sum_over_time(gauge_a[2m:30s] @ \(at))[10m:1m])",
            "max_over_time(sum_over_time(gauge_a[2m:30s])[10m:1m] @ \(at))", "timestamp(flappy offset -3m)",
            "absent(flappy{id=\"2\"})", "absent(flappy{id=\"2\"} offset 10m)",
            "label_replace(gauge_a, \"n\", \"$name-$1\", \"instance\", \"(?P<name>i)(.)\")", "label_replace(gauge_a, \"n\", \"$$1\", \"cluster\", \"(.*)\")",
            "label_replace(gauge_a, \"n\", \"$1x\", \"cluster\", \"(.*)\")", "label_replace(gauge_a, \"n\", \"${1}x\", \"cluster\", \"(.*)\")",
            "label_replace(gauge_a, \"n\", \"$2\", \"cluster\", \"(.*)\")", "label_replace(gauge_a, \"n\", \"a\", \"cluster\", \"c[12]\")",
            "scalar(gauge_a) * gauge_a", "vector(scalar(sum(gauge_b)))", "time() - timestamp(gauge_a)", "time() > bool 0",
            "gauge_a * on() group_left vector(1)", "gauge_a * on(cluster) group_left(nonexistent) cluster_info",
            "gauge_a == on(__name__, cluster, instance) gauge_a", "node_cpu_seconds_total * ignoring(cpu) group_right node_cpu_seconds_total",
            "avg(gauge_a) by (cluster) > bool on(cluster) avg(gauge_b) by (cluster)", "avg(gauge_a) by (cluster) > on(cluster) avg(gauge_b) by (cluster)",
            "sum(gauge_a) without (instance)", "count by (le) (http_request_duration_seconds_bucket)", "count(count by (cluster) (gauge_a))",
            "sum(vector(1))", "sort(sum by (cluster) (gauge_a))", "sort_desc(rate(node_cpu_seconds_total{cpu=\"0\"}[5m]))",
            "holt_winters(gauge_a[10m:1m], 0.3, 0.3)", "predict_linear(gauge_a[5m:1m], 60)", "deriv(gauge_a[10m:])",
            "rate(node_cpu_seconds_total[1m:15s])", "absent_over_time(gauge_a[5m:1m])", "absent_over_time(nonexistent[5m:1m])",
            "quantile_over_time(scalar(min(gauge_b)) / 10, gauge_a[5m])", "round(gauge_a, -1)", "round(gauge_a, 0)", "clamp(gauge_a, NaN, 1)",
            "clamp_min(gauge_a, NaN)", "count_over_time(gauge_a[1d])", "1 / 0", "0 / 0", "-1 ^ 0.5", "10 % 0", "(-1) ^ 0.5",
            "histogram_quantile(0.9, sum without (instance) (rate(http_request_duration_seconds_bucket[5m])))",
            "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[1m]) offset 50m)",
            "-node_cpu_seconds_total offset 1m", "sum by (mode) (node_cpu_seconds_total) / ignoring(mode) group_left sum(node_cpu_seconds_total)",
            "topk by (cluster) (1, gauge_a)", "quantile without (instance) (0.25, gauge_b)", "stddev by (cluster) (weird)",
            "sum by (kind) (weird) / count by (kind) (weird)", "avg by (kind) (weird)", "max by (kind) (weird)", "min by (kind) (weird)",
            "stdvar(rate(node_cpu_seconds_total[5m]))", "group by (mode) (node_cpu_seconds_total)",
            "sum(rate(http_request_duration_seconds_count[5m])) by (cluster)", "increase(http_request_duration_seconds_count[1h])",
            "rate(sparse[5m])", "sparse offset 5m", "irate(flappy[5m])", "idelta(gauge_a[1m])", "delta(weird[5m])",
            "changes(weird[5m])", "resets(weird[5m])", "last_over_time(weird[1m])", "max_over_time(weird[1m])", "min_over_time(weird[1m])",
            "sum_over_time(weird[5m])", "avg_over_time(weird[5m])", "stddev_over_time(weird[5m])", "quantile_over_time(0.5, weird[5m])",
            "gauge_a offset 1h", "gauge_a @ \(at) offset -10m", "{__name__=~\"flappy|sparse\"}", "{__name__!=\"\", id=\"1\"}",
            "{id=~\"1|2\"}", "gauge_a{cluster=~\"c[12]\", instance!~\"i2\"}", "gauge_a{cluster=~\".*\"}", "gauge_a{cluster=~\".+\"}",
            "abs({__name__=~\"dup_[cd]\"})", "{__name__=~\"dup_[cd]\"} * 2", "rate({__name__=~\"dup_[cd]\"}[5m])",
            "last_over_time({__name__=~\"dup_[cd]\"}[5m])", "-{__name__=~\"dup_[cd]\"}", "sum by (x) ({__name__=~\"dup_[cd]\"})",
            "timestamp({__name__=~\"dup_[cd]\"})", "label_replace({__name__=~\"dup_[cd]\"}, \"__name__\", \"\", \"x\", \".*\")",
            "{__name__=~\"dup_[cd]\"} > 10", "{__name__=~\"dup_[cd]\"} > bool 10", "round({__name__=~\"dup_[cd]\"})",
            "Sum(gauge_a)", "gauge_a AND gauge_b", "gauge_a offset 5M", "1e", "+1", "- -1", "(gauge_a)[5m]", "(gauge_a)[5m:1m]", "5m",
            "gauge_a{cluster=\"c1\" , }", "sum by (and, or) (gauge_a)", "gauge_a[5m] offset 1m @ \(at)", "start()", "gauge_a @ start",
            "inf", "nan + 1", "0x", ".5e1", "1.e2", "sum()", "time", "on", "count_values(\"le\", gauge_b)", "absent()", "vector(\"a\")",
            "topk(1.5, gauge_a)", "gauge_a == bool on() vector(1)", "sum by (__name__) (gauge_a)", "gauge_a[1m1h]", "1 + \"a\"",
            "gauge_a offset 1m1s", "gauge_a offset 0s", "RATE(gauge_a[5m])", "gauge_a[5m:1m][1h:]", "label_replace(gauge_a, \"a\", \"b\", \"c\")",
            "label_replace(gauge_a, \"n\", \"$1\", \"cluster\", \"(\")", "label_join(gauge_a, \"a b\", \",\", \"cluster\")",
            "count_values(\"a b\", gauge_a)", "gauge_a{cluster=~\"(\"}",
            // count_values turns values into labels: these must agree bit for bit, not within 1e-9.
            "count_values(\"v\", rate(node_cpu_seconds_total[5m]))", "count_values(\"v\", rate(node_cpu_seconds_total[10m:30s]))",
            "count_values(\"v\", increase(node_cpu_seconds_total[5m]))", "count_values(\"v\", deriv(gauge_a[5m]))",
            "count_values(\"v\", predict_linear(gauge_a[5m], 100))", "count_values(\"v\", holt_winters(gauge_a[5m], 0.3, 0.6))",
            "count_values(\"v\", avg_over_time(gauge_a[5m]))", "count_values(\"v\", stddev_over_time(gauge_a[5m]))",
            "count_values(\"v\", quantile_over_time(0.3, gauge_a[5m]))", "count_values(\"v\", avg(gauge_a))",
            "count_values(\"v\", stddev(gauge_a))", "count_values(\"v\", histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m])))",
            "count_values(\"v\", sum(rate(node_cpu_seconds_total[5m])))", "count_values(\"v\", ln(gauge_b))", "count_values(\"v\", log10(gauge_b))",
            "sum", "1 + and", "sum by (x) (by)", "topk offset 5m", "rate(sum[5m])", "avg{a=\"b\"}", "ignoring", "bool",
            "gauge_a{cluster=~\"C1\"}", "gauge_a{cluster=~\"(?i)C1\"}", "gauge_a{cluster=\"c1\",cluster=\"c2\"}",
        ]
        let env = ProcessInfo.processInfo.environment
        q += RandomQueries.generate(count: Int(env["PROMQL_DIFF_RANDOM_COUNT"] ?? "") ?? 300,
                                    seed: UInt64(env["PROMQL_DIFF_RANDOM_SEED"] ?? "") ?? 7)
        for f in ["rate", "increase", "delta", "irate", "idelta", "deriv", "resets", "changes", "avg_over_time", "min_over_time",
                  "max_over_time", "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
                  "present_over_time", "absent_over_time"] {
            for arg in ["node_cpu_seconds_total[5m]", "gauge_a[2m]", "flappy[1m]", "node_cpu_seconds_total[5m] offset 3m",
                        "node_cpu_seconds_total[10m:1m]", "weird[3m]", "sparse[10m]", "gauge_b[45s]"] {
                q.append("\(f)(\(arg))")
            }
        }
        for f in ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
                  "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad", "sgn"] {
            q.append("\(f)(gauge_a)")
            q.append("\(f)(weird)")
        }
        for op in ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count"] {
            for g in ["", " by (cluster)", " without (cpu)", " by (cluster, mode)"] {
                q.append("\(op)\(g) (rate(node_cpu_seconds_total[5m]))")
            }
            q.append("\(op) by (cluster) (gauge_a)")
        }
        return q
    }
}

// MARK: - the real Prometheus

final class PrometheusProcess: @unchecked Sendable {
    // Owned by one test; the child is only touched from that test's task.
    let child: ChildProcess
    let dir: String
    let base: String

    init(child: ChildProcess, dir: String, base: String) {
        self.child = child
        self.dir = dir
        self.base = base
    }

    static func start() async throws -> PrometheusProcess {
        let dir = try tempDir("promql-diff")
        let config = dir + "/prometheus.yml"
        try "global:\n  evaluation_interval: 1m\n".write(toFile: config, atomically: true, encoding: .utf8)
        let port = freePort()
        let child = try ChildProcess("prometheus", DifferentialTests.prometheusPath, [
            "--web.enable-remote-write-receiver", "--storage.tsdb.path", dir + "/data",
            "--web.listen-address", "127.0.0.1:\(port)", "--config.file", config,
            "--storage.tsdb.retention.time", "100y", "--query.lookback-delta", "5m",
        ], logDir: dir)
        let prom = PrometheusProcess(child: child, dir: dir, base: "http://127.0.0.1:\(port)")
        // Stops waiting early when Prometheus exits; the guard below tells which it was.
        try? await waitUntil("prometheus to become ready") {
            await HTTP.get(prom.base + "/-/ready")?.0 == 200 || !child.isRunning
        }
        guard child.isRunning, await HTTP.get(prom.base + "/-/ready")?.0 == 200 else {
            let log = child.logTail()
            prom.stop()
            throw TestError("prometheus did not become ready within 30s: \(log)")
        }
        return prom
    }

    func stop() {
        child.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func remoteWrite(_ data: TestData) async throws {
        // In time order: one request per 5 minutes of data across all series.
        var t = data.start
        while t <= data.end {
            let hi = t + 300_000
            var req = WriteRequest()
            for s in data.series {
                let smp = s.samples.filter { $0.t >= t && $0.t < hi }
                if !smp.isEmpty { req.timeseries.append(TimeSeries(labels: Array(s.labels), samples: smp)) }
            }
            let (code, body) = try await HTTP.remoteWrite(base + "/api/v1/write", req)
            guard (200..<300).contains(code) else {
                throw TestError("remote write to prometheus failed with \(code): \(body)")
            }
            t = hi
        }
    }

    func waitForData(expectSeries: Int) async throws {
        for _ in 0..<50 {
            if case .ok(.vector(let v)) = await instant("count({__name__=~\".+\"})", Int64(Date().timeIntervalSince1970 * 1000)),
               v.first.map({ $0.v >= 0 }) == true {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func fmtTime(_ ms: Int64) -> String {
        let s = ms / 1000, r = abs(ms % 1000)
        return "\(ms < 0 && s == 0 ? "-" : "")\(s).\(String(format: "%03d", r))"
    }

    func instant(_ q: String, _ t: Int64) async -> Outcome {
        await get("/api/v1/query", ["query": q, "time": Self.fmtTime(t)])
    }

    func range(_ q: String, _ s: Int64, _ e: Int64, _ step: Int64) async -> Outcome {
        await get("/api/v1/query_range", ["query": q, "start": Self.fmtTime(s), "end": Self.fmtTime(e), "step": Self.fmtTime(step)])
    }

    func get(_ path: String, _ params: [String: String]) async -> Outcome {
        var c = URLComponents(string: base + path)!
        c.queryItems = params.map { URLQueryItem(name: $0.key, value: $0.value) }
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = "POST"
        r.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        r.httpBody = c.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B").data(using: .utf8)
        guard let (body, _) = try? await URLSession.shared.data(for: r),
              let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return .err("transport", "no answer from prometheus")
        }
        if json["status"] as? String != "success" {
            return .err(json["errorType"] as? String ?? "?", json["error"] as? String ?? "?")
        }
        let data = json["data"] as! [String: Any]
        let rt = data["resultType"] as! String
        func pv(_ a: Any) -> (Int64, Double) {
            let arr = a as! [Any]
            let t = (arr[0] as! NSNumber).doubleValue
            return (Int64((t * 1000).rounded()), parseValue(arr[1] as! String))
        }
        func labels(_ a: Any) -> Labels { Labels((a as! [String: String])) }
        switch rt {
        case "scalar":
            let (t, v) = pv(data["result"]!)
            return .ok(.scalar(t: t, v: v))
        case "string":
            let arr = data["result"] as! [Any]
            return .ok(.string(t: Int64(((arr[0] as! NSNumber).doubleValue * 1000).rounded()), v: arr[1] as! String))
        case "vector":
            let res = data["result"] as! [[String: Any]]
            return .ok(.vector(res.map { e in
                let (t, v) = pv(e["value"]!)
                return VectorElement(labels: labels(e["metric"]!), t: t, v: v)
            }))
        default:
            let res = data["result"] as! [[String: Any]]
            return .ok(.matrix(res.map { e in
                MatrixSeries(labels: labels(e["metric"]!), samples: (e["values"] as! [Any]).map { let (t, v) = pv($0); return Sample(t: t, v: v) })
            }))
        }
    }
}

func parseValue(_ s: String) -> Double {
    switch s {
    case "NaN": return .nan
    case "+Inf": return .infinity
    case "-Inf": return -.infinity
    default: return Double(s)!
    }
}

/// Random but reproducible expressions from PromQL's grammar, to find combinations nobody thought of.
struct RandomQueries {
    var rng: SplitMix
    let metrics = ["gauge_a", "gauge_b", "node_cpu_seconds_total", "flappy", "weird", "sparse",
                   "http_request_duration_seconds_bucket", "rpc_duration_seconds", "cluster_info", "{__name__=~\"dup_.*\"}"]
    let labels = ["cluster", "instance", "mode", "cpu", "le", "id", "kind", "region", "__name__"]
    let ranges = ["30s", "1m", "2m", "5m", "10m"]

    static func generate(count: Int, seed: UInt64) -> [String] {
        var g = RandomQueries(rng: SplitMix(seed: seed))
        return (0..<count).map { _ in g.vector(3) }
    }

    mutating func pick<T>(_ a: [T]) -> T { a[rng.int(a.count)] }

    mutating func selector() -> String {
        var m = pick(metrics)
        switch rng.int(6) {
        case 0: m += "{cluster=\"c\(1 + rng.int(3))\"}"
        case 1: m += "{cluster!=\"c2\"}"
        default: break
        }
        switch rng.int(10) {
        case 0: m += " offset \(pick(ranges))"
        case 1: m += " offset -\(pick(ranges))"
        case 2: m += " @ \(pick(["1700001000", "1700002500.5", "start()", "end()"]))"
        default: break
        }
        return m
    }

    mutating func grouping() -> String {
        switch rng.int(4) {
        case 0: return ""
        case 1: return " by (\(pick(labels)))"
        case 2: return " without (\(pick(labels)))"
        default: return " by (\(pick(labels)), \(pick(labels)))"
        }
    }

    mutating func range(_ depth: Int) -> String {
        if depth > 0 && rng.int(4) == 0 {
            let step = rng.int(3) == 0 ? "" : pick(["15s", "30s", "1m"])
            return "(\(vector(depth - 1)))[\(pick(ranges)):\(step)]"
        }
        let sel = selector()
        if let r = sel.range(of: " offset ") ?? sel.range(of: " @ ") {
            return String(sel[..<r.lowerBound]) + "[\(pick(ranges))]" + String(sel[r.lowerBound...])
        }
        return sel + "[\(pick(ranges))]"
    }

    mutating func scalar(_ depth: Int) -> String {
        switch rng.int(5) {
        case 0: return pick(["0", "1", "2", "0.5", "-1", "10", "NaN", "Inf"])
        case 1 where depth > 0: return "scalar(\(vector(depth - 1)))"
        case 2: return "time()"
        default: return pick(["1", "2", "3", "0.25", "100"])
        }
    }

    mutating func vector(_ depth: Int) -> String {
        if depth <= 0 { return selector() }
        switch rng.int(9) {
        case 0: return selector()
        case 1:
            let f = pick(["rate", "increase", "delta", "irate", "idelta", "deriv", "resets", "changes", "avg_over_time",
                          "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "stddev_over_time",
                          "last_over_time", "present_over_time", "absent_over_time"])
            return "\(f)(\(range(depth)))"
        case 2:
            let op = pick(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "topk", "bottomk", "quantile", "count_values"])
            let param: String
            switch op {
            case "topk", "bottomk": param = "\(1 + rng.int(3)), "
            case "quantile": param = "\(pick(["0", "0.5", "0.9", "1"])), "
            case "count_values": param = "\"v\", "
            default: param = ""
            }
            // Among equal values topk/bottomk keep whichever comes first; Prometheus feeds them in Go
            // map order after most operators, so only selectors give it a reproducible input order.
            // count_values turns last bits into labels, and Prometheus' own last bits depend on
            // that order too (and on Go's libm), so it also only sees selectors here.
            let arg = op == "topk" || op == "bottomk" || op == "count_values" ? selector() : vector(depth - 1)
            return "\(op)\(grouping()) (\(param)\(arg))"
        case 3, 4:
            // No `%`: `time() % x` turns last-bit differences into large ones, and Prometheus sums in
            // Go map order after most operators, so its own last bits vary from run to run.
            let op = pick(["+", "-", "*", "/", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "atan2"])
            let set = ["and", "or", "unless"].contains(op)
            if !set && rng.int(3) == 0 {
                let b = ["==", "!=", ">", "<", ">=", "<="].contains(op) && rng.int(2) == 0 ? " bool" : ""
                return rng.int(2) == 0 ? "\(vector(depth - 1)) \(op)\(b) \(scalar(depth - 1))" : "\(scalar(depth - 1)) \(op)\(b) \(vector(depth - 1))"
            }
            var mod = ""
            switch rng.int(5) {
            case 0: mod = " on(\(pick(labels)))"
            case 1: mod = " ignoring(\(pick(labels)))"
            case 2 where !set: mod = " on(cluster) group_left(\(pick(labels)))"
            case 3 where !set: mod = " ignoring(\(pick(labels))) group_right"
            default: break
            }
            return "\(vector(depth - 1)) \(op)\(mod) \(vector(depth - 1))"
        case 5:
            let f = pick(["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "sgn", "timestamp", "absent", "sort"])
            return "\(f)(\(vector(depth - 1)))"
        case 6:
            switch rng.int(11) {
            case 0: return "clamp(\(vector(depth - 1)), \(scalar(0)), \(scalar(0)))"
            case 1: return "round(\(vector(depth - 1)), \(pick(["1", "0.5", "3"])))"
            case 2: return "label_replace(\(vector(depth - 1)), \"dst\", \"$1\", \"\(pick(labels))\", \"(.)(.*)\")"
            case 3: return "histogram_quantile(\(pick(["0.5", "0.9", "1"])), \(vector(depth - 1)))"
            case 4: return "quantile_over_time(\(pick(["0.1", "0.5"])), \(range(depth)))"
            case 5: return "holt_winters(\(range(depth)), \(pick(["0.1", "0.5"])), \(pick(["0.1", "0.9"])))"
            case 6: return "predict_linear(\(range(depth)), \(pick(["60", "-300", "3600"])))"
            case 7: return "\(pick(["hour", "minute", "day_of_week", "day_of_month", "month", "year", "days_in_month", "day_of_year"]))(\(pick(["", "timestamp(\(selector()))"])))"
            case 8: return "label_join(\(vector(depth - 1)), \"dst\", \"-\", \"\(pick(labels))\", \"\(pick(labels))\")"
            case 9: return "vector(\(scalar(depth - 1)))"
            default: return "sort_desc(\(vector(depth - 1)))"
            }
        case 7: return "-\(vector(depth - 1))"
        default: return "(\(vector(depth - 1)))"
        }
    }
}
