#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Every PromQL function, named once (as Prometheus' `FunctionCalls` in promql/functions.go): its
// signature for the parser and type checker, how an instant query orders its result, and how it
// is evaluated. Nothing else maps a function's name to behaviour.

/// Evaluates one call at every step of `ctx`; the arguments are already type-checked.
typealias FunctionEval = @Sendable (Evaluator, Call, Ctx) throws(PromQLError) -> Val

/// The order an instant query returns a call's result in. Results the evaluator did not put in a
/// meaningful order are sorted by labels; Prometheus keeps `sort`'s order and what follows from it.
enum ResultOrder: Sendable {
    /// The function orders its result itself (`sort`, `sort_desc`).
    case always
    /// Series come out in the order of the first argument, so it is kept when that one was.
    case ofFirstArgument
    /// No order of its own: sorted by labels.
    case never
}

struct FunctionDef: Sendable {
    let args: [ValueType]
    /// 0: fixed arity; k > 0: the last argument may be omitted or repeated up to k times; -1: unbounded.
    let variadic: Int
    let returns: ValueType
    let keepsOrder: ResultOrder
    let eval: FunctionEval

    init(args: [ValueType], variadic: Int = 0, returns: ValueType, keepsOrder: ResultOrder, eval: @escaping FunctionEval) {
        self.args = args
        self.variadic = variadic
        self.returns = returns
        self.keepsOrder = keepsOrder
        self.eval = eval
    }
}

let functions: [String: FunctionDef] = [
    // Elementwise math; the metric name is dropped.
    "abs": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { Swift.abs($0) }),
    "ceil": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { $0.rounded(.up) }),
    "floor": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument,
                         eval: elementwise { $0.rounded(.down) }),
    "exp": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { exp($0) }),
    "sqrt": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { $0.squareRoot() }),
    "ln": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { goLog($0) }),
    "log2": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { goLog2($0) }),
    "log10": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { goLog10($0) }),
    "sin": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { sin($0) }),
    "cos": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { cos($0) }),
    "tan": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { tan($0) }),
    "asin": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { asin($0) }),
    "acos": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { acos($0) }),
    "atan": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { atan($0) }),
    "sinh": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { sinh($0) }),
    "cosh": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { cosh($0) }),
    "tanh": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { tanh($0) }),
    "asinh": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { asinh($0) }),
    "acosh": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { acosh($0) }),
    "atanh": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument, eval: elementwise { atanh($0) }),
    "deg": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument,
                       eval: elementwise { $0 * 180 / Double.pi }),
    "rad": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument,
                       eval: elementwise { $0 * Double.pi / 180 }),
    "sgn": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument,
                       eval: elementwise { $0 < 0 ? -1 : ($0 > 0 ? 1 : $0) }),
    "clamp": FunctionDef(args: [.vector, .scalar, .scalar], returns: .vector, keepsOrder: .ofFirstArgument,
                         eval: elementwiseWithScalars { x, lo, hi in hi < lo ? nil : goMax(lo, goMin(hi, x)) }),
    "clamp_min": FunctionDef(args: [.vector, .scalar], returns: .vector, keepsOrder: .ofFirstArgument,
                             eval: elementwiseWithScalars { x, lo, _ in goMax(lo, x) }),
    "clamp_max": FunctionDef(args: [.vector, .scalar], returns: .vector, keepsOrder: .ofFirstArgument,
                             eval: elementwiseWithScalars { x, hi, _ in goMin(hi, x) }),
    // The omitted `to_nearest` is 1.
    "round": FunctionDef(args: [.vector, .scalar], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                         eval: elementwiseWithScalars { x, toNearest, _ in
                             let inv = 1.0 / toNearest
                             return (x * inv + 0.5).rounded(.down) / inv
                         }),
    "pi": FunctionDef(args: [], returns: .scalar, keepsOrder: .never,
                      eval: { _, _, ctx in .scalar([Double](repeating: Double.pi, count: ctx.n)) }),

    // Range vectors: one value per window (Range.swift).
    "rate": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.rate)),
    "irate": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.irate)),
    "increase": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.increase)),
    "delta": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.delta)),
    "idelta": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.idelta)),
    "deriv": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.deriv)),
    "resets": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.resets)),
    "changes": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.changes)),
    "avg_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.avg_over_time)),
    "min_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.min_over_time)),
    "max_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.max_over_time)),
    "sum_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.sum_over_time)),
    "count_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.count_over_time)),
    "stddev_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.stddev_over_time)),
    "stdvar_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.stdvar_over_time)),
    "last_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.last_over_time)),
    "present_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.present_over_time)),
    "absent_over_time": FunctionDef(args: [.matrix], returns: .vector, keepsOrder: .never, eval: overRange(.absent_over_time)),
    "quantile_over_time": FunctionDef(args: [.scalar, .matrix], returns: .vector, keepsOrder: .never,
                                      eval: overRange(.quantile_over_time)),
    "predict_linear": FunctionDef(args: [.matrix, .scalar], returns: .vector, keepsOrder: .never,
                                  eval: overRange(.predict_linear)),
    "holt_winters": FunctionDef(args: [.matrix, .scalar, .scalar], returns: .vector, keepsOrder: .never,
                                eval: overRange(.holt_winters)),

    // Time (Time.swift). The date functions take `time()` when the argument is omitted.
    "time": FunctionDef(args: [], returns: .scalar, keepsOrder: .never,
                        eval: { ev, c, ctx throws(PromQLError) in try ev.evalTime(c, ctx) }),
    "timestamp": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .ofFirstArgument,
                             eval: { ev, c, ctx throws(PromQLError) in try ev.evalTimestamp(c, ctx) }),
    "day_of_month": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                                eval: date { Double($0.day) }),
    "day_of_week": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                               eval: date { Double($0.weekday) }),
    "day_of_year": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                               eval: date { Double($0.yday) }),
    "days_in_month": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                                 eval: date { Double(daysIn(month: $0.month, year: $0.year)) }),
    "hour": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                        eval: date { Double($0.hour) }),
    "minute": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                          eval: date { Double($0.minute) }),
    "month": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                         eval: date { Double($0.month) }),
    "year": FunctionDef(args: [.vector], variadic: 1, returns: .vector, keepsOrder: .ofFirstArgument,
                        eval: date { Double($0.year) }),

    // Labels (Label.swift): values and order unchanged.
    "label_replace": FunctionDef(args: [.vector, .string, .string, .string, .string], returns: .vector,
                                 keepsOrder: .ofFirstArgument,
                                 eval: { ev, c, ctx throws(PromQLError) in try ev.labelReplace(c, ctx) }),
    "label_join": FunctionDef(args: [.vector, .string, .string, .string], variadic: -1, returns: .vector,
                              keepsOrder: .ofFirstArgument,
                              eval: { ev, c, ctx throws(PromQLError) in try ev.labelJoin(c, ctx) }),

    // Histograms (Histogram.swift).
    "histogram_quantile": FunctionDef(args: [.scalar, .vector], returns: .vector, keepsOrder: .never,
                                      eval: { ev, c, ctx throws(PromQLError) in try ev.histogramQuantile(c, ctx) }),
    "histogram_count": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .never,
                                   eval: { ev, c, ctx throws(PromQLError) in try ev.nativeHistogramOnly(c, ctx) }),
    "histogram_sum": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .never,
                                 eval: { ev, c, ctx throws(PromQLError) in try ev.nativeHistogramOnly(c, ctx) }),
    "histogram_fraction": FunctionDef(args: [.scalar, .scalar, .vector], returns: .vector, keepsOrder: .never,
                                      eval: { ev, c, ctx throws(PromQLError) in try ev.nativeHistogramOnly(c, ctx) }),

    // Sorting, absence and conversions between scalar and vector.
    "sort": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .always,
                        eval: { ev, c, ctx throws(PromQLError) in try ev.evalSort(c, ctx, descending: false) }),
    "sort_desc": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .always,
                             eval: { ev, c, ctx throws(PromQLError) in try ev.evalSort(c, ctx, descending: true) }),
    "absent": FunctionDef(args: [.vector], returns: .vector, keepsOrder: .never,
                          eval: { ev, c, ctx throws(PromQLError) in try ev.evalAbsent(c, ctx) }),
    "scalar": FunctionDef(args: [.vector], returns: .scalar, keepsOrder: .never,
                          eval: { ev, c, ctx throws(PromQLError) in try ev.evalScalarOf(c, ctx) }),
    "vector": FunctionDef(args: [.scalar], returns: .vector, keepsOrder: .never,
                          eval: { ev, c, ctx throws(PromQLError) in try ev.evalVectorOf(c, ctx) }),
]

extension Evaluator {
    func evalCall(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        // The parser admits registered names only; a hand-built `Call` may name anything.
        guard let f = functions[c.function] else {
            throw PromQLError(.internal, "no implementation for function \(c.function)")
        }
        return try f.eval(self, c, ctx)
    }
}
