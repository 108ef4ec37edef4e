import Storage

// absent(); absent_over_time() shares its output labels (Range.swift).

extension Evaluator {
    /// 1 at the steps where the argument has no series, with the labels `absentLabels` gives.
    func evalAbsent(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        let n = ctx.n
        let v = try evalVector(c.args[0], ctx)
        var vals = [Double](repeating: 1, count: n)
        for col in v { for i in 0..<n where !isAbsent(col.vals[i]) { vals[i] = absentValue } }
        if vals.allSatisfy({ isAbsent($0) }) { return .vector([]) }
        return .vector([Col(labels: absentLabels(c.args[0]), vals: vals)])
    }
}

/// Labels of `absent()`'s output: the selector's equality matchers, except names matched twice.
func absentLabels(_ e: Expr) -> Labels {
    let vs: VectorSelector
    switch unwrapParens(e) {
    case .vectorSelector(let v): vs = v
    case .matrixSelector(let v, _): vs = v
    default: return Labels()
    }
    var has: Set<String> = []
    var l = Labels()
    for m in vs.matchers where m.name != Labels.metricName {
        if m.type == .equal && !has.contains(m.name) {
            l = l.setting(m.name, m.value)
            has.insert(m.name)
        } else {
            l = l.setting(m.name, "")
        }
    }
    return l
}
