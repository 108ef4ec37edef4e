import Storage

// vector() and scalar(): between a scalar and a one-series vector.

extension Evaluator {
    func evalVectorOf(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        let s = try evalScalar(c.args[0], ctx)
        return .vector([Col(labels: Labels(), vals: s)])
    }

    /// The only series' value at each step; NaN where there are none or several.
    func evalScalarOf(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        let n = ctx.n
        let v = try evalVector(c.args[0], ctx)
        var out = [Double](repeating: .nan, count: n)
        var cnt = [Int](repeating: 0, count: n)
        for col in v {
            for i in 0..<n where !isAbsent(col.vals[i]) { cnt[i] += 1; out[i] = col.vals[i] }
        }
        for i in 0..<n where cnt[i] != 1 { out[i] = .nan }
        return .scalar(out)
    }
}
