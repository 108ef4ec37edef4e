import Testing
import Storage
import TestSupport
@testable import PromQL

/// The rewrite a remote backend receives (`Expr.confined(to:)`, printed): it must parse back
/// to the same tree, and it must answer exactly what the embedded path answers with the scope
/// applied at the storage boundary, for every query of the differential corpus and for
/// queries built to escape the scope.
@Suite struct ScopeRewriteTests {
    static let adversarial: [String] = [
        "{__name__=~\".+\"}", "count({__name__=~\".+\"})", "{region!=\"eu\"}", "{region=~\".*\"}", "{region=~\".+\"}",
        "gauge_a{region=\"us\"}", "gauge_a{region=~\"us|eu\"}", "gauge_a{region!~\"eu\"}", "count by (region) ({region!=\"\"})",
        "gauge_a or on() vector(1)", "vector(1) or gauge_a", "gauge_a or gauge_b{region=\"us\"}", "gauge_a unless gauge_a{region=\"us\"}",
        "gauge_a unless on(cluster) gauge_a{region=\"us\"}", "gauge_a and on() {region=\"us\"}",
        "absent(gauge_a{region=\"us\"})", "absent(nonexistent{region=\"eu\"})", "absent(nonexistent{region=\"us\"})",
        "absent(nonexistent{region=~\"eu\"})", "absent(nonexistent{region=\"eu\", region=\"us\"})", "absent(nonexistent)",
        "absent_over_time(nonexistent{region=\"us\"}[5m])", "absent_over_time(gauge_a{region=\"us\"}[5m])", "absent(gauge_a)",
        "absent((nonexistent{region=\"us\"}))", "absent(nonexistent{region=\"us\"} offset 5m)", "absent(sum(gauge_a{region=\"us\"}))",
        "label_replace(absent(nope{region=\"us\"}), \"region\", \"us\", \"\", \"\")",
        "label_replace(gauge_a, \"region\", \"eu\", \"region\", \".*\")", "label_replace({region=\"us\"}, \"region\", \"eu\", \"\", \"\")",
        "label_join(gauge_a, \"region\", \"\", \"cluster\")", "label_replace({__name__=~\".+\"}, \"__name__\", \"x\", \"\", \"\")",
        "sum by (region) ({__name__=~\".+\"})", "max_over_time({region!=\"eu\"}[10m:1m])", "max_over_time({region!=\"eu\"}[10m:])",
        "rate(node_cpu_seconds_total{region=~\".*\"}[5m] offset 5m)", "sum_over_time(gauge_a[5m:1m] @ end())", "gauge_a @ start()",
        "topk(1, {region=\"us\"})", "group by (region) ({__name__!=\"\"})", "{__name__=~\"gauge_a|gauge_b\", region!~\"eu\"}",
        "count_values(\"region\", gauge_b)", "sum(gauge_a) + on() group_left count({region=\"us\"})", "scalar(count({region!=\"eu\"}))",
        "vector(scalar(count({__name__=~\".+\"})))", "count(last_over_time({__name__=~\".+\"}[1h]))",
        "quantile_over_time(0.5, {region=\"us\"}[5m])", "-{region=\"us\"}", "({region=\"us\"})", "timestamp({region!=\"eu\"})",
    ]

    static let scope = [LabelMatcher.equal("region", "eu")]

    /// The corpus data three times: in scope, out of scope with other values, and without the
    /// scoped label at all (also out of scope).
    static let store: (all: MemoryStorage, inScope: MemoryStorage) = {
        let all = MemoryStorage(), inScope = MemoryStorage()
        for s in TestData.generate().series {
            for (region, delta) in [("eu", 0.0), ("us", 7.0), ("", 13.0)] {
                let l = s.labels.setting("region", region)
                for smp in s.samples {
                    all.append(l, smp.t, smp.v + delta)
                    if region == "eu" { inScope.append(l, smp.t, smp.v + delta) }
                }
            }
        }
        return (all, inScope)
    }()

    static var corpus: [String] { TestData.queries(TestData.generate()) + adversarial }

    @Test func printedQueriesParseToTheSameTree() throws {
        var checked = 0
        for q in Self.corpus {
            guard let e = try? parseExpr(q) else { continue }
            let printed = e.description
            #expect((try? parseExpr(printed)) == e, "\(q) printed as \(printed)")
            let scoped = e.confined(to: Self.scope)
            // The parser orders a selector's matchers its own way, so the check is the printed fixpoint.
            #expect((try? parseExpr(scoped.description))?.description == scoped.description, "\(q) confined, printed as \(scoped.description)")
            checked += 1
        }
        #expect(checked > 500)
    }

    @Test func everySelectorGetsTheScopeAdded() throws {
        let cases: [(String, String)] = [
            ("x{region!=\"eu\"}", "x{region!=\"eu\",region=\"eu\"}"),
            ("{__name__=~\".+\",region=~\".*\"}", "{__name__=~\".+\",region=~\".*\",region=\"eu\"}"),
            ("up", "up{region=\"eu\"}"),
            ("rate(x[5m] offset 1m)", "rate(x{region=\"eu\"}[5m] offset 1m)"),
            ("sum by (a) (x @ 100)", "sum by(a) (x{region=\"eu\"} @ 100.000)"),
            ("max_over_time((a - b)[5m:1m])", "max_over_time((a{region=\"eu\"} - b{region=\"eu\"})[5m:1m])"),
            ("a or on() vector(1)", "a{region=\"eu\"} or on() vector(1)"),
            ("topk(scalar(c), d)", "topk(scalar(c{region=\"eu\"}), d{region=\"eu\"})"),
            // absent()'s output labels come back to the unscoped query's.
            ("absent(x)", "label_replace(absent(x{region=\"eu\"}), \"region\", \"\", \"\", \"\")"),
            ("absent(x{region=\"eu\"})", "label_replace(absent(x{region=\"eu\",region=\"eu\"}), \"region\", \"eu\", \"\", \"\")"),
            ("absent(x{region=~\"e.\"})", "label_replace(absent(x{region=~\"e.\",region=\"eu\"}), \"region\", \"\", \"\", \"\")"),
            ("absent(x{region!=\"us\"})", "label_replace(absent(x{region!=\"us\",region=\"eu\"}), \"region\", \"\", \"\", \"\")"),
            ("absent(sum(x))", "absent(sum(x{region=\"eu\"}))"),
        ]
        for (q, want) in cases {
            #expect(try parseExpr(q).confined(to: Self.scope).description == want, "\(q)")
        }
        #expect(try parseExpr("x[5m:]").withSubquerySteps(60_000).description == "x[5m:1m]")
    }

    /// The property: on a store holding in-scope and out-of-scope series, the rewritten text
    /// (as a backend receives it, with no scope of its own) answers exactly what the embedded
    /// path answers (scope added at the storage boundary, as ScopedQueryable does), which is
    /// exactly what the query answers over the in-scope series alone.
    @Test(.timeLimit(.minutes(10)))
    func noRewriteEscapesTheScope() async throws {
        let data = TestData.generate()
        let (all, inScope) = Self.store
        let engine = Engine()
        var failures: [String] = [], compared = 0, nonEmpty = 0
        for q in Self.corpus {
            guard let e = try? parseExpr(q) else { continue }
            let remoteText = e.confined(to: Self.scope).withSubquerySteps(engine.options.defaultEvaluationInterval).description
            let remote = try parseExpr(remoteText)
            for t in [data.end, data.start + 1_830_500] {
                let embedded = await canon { try await engine.instantQuery(e, at: t, storage: BoundaryScoped(base: all, scope: Self.scope)) }
                let rewritten = await canon { try await engine.instantQuery(remote, at: t, storage: all) }
                let alone = await canon { try await engine.instantQuery(e, at: t, storage: inScope) }
                compared += 1
                if embedded.contains("{") { nonEmpty += 1 }
                if embedded != rewritten { failures.append("@\(t) \(q) -> \(remoteText)\n  embedded \(embedded.prefix(300))\n  rewritten \(rewritten.prefix(300))") }
                if embedded != alone { failures.append("@\(t) \(q): the scoped store leaks\n  \(embedded.prefix(300))\n  \(alone.prefix(300))") }
            }
            let (s, en, step) = (data.start + 300_000, data.end, Int64(97_000))
            let embedded = await canon { try await engine.rangeQuery(e, start: s, end: en, step: step, storage: BoundaryScoped(base: all, scope: Self.scope)) }
            let rewritten = await canon { try await engine.rangeQuery(remote, start: s, end: en, step: step, storage: all) }
            compared += 1
            if embedded != rewritten { failures.append("range \(q) -> \(remoteText)\n  embedded \(embedded.prefix(300))\n  rewritten \(rewritten.prefix(300))") }
        }
        print("scope rewrite: \(compared - failures.count)/\(compared) equal (\(nonEmpty) instant answers with series)")
        for f in failures.prefix(20) { print("SCOPE " + f) }
        #expect(failures.isEmpty, "\(failures.count) differ; first: \(failures.first ?? "")")
        #expect(nonEmpty > compared / 4)
    }

    /// Canonical text of an answer: series sorted, values bit-exact (NaN as NaN), errors by type.
    func canon(_ run: () async throws -> QueryValue) async -> String {
        func v(_ x: Double) -> String { x.isNaN ? "NaN" : "\(x)" }
        do {
            switch try await run() {
            case .scalar(let t, let x): return "scalar \(t) \(v(x))"
            case .string(let t, let s): return "string \(t) \(s)"
            case .vector(let els): return els.map { "\($0.labels) \($0.t) \(v($0.v))" }.sorted().joined(separator: "\n")
            case .matrix(let ms):
                return ms.map { "\($0.labels) " + $0.samples.map { "\($0.t):\(v($0.v))" }.joined(separator: ",") }.sorted().joined(separator: "\n")
            }
        } catch let e as PromQLError {
            return "error \(e.type.rawValue)"
        } catch {
            return "error \(error)"
        }
    }
}

/// The scope at the storage boundary, as the collector's ScopedQueryable applies it (that type
/// is in the Collector target; `RemoteBackendScopeTests` there runs the rewrite against it).
struct BoundaryScoped: Queryable {
    let base: any Queryable
    let scope: [LabelMatcher]
    func querier(mint: Int64, maxt: Int64) throws -> any Querier { Q(base: try base.querier(mint: mint, maxt: maxt), scope: scope) }
    struct Q: Querier {
        let base: any Querier
        let scope: [LabelMatcher]
        func select(_ m: [LabelMatcher]) throws -> [Series] { try base.select(m + scope) }
        func series(_ m: [LabelMatcher]) throws -> [Labels] { try base.series(m + scope) }
        func labelNames(_ m: [LabelMatcher]) throws -> [String] { try base.labelNames(m + scope) }
        func labelValues(_ n: String, _ m: [LabelMatcher]) throws -> [String] { try base.labelValues(n, m + scope) }
    }
}
