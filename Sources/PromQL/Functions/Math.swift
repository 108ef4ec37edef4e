// Functions applied to each value of an instant vector on its own. The result drops the metric
// name (the value is no longer that metric's) and keeps the argument's series order.

/// A registry `eval` applying `f` to every value of the only argument.
func elementwise(_ f: @escaping @Sendable (Double) -> Double) -> FunctionEval {
    { ev, c, ctx throws(PromQLError) in try ev.evalElementwise(c, ctx, f) }
}

/// A registry `eval` applying `f(value, a, b)` to every value of the first argument, where `a` and
/// `b` are the scalar arguments at that step (`a` is 1 when omitted, `b` 0); nil drops the value.
func elementwiseWithScalars(_ f: @escaping @Sendable (_ x: Double, _ a: Double, _ b: Double) -> Double?) -> FunctionEval {
    { ev, c, ctx throws(PromQLError) in try ev.evalElementwiseWithScalars(c, ctx, f) }
}

extension Evaluator {
    func evalElementwise(_ c: Call, _ ctx: Ctx, _ f: (Double) -> Double) throws(PromQLError) -> Val {
        let n = ctx.n
        let v = try evalVector(c.args[0], ctx)
        var out: [Col] = []
        out.reserveCapacity(v.count)
        for col in v {
            try tick(n)
            var vals = col.vals
            for i in 0..<n where !isAbsent(vals[i]) { vals[i] = f(vals[i]) }
            out.append(Col(labels: col.labels.withoutMetricName, vals: vals))
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }

    func evalElementwiseWithScalars(_ c: Call, _ ctx: Ctx, _ f: (Double, Double, Double) -> Double?) throws(PromQLError) -> Val {
        let n = ctx.n
        let v = try evalVector(c.args[0], ctx)
        let a1 = c.args.count > 1 ? try evalScalar(c.args[1], ctx) : [Double](repeating: 1, count: n)
        let a2 = c.args.count > 2 ? try evalScalar(c.args[2], ctx) : []
        var out: [Col] = []
        for col in v {
            var vals = col.vals
            var any = false
            for i in 0..<n where !isAbsent(vals[i]) {
                guard let y = f(vals[i], a1[i], a2.isEmpty ? 0 : a2[i]) else { vals[i] = absentValue; continue }
                vals[i] = y
                any = true
            }
            if any { out.append(Col(labels: col.labels.withoutMetricName, vals: vals)) }
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }
}
