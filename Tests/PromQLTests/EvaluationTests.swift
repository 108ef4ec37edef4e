#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import Storage
@testable import PromQL

/// Hand-computed cases for the parts of PromQL where engines usually differ from Prometheus.
@Suite struct EvaluationTests {
    static func store(_ series: [(Labels, [(Int64, Double)])]) -> MemoryStorage {
        let s = MemoryStorage()
        for (l, samples) in series { for (t, v) in samples { s.append(l, t * 1000, v) } }
        return s
    }

    static func l(_ d: [String: String]) -> Labels { Labels(d) }

    func instant(_ q: String, _ t: Int64, _ s: MemoryStorage, _ e: Engine = Engine()) async throws(PromQLError) -> [VectorElement] {
        guard case .vector(let v) = try await e.instantQuery(q, at: t * 1000, storage: s) else {
            Issue.record("\(q) is not a vector"); return []
        }
        return v
    }

    func value(_ q: String, _ t: Int64, _ s: MemoryStorage) async throws(PromQLError) -> Double? {
        let v = try await instant(q, t, s)
        #expect(v.count <= 1, "\(q)")
        return v.first?.v
    }

    @Test func rateExtrapolatesAndHandlesResets() async throws {
        let s = Self.store([(Self.l(["__name__": "c"]), [(0, 0), (60, 10), (120, 20), (180, 5), (240, 15)])])
        // The whole series in the window: 15 - 0 plus the 20 lost to the reset, no extrapolation.
        #expect(try await value("increase(c[4m])", 240, s) == 35)
        // Window (10s, 250s]: starts 50s before the first sample (< 1.1 * 60s average), ends 10s after.
        let inc = try #require(try await value("increase(c[4m])", 250, s))
        #expect(abs(inc - 25.0 * 240 / 180) < 1e-9)
        let rate = try #require(try await value("rate(c[4m])", 250, s))
        #expect(abs(rate - 25.0 * 240 / 180 / 240) < 1e-12)
        // delta is not a counter: no reset correction.
        let delta = try #require(try await value("delta(c[4m])", 240, s))
        #expect(delta == 15)
        #expect(try await value("resets(c[5m])", 240, s) == 1)
        #expect(try await value("irate(c[5m])", 240, s) == 10.0 / 60)
        // One sample is not enough for a rate.
        #expect(try await instant("rate(c[30s])", 240, s).isEmpty)
        // __name__ is dropped by rate but kept by last_over_time.
        #expect(try await instant("rate(c[5m])", 240, s).first?.labels == Labels())
        #expect(try await instant("last_over_time(c[5m])", 240, s).first?.labels == Self.l(["__name__": "c"]))
    }

    @Test func counterZeroPointLimitsExtrapolation() async throws {
        // Starts at 5, increases 5 per minute: extrapolating 55s back would go below zero, so it stops at zero (60s * 5/20 = 15s).
        let s = Self.store([(Self.l(["__name__": "c"]), [(60, 5), (120, 10), (180, 15), (240, 25)])])
        let v = try #require(try await value("increase(c[4m])", 245, s))
        // window (5, 245]: durationToStart 55 > threshold 66? no: 55 < 66 but zero point 180*(5/20)=45 < 55.
        #expect(abs(v - 20.0 * (180 + 45 + 5) / 180) < 1e-9)
    }

    @Test func stalenessAndLookback() async throws {
        let s = Self.store([
            (Self.l(["__name__": "g", "id": "a"]), [(0, 1), (60, 2), (120, StaleNaN.value), (300, 3)]),
            (Self.l(["__name__": "g", "id": "b"]), [(0, 7)]),
        ])
        #expect(try await instant("g", 119, s).count == 2)
        // A staleness marker ends the series at once.
        #expect(try await instant("g{id=\"a\"}", 120, s).isEmpty)
        #expect(try await instant("g{id=\"a\"}", 299, s).isEmpty)
        #expect(try await value("g{id=\"a\"}", 300, s) == 3)
        // Lookback is 5 minutes, closed at its start in 2.42.
        #expect(try await value("g{id=\"b\"}", 300, s) == 7)
        #expect(try await instant("g{id=\"b\"}", 301, s).isEmpty)
        // Stale markers are never part of a range.
        #expect(try await value("count_over_time(g{id=\"a\"}[10m])", 300, s) == 3)
        // Instant query results carry the evaluation timestamp.
        #expect(try await instant("g{id=\"b\"}", 200, s).first?.t == 200_000)
    }

    @Test func offsetAndAt() async throws {
        let s = Self.store([(Self.l(["__name__": "g"]), (0...20).map { (Int64($0) * 60, Double($0)) })])
        #expect(try await value("g offset 5m", 600, s) == 5)
        #expect(try await value("g offset -2m", 600, s) == 12)
        #expect(try await value("g @ 120", 1200, s) == 2)
        #expect(try await value("g @ 120 offset 1m", 1200, s) == 1)
        #expect(try await value("sum_over_time(g[2m] @ 180)", 1200, s) == 1 + 2 + 3)
        // @ start() / end() in a range query are the query's own bounds.
        let r = try await Engine().rangeQuery("g @ end()", start: 60_000, end: 240_000, step: 60_000, storage: s)
        guard case .matrix(let m) = r else { Issue.record("not a matrix"); return }
        #expect(m.count == 1 && m[0].samples.map(\.v) == [4, 4, 4, 4] && m[0].samples.map(\.t) == [60_000, 120_000, 180_000, 240_000])
    }

    @Test func subqueries() async throws {
        let s = Self.store([(Self.l(["__name__": "g"]), (0...20).map { (Int64($0) * 30, Double($0 % 5)) })])
        // Subquery steps are aligned to multiples of the step: 60, 120, 180, 240 inside (60, 240].
        #expect(try await value("max_over_time(g[3m:1m])", 240, s) == 4)
        #expect(try await value("count_over_time(g[3m:1m])", 240, s) == 4)
        #expect(try await value("count_over_time(g[3m:1m])", 250, s) == 3)
        // Default step is the evaluation interval, 1m.
        #expect(try await value("count_over_time(g[5m:])", 300, s) == 6)
        // Closed window [120s, 240s] in 2.42: steps 120, 180, 240.
        #expect(try await value("sum_over_time(g[2m:1m] offset 1m)", 300, s) == 4 + 1 + 3)
    }

    @Test func vectorMatching() async throws {
        let s = Self.store([
            (Self.l(["__name__": "a", "job": "x", "i": "1"]), [(0, 10)]),
            (Self.l(["__name__": "a", "job": "x", "i": "2"]), [(0, 20)]),
            (Self.l(["__name__": "b", "job": "x"]), [(0, 2)]),
            (Self.l(["__name__": "info", "job": "x", "team": "t1"]), [(0, 1)]),
        ])
        let v = try await instant("a / on(job) group_left b", 10, s)
        #expect(Set(v.map(\.v)) == [5, 10])
        #expect(v.allSatisfy { $0.labels.metricName == nil && $0.labels["i"] != nil })
        let joined = try await instant("a * on(job) group_left(team) info", 10, s)
        #expect(joined.allSatisfy { $0.labels["team"] == "t1" })
        await #expect(throws: PromQLError.self) { _ = try await instant("a / on(job) b", 10, s) }
        do {
            _ = try await instant("b / on(job) a", 10, s)
            Issue.record("many-to-many must fail")
        } catch {
            #expect(error.type == .execution)
            #expect(error.message.hasPrefix("found duplicate series for the match group {job=\"x\"} on the right hand-side of the operation"))
        }
        // Comparisons keep __name__ and the left value; bool drops the name.
        #expect(try await instant("a > 15", 10, s).map(\.labels.metricName) == ["a"])
        #expect(Set(try await instant("a > bool 15", 10, s).map(\.v)) == [0, 1])
        #expect(try await instant("a and on(job) b", 10, s).count == 2)
        #expect(try await instant("a unless on(job) b", 10, s).isEmpty)
        #expect(try await instant("b or a", 10, s).count == 3)
        // Literal scalars stay scalars.
        guard case .scalar(_, let x) = try await Engine().instantQuery("2 ^ 3 ^ 2", at: 0, storage: s) else {
            Issue.record("not a scalar"); return
        }
        #expect(x == 512)
    }

    @Test func sameLabelsetErrors() async throws {
        let s = Self.store([
            (Self.l(["__name__": "a", "x": "1"]), [(0, 1)]),
            (Self.l(["__name__": "b", "x": "1"]), [(0, 2)]),
        ])
        for q in ["{x=\"1\"} + 1", "abs({x=\"1\"})", "rate({x=\"1\"}[5m])", "-{x=\"1\"}"] {
            do {
                _ = try await instant(q, 10, s)
                if q.hasPrefix("rate") { continue }  // one sample each: no rate output, so no clash
                Issue.record("\(q) must fail")
            } catch {
                #expect(error.message == "vector cannot contain metrics with the same labelset")
            }
        }
        #expect(try await instant("{x=\"1\"} > 0", 10, s).count == 2)
    }

    @Test func histogramQuantile() async throws {
        let b = { (le: String, v: Double) in (Self.l(["__name__": "h_bucket", "le": le]), [(Int64(0), v)]) }
        let s = Self.store([b("1", 10), b("2", 20), b("4", 40), b("+Inf", 40)])
        #expect(try await value("histogram_quantile(0.5, h_bucket)", 10, s) == 2)
        #expect(try await value("histogram_quantile(0.75, h_bucket)", 10, s) == 3)
        #expect(try await value("histogram_quantile(1, h_bucket)", 10, s) == 4)
        #expect(try await value("histogram_quantile(2, h_bucket)", 10, s) == .infinity)
        // Non-monotonic buckets are made monotonic, as Prometheus does.
        let broken = Self.store([b("1", 10), b("2", 5), b("+Inf", 20)])
        #expect(try await value("histogram_quantile(0.5, h_bucket)", 10, broken) == 1)
        let noInf = Self.store([b("1", 10), b("2", 20)])
        #expect(try #require(try await value("histogram_quantile(0.5, h_bucket)", 10, noInf)).isNaN)
    }

    @Test func aggregationsAndNaN() async throws {
        let s = Self.store([
            (Self.l(["__name__": "m", "k": "a"]), [(0, 1)]),
            (Self.l(["__name__": "m", "k": "b"]), [(0, .nan)]),
            (Self.l(["__name__": "m", "k": "c"]), [(0, 3)]),
        ])
        #expect(try #require(try await value("sum(m)", 10, s)).isNaN)
        #expect(try await value("count(m)", 10, s) == 3)
        #expect(try await value("max(m)", 10, s) == 3)
        let top = try await instant("topk(1, m)", 10, s)
        #expect(top.map(\.v) == [3])
        let sorted = try await instant("sort_desc(m)", 10, s)
        #expect(sorted.map(\.labels["k"]) == ["c", "a", "b"])
        let cv = try await instant("count_values(\"v\", m)", 10, s)
        #expect(Set(cv.compactMap { $0.labels["v"] }) == ["1", "NaN", "3"])
        #expect(try await value("quantile(0.5, m)", 10, s) == 1)
    }

    @Test func dateFunctionsUseCivilTime() async throws {
        let s = MemoryStorage()
        // 2024-02-29T13:45:00Z, a leap day and a Thursday.
        let t: Int64 = 1_709_214_300
        #expect(try await value("year(vector(\(t)))", 0, s) == 2024)
        #expect(try await value("month(vector(\(t)))", 0, s) == 2)
        #expect(try await value("day_of_month(vector(\(t)))", 0, s) == 29)
        #expect(try await value("day_of_year(vector(\(t)))", 0, s) == 60)
        #expect(try await value("day_of_week(vector(\(t)))", 0, s) == 4)
        #expect(try await value("days_in_month(vector(\(t)))", 0, s) == 29)
        #expect(try await value("hour(vector(\(t)))", 0, s) == 13)
        #expect(try await value("minute(vector(\(t)))", 0, s) == 45)
        #expect(try await value("year(vector(-1))", 0, s) == 1969)
        #expect(try await value("hour()", 7200, s) == 2)
    }

    @Test func rangeQueryShapeAndErrors() async throws {
        let s = Self.store([(Self.l(["__name__": "g"]), [(0, 1), (60, 2)])])
        let e = Engine()
        guard case .matrix(let m) = try await e.rangeQuery("g", start: 0, end: 600_000, step: 120_000, storage: s) else {
            Issue.record("not a matrix"); return
        }
        // Steps at start + k*step; the sample at 60s is visible until 360s.
        #expect(m[0].samples.map(\.t) == [0, 120_000, 240_000, 360_000])
        guard case .matrix(let sc) = try await e.rangeQuery("time()", start: 0, end: 120_000, step: 60_000, storage: s) else {
            Issue.record("not a matrix"); return
        }
        #expect(sc.count == 1 && sc[0].labels.isEmpty && sc[0].samples.map(\.v) == [0, 60, 120])
        do {
            _ = try await e.rangeQuery("g[5m]", start: 0, end: 60_000, step: 10_000, storage: s)
            Issue.record("range vector range query must fail")
        } catch {
            #expect(error.type == .badData)
            #expect(error.message == "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
        }
        await #expect(throws: PromQLError.self) { _ = try await e.rangeQuery("g", start: 0, end: 60_000, step: 0, storage: s) }
    }

    @Test func limitsTimeoutAndCancellation() async throws {
        let s = Self.store([(Self.l(["__name__": "g"]), (0...100).map { (Int64($0) * 15, Double($0)) })])
        var small = EngineOptions()
        small.maxSamples = 10
        do {
            _ = try await Engine(options: small).instantQuery("sum_over_time(g[1h])", at: 1_500_000, storage: s)
            Issue.record("sample limit must apply")
        } catch {
            #expect(error.type == .execution)
            #expect(error.message == "query processing would load too many samples into memory in query execution")
        }
        var instant = EngineOptions()
        instant.timeout = .zero
        do {
            _ = try await Engine(options: instant).instantQuery("g", at: 0, storage: s)
            Issue.record("timeout must apply")
        } catch {
            #expect(error.type == .timeout)
            #expect(error.message == "query timed out in expression evaluation")
        }
        let task = Task {
            try? await Task.sleep(for: .seconds(10))
            return try await Engine().rangeQuery("g", start: 0, end: 1_500_000, step: 1000, storage: s)
        }
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("cancellation must apply")
        } catch let error as PromQLError {
            #expect(error.type == .canceled)
        }
    }

    /// A query cancelled while it runs (here: while its selector reads storage) stops with
    /// `canceled` before the per-series work that runs on other cores, rather than finishing.
    @Test func cancellationDuringEvaluation() async throws {
        let base = MemoryStorage()
        for k in 0..<500 {
            for i in 0...200 { base.append(Self.l(["__name__": "c", "k": String(k)]), Int64(i) * 15_000, Double(i)) }
        }
        let box = TaskBox()
        let storage = CancellingStorage(inner: base, box: box)
        let task = Task { try await Engine().rangeQuery("sum(rate(c[5m]))", start: 300_000, end: 3_000_000, step: 15_000, storage: storage) }
        box.task.withLock { $0 = task }
        do {
            _ = try await task.value
            Issue.record("cancellation during evaluation must apply")
        } catch let error as PromQLError {
            #expect(error.type == .canceled)
        }
        #expect(storage.selects.load(ordering: .relaxed) == 1)
    }
}

final class TaskBox: Sendable {
    let task = Mutex<Task<QueryValue, any Error>?>(nil)
}

/// Cancels the query's task from inside its first storage read (after waiting until the task is
/// known), then answers normally.
final class CancellingStorage: Queryable, Sendable {
    let inner: MemoryStorage
    let box: TaskBox
    let selects = Atomic<Int>(0)
    init(inner: MemoryStorage, box: TaskBox) { self.inner = inner; self.box = box }
    func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        selects.add(1, ordering: .relaxed)
        while box.task.withLock({ $0 == nil }) { usleep(1000) }
        box.task.withLock { $0?.cancel() }
        return try inner.querier(mint: mint, maxt: maxt)
    }
}

@Suite struct CollectorHelperTests {
    @Test func seriesSelectors() throws {
        let ms = try parseMetricSelector("up{job=~\"a|b\"}")
        #expect(ms.count == 2)
        #expect(ms.contains { $0.name == "__name__" && $0.value == "up" })
        #expect(throws: PromQLError.self) { try parseMetricSelector("rate(up[5m])") }
        #expect(throws: PromQLError.self) { try parseMetricSelector("up offset 5m") }
    }

    @Test func scopedQueriesSeeOnlyTheirLabels() async throws {
        let s = MemoryStorage()
        s.append(Labels(["__name__": "up", "cluster": "a"]), 0, 1)
        s.append(Labels(["__name__": "up", "cluster": "b"]), 0, 1)
        let scoped = try parseExpr("sum(up) + count(last_over_time(up[5m:1m])) * 0").addingMatchers([.equal("cluster", "a")])
        guard case .vector(let v) = try await Engine().instantQuery(scoped, at: 10_000, storage: s) else {
            Issue.record("not a vector"); return
        }
        #expect(v.map(\.v) == [1])
    }
}
