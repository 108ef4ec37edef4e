import Dispatch
import Storage
import Synchronization

public struct EngineOptions: Sendable {
    public var lookbackDelta: Int64 = 300_000
    public var timeout: Duration = .seconds(120)
    public var maxSamples: Int = 50_000_000
    /// Step of subqueries written without one (`[1h:]`): Prometheus uses the global
    /// `evaluation_interval`, 1m by default.
    public var defaultEvaluationInterval: Int64 = 60_000
    public init() {}
}

public struct VectorElement: Sendable {
    public let labels: Labels
    public let t: Int64
    public let v: Double
    public init(labels: Labels, t: Int64, v: Double) { self.labels = labels; self.t = t; self.v = v }
}

public struct MatrixSeries: Sendable {
    public let labels: Labels
    public let samples: [Sample]
    public init(labels: Labels, samples: [Sample]) { self.labels = labels; self.samples = samples }
}

public enum QueryValue: Sendable {
    case vector([VectorElement])
    case matrix([MatrixSeries])
    case scalar(t: Int64, v: Double)
    case string(t: Int64, v: String)
}

public struct Engine: Sendable {
    public let options: EngineOptions

    public init(options: EngineOptions = .init()) { self.options = options }

    public func instantQuery(_ query: String, at time: Int64, storage: any Queryable) async throws(PromQLError) -> QueryValue {
        try await instantQuery(try parseExpr(query), at: time, storage: storage)
    }

    public func rangeQuery(_ query: String, start: Int64, end: Int64, step: Int64, storage: any Queryable) async throws(PromQLError) -> QueryValue {
        try await rangeQuery(try parseExpr(query), start: start, end: end, step: step, storage: storage)
    }

    /// Evaluates an already parsed (possibly rewritten, see `Expr.addingMatchers`) expression at one instant.
    public func instantQuery(_ expr: Expr, at time: Int64, storage: any Queryable) async throws(PromQLError) -> QueryValue {
        let ev = Evaluator(storage: storage, options: options, queryStart: time, queryEnd: time)
        let ctx = Ctx(start: time, end: time, interval: 1)
        let v = try await ev.evalCancellable(expr, ctx)
        switch v {
        case .scalar(let s): return .scalar(t: time, v: s[0])
        case .string(let s): return .string(t: time, v: s)
        case .matrix(let m):
            return .matrix(m.map { MatrixSeries(labels: $0.labels, samples: $0.samples) })
        case .vector(let cols):
            var out: [VectorElement] = []
            out.reserveCapacity(cols.count)
            for c in cols where !isAbsent(c.vals[0]) {
                out.append(VectorElement(labels: c.labels, t: time, v: c.vals[0]))
            }
            if !keepsOrder(expr) { out.sort { $0.labels < $1.labels } }
            return .vector(out)
        }
    }

    /// Evaluates an already parsed expression at `start + k*step` up to `end`; always a matrix.
    public func rangeQuery(_ expr: Expr, start: Int64, end: Int64, step: Int64, storage: any Queryable) async throws(PromQLError) -> QueryValue {
        if step <= 0 {
            throw PromQLError(.badData, "zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        if end < start { throw PromQLError(.badData, "end timestamp must not be before start time") }
        if TimeMath.steps(start: start, end: end, step: step, limit: 11001) == nil {
            throw PromQLError(.badData, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        if expr.type != .scalar && expr.type != .vector {
            throw PromQLError(.badData, "invalid expression type \"\(expr.type.rawValue)\" for range query, must be Scalar or instant Vector")
        }
        let ev = Evaluator(storage: storage, options: options, queryStart: start, queryEnd: end)
        let ctx = Ctx(start: start, end: end, interval: step)
        let v = try await ev.evalCancellable(expr, ctx)
        switch v {
        case .scalar(let s):
            var samples: [Sample] = []
            for i in 0..<ctx.n { samples.append(Sample(t: ctx.t(i), v: s[i])) }
            return .matrix([MatrixSeries(labels: Labels(), samples: samples)])
        case .vector(let cols):
            var out: [MatrixSeries] = []
            for c in cols {
                var samples: [Sample] = []
                for i in 0..<ctx.n where !isAbsent(c.vals[i]) { samples.append(Sample(t: ctx.t(i), v: c.vals[i])) }
                if !samples.isEmpty { out.append(MatrixSeries(labels: c.labels, samples: samples)) }
            }
            out.sort { $0.labels < $1.labels }
            return .matrix(out)
        default:
            throw PromQLError(.badData, "invalid expression type \"\(expr.type.rawValue)\" for range query, must be Scalar or instant Vector")
        }
    }
}

/// Instant-query results keep the evaluator's order (which follows Prometheus') where a
/// `sort`/`sort_desc` decided it and nothing reordered it since; otherwise they are sorted by labels.
func keepsOrder(_ e: Expr) -> Bool {
    switch e {
    case .paren(let x), .unary(_, let x): return keepsOrder(x)
    case .call(let c):
        switch functions[c.function]?.keepsOrder {
        case .always?: return true
        case .ofFirstArgument?: return c.args.first.map(keepsOrder) ?? false
        case .never?, nil: return false
        }
    case .binary(let b):
        // The result follows the "many" side: the vector side against a scalar, else the left
        // side unless group_right makes the right side the many one.
        if b.lhs.type == .scalar { return keepsOrder(b.rhs) }
        if b.rhs.type == .scalar { return keepsOrder(b.lhs) }
        if b.op == .lor { return false }
        return b.matching?.card == .oneToMany ? keepsOrder(b.rhs) : keepsOrder(b.lhs)
    case .aggregate(let a):
        // topk/bottomk rank by value; count_values keeps the groups' first-seen order (as Prometheus).
        return a.op == .topk || a.op == .bottomk || a.op == .countValues
    default: return false
    }
}

// MARK: - Internal representation

/// Timestamps minus offsets and ranges: offsets of nested subqueries stack without bound, so
/// this saturates (`TimeMath.subtracting`) instead of trapping.
@inline(__always) func satSub(_ a: Int64, _ b: Int64) -> Int64 { TimeMath.subtracting(a, b) }

/// A signalling NaN with a payload no arithmetic produces: marks "no sample at this step".
let absentBits: UInt64 = 0x7ff4_dead_beef_0001
let absentValue = Double(bitPattern: absentBits)
@inline(__always) func isAbsent(_ v: Double) -> Bool { v.bitPattern == absentBits }

/// One series of an instant-vector expression over all steps of an evaluation.
struct Col {
    var labels: Labels
    var vals: [Double]
}

struct RangeSeries {
    var labels: Labels
    var samples: [Sample]
}

enum Val {
    case scalar([Double])
    case vector([Col])
    case matrix([RangeSeries])   // only for instant evaluation of a range selector
    case string(String)
}

/// The steps of one evaluation. Every place that builds one has bounded `(end - start) / interval`
/// first (range queries by 11,000 points, subqueries by `max_samples`), so `n` and `t` cannot overflow.
struct Ctx {
    let start: Int64
    let end: Int64
    let interval: Int64
    var n: Int { Int((end - start) / interval) + 1 }
    @inline(__always) func t(_ i: Int) -> Int64 { start + Int64(i) * interval }
}

/// Samples of a range argument (range selector or subquery) and, per step, the window's end.
struct RangeArg {
    var series: [RangeSeries]
    var range: Int64
    var refs: [Int64]
    var selector: VectorSelector?
}

final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// Deadline and cancellation as a value, for work that runs outside the evaluator (the
/// workers of `parallel`, the per-window kernels) and so cannot use its tick counter.
struct StopCheck: Sendable {
    let deadline: ContinuousClock.Instant
    let cancelled: CancelFlag

    func check() throws(PromQLError) {
        if cancelled.isSet { throw PromQLError(.canceled, "query was canceled in expression evaluation") }
        if ContinuousClock.now >= deadline { throw PromQLError(.timeout, "query timed out in expression evaluation") }
    }
}

/// Carries an evaluation's result from its Dispatch thread back to the awaiting task.
struct EvalOutcome: @unchecked Sendable {
    // @unchecked: `Val` holds plain arrays and strings, handed over once and never shared.
    let result: Result<Val, PromQLError>
    init(_ result: Result<Val, PromQLError>) { self.result = result }
}

final class Evaluator {
    let storage: any Queryable
    let options: EngineOptions
    let queryStart: Int64
    let queryEnd: Int64
    let deadline: ContinuousClock.Instant
    /// Set when the query's task is cancelled: read by workers of `parallel`, which run outside
    /// the task and cannot see `Task.isCancelled`.
    let cancelled = CancelFlag()
    var samples = 0
    var ticks = 0

    init(storage: any Queryable, options: EngineOptions, queryStart: Int64, queryEnd: Int64) {
        self.storage = storage
        self.options = options
        self.queryStart = queryStart
        self.queryEnd = queryEnd
        self.deadline = ContinuousClock.now.advanced(by: options.timeout)
    }

    /// Cooperative cancellation and timeout, called from loops; cheap most of the time.
    @inline(__always) func tick(_ weight: Int = 1) throws(PromQLError) {
        ticks &+= weight
        if ticks >= 4096 {
            ticks = 0
            try checkNow()
        }
    }

    /// `eval` on a thread of its own, with the task's cancellation forwarded to `cancelled`.
    /// Evaluation is long synchronous CPU work: on Swift's cooperative pool (one thread per core)
    /// a few such queries would hold every thread, starving health checks, ingest and the
    /// handling of SIGTERM itself until they end. A serial Dispatch queue per query is
    /// overcommitting, so it gets a thread even when all cores are busy.
    func evalCancellable(_ e: Expr, _ ctx: Ctx) async throws(PromQLError) -> Val {
        let flag = cancelled
        // The evaluator is used by exactly one thread at a time: this task waits for the result.
        nonisolated(unsafe) let evaluator = self
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<EvalOutcome, Never>) in
                DispatchQueue(label: "promql.query").async {
                    done.resume(returning: EvalOutcome(Result { () throws(PromQLError) -> Val in try evaluator.eval(e, ctx) }))
                }
            }
        } onCancel: {
            flag.set()
        }
        return try outcome.result.get()
    }

    func checkNow() throws(PromQLError) {
        if cancelled.isSet || Task.isCancelled { throw PromQLError(.canceled, "query was canceled in expression evaluation") }
        if ContinuousClock.now >= deadline { throw PromQLError(.timeout, "query timed out in expression evaluation") }
    }

    /// Counts `n` more samples (values of any series at any step, loaded or computed) as held in
    /// memory, failing the query past `max_samples`. Callers count before they allocate where
    /// they can, so the limit bounds memory rather than reporting it afterwards.
    func addSamples(_ n: Int) throws(PromQLError) {
        let (sum, o) = samples.addingReportingOverflow(n)
        samples = sum
        if o || sum > options.maxSamples { throw Self.tooManySamples }
    }

    static let tooManySamples = PromQLError(.execution, "query processing would load too many samples into memory in query execution")

    /// What a value holds: every series has a slot per step, scalars one per step.
    static func sampleCount(_ v: Val, _ ctx: Ctx) -> Int {
        switch v {
        case .scalar(let s): return s.count
        case .vector(let cols): return cols.count &* ctx.n
        case .matrix(let m): return m.reduce(0) { $0 &+ $1.samples.count }
        case .string: return 0
        }
    }

    /// Independent per-series work on all cores (`ParallelMap`), with cancellation and the
    /// deadline checked by the workers themselves: they cannot reach the evaluator's tick counter.
    var stop: StopCheck { StopCheck(deadline: deadline, cancelled: cancelled) }

    func parallel<T>(_ n: Int, minPerWorker: Int, _ body: @Sendable (Int) throws(PromQLError) -> T) throws(PromQLError) -> [T] {
        try checkNow()
        let stop = self.stop
        do {
            return try ParallelMap.run(n, minPerWorker: minPerWorker) { i in
                // Every 64th item: reading the clock per series would be a visible cost.
                if i & 63 == 0 { try stop.check() }
                return try body(i)
            }
        } catch let e as PromQLError {
            throw e
        } catch {
            throw PromQLError(.internal, "\(error)")
        }
    }

    func atTime(_ at: AtModifier) -> Int64 {
        switch at {
        case .timestamp(let t): return t
        case .start: return queryStart
        case .end: return queryEnd
        }
    }

    func refs(_ at: AtModifier?, _ offset: Int64, _ ctx: Ctx) -> [Int64] {
        if let at { return [Int64](repeating: satSub(atTime(at), offset), count: ctx.n) }
        return (0..<ctx.n).map { satSub(ctx.t($0), offset) }
    }

    func select(_ matchers: [LabelMatcher], _ mint: Int64, _ maxt: Int64) throws(PromQLError) -> [Series] {
        try checkNow()
        do {
            let q = try storage.querier(mint: mint, maxt: maxt)
            return try q.select(matchers)
        } catch let e as PromQLError {
            throw e
        } catch {
            throw PromQLError(.internal, "\(error)")
        }
    }

    // MARK: eval

    /// Evaluates `e` and accounts for memory the way Prometheus does: while a node runs, its
    /// inputs and what it builds count towards `max_samples`; once it is done, its inputs are
    /// released and only its result stays counted. Generated values (`vector(1)`, numbers,
    /// `time()`) count like loaded ones, so they cannot grow without bound either.
    func eval(_ e: Expr, _ ctx: Ctx) throws(PromQLError) -> Val {
        let before = samples
        let v = try evalNode(e, ctx)
        samples = before
        try addSamples(Self.sampleCount(v, ctx))
        return v
    }

    func evalNode(_ e: Expr, _ ctx: Ctx) throws(PromQLError) -> Val {
        try checkNow()
        switch e {
        case .number(let v):
            try addSamples(ctx.n)
            return .scalar([Double](repeating: v, count: ctx.n))
        case .string(let s): return .string(s)
        case .paren(let x): return try eval(x, ctx)
        case .vectorSelector(let vs): return .vector(try evalVectorSelector(vs, ctx, timestamps: false))
        case .matrixSelector, .subquery:
            let ra = try evalRange(e, ctx)
            guard ctx.n == 1 else {
                throw PromQLError(.badData, "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
            }
            var out: [RangeSeries] = []
            let ref = ra.refs[0]
            for s in ra.series {
                let w = s.samples.filter { $0.t >= satSub(ref, ra.range) && $0.t <= ref }
                if !w.isEmpty { out.append(RangeSeries(labels: s.labels, samples: w)) }
            }
            return .matrix(out)
        case .unary(let op, let x):
            let v = try eval(x, ctx)
            if op == .add { return v }
            switch v {
            case .scalar(let s): return .scalar(s.map { -$0 })
            case .vector(let cols):
                var out = cols
                for k in out.indices {
                    out[k].labels = out[k].labels.withoutMetricName
                    for i in out[k].vals.indices where !isAbsent(out[k].vals[i]) { out[k].vals[i] = -out[k].vals[i] }
                }
                return .vector(try mergeSameLabels(out, anyOverlapIsError: true))
            default: throw PromQLError(.execution, "unary expression only allowed on expressions of type scalar or instant vector")
            }
        case .binary(let b): return try evalBinary(b, ctx)
        case .aggregate(let a): return try evalAggregate(a, ctx)
        case .call(let c): return try evalCall(c, ctx)
        }
    }

    func evalVectorSelector(_ vs: VectorSelector, _ ctx: Ctx, timestamps: Bool) throws(PromQLError) -> [Col] {
        let r = refs(vs.at, vs.offset, ctx)
        let lookback = options.lookbackDelta
        let series = try select(vs.matchers, satSub(r.first!, lookback), r.last!)
        let n = ctx.n
        // Each selected series may get a slot per step: refuse before allocating them. (Series
        // without a sample in the range are dropped below and their count released.)
        let (upper, o) = series.count.multipliedReportingOverflow(by: n)
        if o { throw Self.tooManySamples }
        try addSamples(upper)
        samples -= upper
        // Each series on its own: all cores share them in contiguous runs.
        let cols = try parallel(series.count, minPerWorker: Swift.max(64, 20_000 / n)) { k throws(PromQLError) -> Col? in
            var vals = [Double](repeating: absentValue, count: n)
            var any = false
            series[k].samples.withUnsafeBufferPointer { smp in
                var j = -1  // index of the last sample with t <= ref
                let cnt = smp.count
                for i in 0..<n {
                    let ref = r[i]
                    while j + 1 < cnt && smp[j + 1].t <= ref { j += 1 }
                    if j < 0 { continue }
                    let sm = smp[j]
                    if sm.t < satSub(ref, lookback) || StaleNaN.isStale(sm.v) { continue }
                    vals[i] = timestamps ? Double(sm.t) / 1000 : sm.v
                    any = true
                }
            }
            return any ? Col(labels: series[k].labels, vals: vals) : nil
        }
        let out = cols.compactMap { $0 }
        try addSamples(out.count * n)
        return out
    }

    /// A range selector or subquery as the input of a function, for every step of `ctx`.
    func evalRange(_ e: Expr, _ ctx: Ctx) throws(PromQLError) -> RangeArg {
        switch e {
        case .paren(let x): return try evalRange(x, ctx)
        case .matrixSelector(let vs, let range):
            let r = refs(vs.at, vs.offset, ctx)
            let series = try select(vs.matchers, satSub(r.first!, range), r.last!)
            // Stale markers are not samples of a range: a pass over every sample, on all cores.
            let out = try parallel(series.count, minPerWorker: 256) { i throws(PromQLError) in
                let s = series[i]
                if s.samples.contains(where: { StaleNaN.isStale($0.v) }) {
                    return RangeSeries(labels: s.labels, samples: s.samples.filter { !StaleNaN.isStale($0.v) })
                }
                return RangeSeries(labels: s.labels, samples: s.samples)
            }
            // Like Prometheus, count what a step holds in memory (each series' largest window)
            // rather than everything the selector loaded.
            var total = 0
            for s in out { total += s.samples.count }
            // The exact per-window peak costs a pass over every sample; it only matters when
            // even the (larger) total could break the limit.
            var peak = 0
            for s in out where samples + total > options.maxSamples {
                var lo = 0, widest = 0
                for (hi, x) in s.samples.enumerated() {
                    while s.samples[lo].t < satSub(x.t, range) { lo += 1 }
                    widest = Swift.max(widest, hi - lo + 1)
                }
                peak += widest
            }
            try addSamples(peak)
            return RangeArg(series: out, range: range, refs: r, selector: vs)
        case .subquery(let sq):
            let r = refs(sq.at, sq.offset, ctx)
            let interval = sq.step != 0 ? sq.step : options.defaultEvaluationInterval
            let lo = satSub(r.first!, sq.range)
            var start = interval * (lo / interval)
            if start < lo { start = TimeMath.adding(start, interval) }
            let end = r.last!
            var out: [RangeSeries] = []
            if start <= end {
                // Any inner result but an empty vector holds a value per step (a scalar, or each
                // series): bound the step count by what is left of the budget before anything
                // allocates per-step arrays for it.
                guard let steps = TimeMath.steps(start: start, end: end, step: interval,
                                                 limit: Int64(Swift.max(0, options.maxSamples - samples)))
                else { throw Self.tooManySamples }
                let inner = Ctx(start: start, end: end, interval: interval)
                let v = try eval(sq.expr, inner)
                // The inner result stays in memory while its points are copied out: count both.
                switch v {
                case .vector(let cols):
                    var points = 0
                    for c in cols { for x in c.vals where !isAbsent(x) { points &+= 1 } }
                    try addSamples(points)
                    for c in cols {
                        var smp: [Sample] = []
                        for i in 0..<inner.n where !isAbsent(c.vals[i]) { smp.append(Sample(t: inner.t(i), v: c.vals[i])) }
                        if !smp.isEmpty { out.append(RangeSeries(labels: c.labels, samples: smp)) }
                    }
                case .scalar(let s):
                    try addSamples(Int(steps))
                    out.append(RangeSeries(labels: Labels(), samples: (0..<inner.n).map { Sample(t: inner.t($0), v: s[$0]) }))
                default:
                    throw PromQLError(.execution, "subquery is only allowed on instant vector")
                }
            }
            return RangeArg(series: out, range: sq.range, refs: r, selector: nil)
        default:
            throw PromQLError(.execution, "expected range vector, got \(e.type.rawValue)")
        }
    }

    func evalScalar(_ e: Expr, _ ctx: Ctx) throws(PromQLError) -> [Double] {
        guard case .scalar(let s) = try eval(e, ctx) else { throw PromQLError(.execution, "expected scalar") }
        return s
    }

    func evalVector(_ e: Expr, _ ctx: Ctx) throws(PromQLError) -> [Col] {
        guard case .vector(let v) = try eval(e, ctx) else { throw PromQLError(.execution, "expected instant vector") }
        return v
    }

    /// Joins columns with equal label sets (e.g. after dropping `__name__`). Two of them with a
    /// value at the same step is Prometheus' "same labelset" error; `anyOverlapIsError` makes any
    /// two non-empty columns with equal labels an error, as Prometheus checks whole matrices there.
    func mergeSameLabels(_ cols: [Col], anyOverlapIsError: Bool) throws(PromQLError) -> [Col] {
        if cols.count < 2 { return cols }
        var index: [Labels: Int] = [:]
        index.reserveCapacity(cols.count)
        var out: [Col] = []
        out.reserveCapacity(cols.count)
        for c in cols {
            if let k = index[c.labels] {
                if anyOverlapIsError { throw PromQLError(.execution, "vector cannot contain metrics with the same labelset") }
                for i in c.vals.indices where !isAbsent(c.vals[i]) {
                    if !isAbsent(out[k].vals[i]) {
                        throw PromQLError(.execution, "vector cannot contain metrics with the same labelset")
                    }
                    out[k].vals[i] = c.vals[i]
                }
            } else {
                index[c.labels] = out.count
                out.append(c)
            }
        }
        return out
    }
}
