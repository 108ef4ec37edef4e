import Storage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Go's math.Max/Min: NaN wins, unlike Swift's IEEE maxNum/minNum.
@inline(__always) func goMax(_ a: Double, _ b: Double) -> Double {
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return a.sign == .plus ? a : b }
    return a > b ? a : b
}

@inline(__always) func goMin(_ a: Double, _ b: Double) -> Double {
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return a.sign == .minus ? a : b }
    return a < b ? a : b
}

/// Prometheus' vectorElemBinop: the value and whether a comparison keeps the element.
@inline(__always) func elemBinop(_ op: BinaryOp, _ l: Double, _ r: Double) -> (Double, Bool) {
    switch op {
    case .add: return (l + r, true)
    case .sub: return (l - r, true)
    case .mul: return (l * r, true)
    case .div: return (l / r, true)
    case .pow: return (goPow(l, r), true)
    case .mod: return (goMod(l, r), true)
    case .atan2: return (atan2(l, r), true)
    case .eql: return (l, l == r)
    case .neq: return (l, l != r)
    case .gtr: return (l, l > r)
    case .lss: return (l, l < r)
    case .gte: return (l, l >= r)
    case .lte: return (l, l <= r)
    case .land, .lor, .lunless: return (l, true)
    }
}

func goMod(_ x: Double, _ y: Double) -> Double {
    if y == 0 || x.isInfinite || x.isNaN || y.isNaN { return .nan }
    return fmod(x, y)
}

func goPow(_ x: Double, _ y: Double) -> Double {
    // C pow and Go math.Pow agree on the special cases PromQL can reach, except pow(-1, ±Inf).
    if x == -1 && y.isInfinite { return 1 }
    return pow(x, y)
}

extension BinaryOp {
    /// Prometheus' shouldDropMetricName: arithmetic drops `__name__`, but not atan2 or comparisons.
    var dropsMetricName: Bool {
        switch self {
        case .add, .sub, .mul, .div, .mod, .pow: return true
        default: return false
        }
    }
}

extension Evaluator {
    func evalBinary(_ b: BinaryExpr, _ ctx: Ctx) throws(PromQLError) -> Val {
        let lv = try eval(b.lhs, ctx)
        let rv = try eval(b.rhs, ctx)
        switch (lv, rv) {
        case (.scalar(let l), .scalar(let r)):
            var out = [Double](repeating: 0, count: ctx.n)
            for i in 0..<ctx.n {
                let (v, keep) = elemBinop(b.op, l[i], r[i])
                out[i] = b.op.isComparison ? (keep ? 1 : 0) : v
            }
            return .scalar(out)
        case (.vector(let l), .scalar(let r)):
            return .vector(try vectorScalar(b, l, r, swap: false))
        case (.scalar(let l), .vector(let r)):
            return .vector(try vectorScalar(b, r, l, swap: true))
        case (.vector(let l), .vector(let r)):
            let m = b.matching ?? VectorMatching(card: b.op.isSetOperator ? .manyToMany : .oneToOne)
            switch b.op {
            case .land, .lunless: return .vector(try andUnless(l, r, m, ctx, isAnd: b.op == .land))
            case .lor: return .vector(try or(l, r, m, ctx))
            default: return .vector(try vectorVector(b, l, r, m, ctx))
            }
        default:
            throw PromQLError(.execution, "binary expression must contain only scalar and instant vector types")
        }
    }

    func vectorScalar(_ b: BinaryExpr, _ vec: [Col], _ s: [Double], swap: Bool) throws(PromQLError) -> [Col] {
        let dropName = b.op.dropsMetricName || b.returnBool
        var out: [Col] = []
        out.reserveCapacity(vec.count)
        for c in vec {
            try tick(c.vals.count)
            var vals = c.vals
            var any = false
            for i in vals.indices {
                let x = vals[i]
                if isAbsent(x) { continue }
                let (l, r) = swap ? (s[i], x) : (x, s[i])
                var (v, keep) = elemBinop(b.op, l, r)
                if b.op.isComparison && swap { v = r }
                if b.returnBool { v = keep ? 1 : 0; keep = true }
                if keep { vals[i] = v; any = true } else { vals[i] = absentValue }
            }
            if any { out.append(Col(labels: dropName ? c.labels.withoutMetricName : c.labels, vals: vals)) }
        }
        return dropName ? try mergeSameLabels(out, anyOverlapIsError: false) : out
    }

    /// Matching signatures for every column of both sides, as small integers.
    func signatures(_ l: [Col], _ r: [Col], _ m: VectorMatching) -> ([Int], [Int], Int) {
        var ids: [Labels: Int] = [:]
        let names = Set(m.labels)
        func sig(_ x: Labels) -> Int {
            let key = m.on ? x.keeping(names) : x.removing(names.union([Labels.metricName]))
            if let id = ids[key] { return id }
            let id = ids.count
            ids[key] = id
            return id
        }
        let ls = l.map { sig($0.labels) }
        let rs = r.map { sig($0.labels) }
        return (ls, rs, ids.count)
    }

    func andUnless(_ l: [Col], _ r: [Col], _ m: VectorMatching, _ ctx: Ctx, isAnd: Bool) throws(PromQLError) -> [Col] {
        let (ls, rs, nsig) = signatures(l, r, m)
        let n = ctx.n
        // present[sig * n + step]: some right-hand series with that signature has a value.
        var present = [Bool](repeating: false, count: nsig * n)
        for (k, c) in r.enumerated() {
            try tick(n)
            for i in 0..<n where !isAbsent(c.vals[i]) { present[rs[k] * n + i] = true }
        }
        var out: [Col] = []
        for (k, c) in l.enumerated() {
            var vals = c.vals
            var any = false
            for i in 0..<n where !isAbsent(vals[i]) {
                if present[ls[k] * n + i] != isAnd { vals[i] = absentValue } else { any = true }
            }
            if any { out.append(Col(labels: c.labels, vals: vals)) }
        }
        return out
    }

    func or(_ l: [Col], _ r: [Col], _ m: VectorMatching, _ ctx: Ctx) throws(PromQLError) -> [Col] {
        let (ls, rs, nsig) = signatures(l, r, m)
        let n = ctx.n
        var present = [Bool](repeating: false, count: nsig * n)
        for (k, c) in l.enumerated() {
            try tick(n)
            for i in 0..<n where !isAbsent(c.vals[i]) { present[ls[k] * n + i] = true }
        }
        var out = l
        for (k, c) in r.enumerated() {
            var vals = c.vals
            var any = false
            for i in 0..<n where !isAbsent(vals[i]) {
                if present[rs[k] * n + i] { vals[i] = absentValue } else { any = true }
            }
            if any { out.append(Col(labels: c.labels, vals: vals)) }
        }
        return try mergeSameLabels(out, anyOverlapIsError: false)
    }

    func resultMetric(_ many: Labels, _ one: Labels, _ op: BinaryOp, _ m: VectorMatching, returnBool: Bool) -> Labels {
        var pairs = many.pairs
        if op.dropsMetricName || returnBool { pairs.removeAll { $0.name == Labels.metricName } }
        if m.card == .oneToOne {
            let names = Set(m.labels)
            if m.on { pairs.removeAll { !names.contains($0.name) } } else { pairs.removeAll { names.contains($0.name) } }
        }
        var res = Labels(sortedUnchecked: pairs)
        for name in m.include {
            res = res.setting(name, one[name] ?? "")
        }
        return res
    }

    func vectorVector(_ b: BinaryExpr, _ lhs: [Col], _ rhs: [Col], _ m: VectorMatching, _ ctx: Ctx) throws(PromQLError) -> [Col] {
        let swapped = m.card == .oneToMany
        let many = swapped ? rhs : lhs
        let one = swapped ? lhs : rhs
        let (ms, os, nsig) = signatures(many, one, m)
        let n = ctx.n
        var outIndex: [Labels: Int] = [:]
        var out: [Col] = []
        var pairCache: [Int: Int] = [:]
        var manyCache = [Int](repeating: -1, count: many.count)
        // Per step: which "one"-side column holds each signature, and which signatures matched.
        var oneAt = [Int](repeating: -1, count: nsig)
        var oneStamp = [Int](repeating: -1, count: nsig)
        var matchedStamp = [Int](repeating: -1, count: nsig)
        var outStamp: [Int] = []
        // Columns with a value at step i, to avoid scanning absent columns per step.
        for i in 0..<n {
            try tick(many.count + one.count)
            // Prometheus short-circuits when a side is empty: no match, so no matching errors either.
            if !one.contains(where: { !isAbsent($0.vals[i]) }) || !many.contains(where: { !isAbsent($0.vals[i]) }) { continue }
            for (k, c) in one.enumerated() where !isAbsent(c.vals[i]) {
                let s = os[k]
                if oneStamp[s] == i {
                    let side = swapped ? "left" : "right"
                    let matched = m.on ? c.labels.keeping(Set(m.labels)) : c.labels.removing(Set(m.labels).union([Labels.metricName]))
                    throw PromQLError(.execution, "found duplicate series for the match group \(goLabels(matched)) on the \(side) hand-side of the operation: [\(goLabels(c.labels)), \(goLabels(one[oneAt[s]].labels))];many-to-many matching not allowed: matching labels must be unique on one side")
                }
                oneStamp[s] = i
                oneAt[s] = k
            }
            for (k, c) in many.enumerated() {
                let mv = c.vals[i]
                if isAbsent(mv) { continue }
                let s = ms[k]
                guard oneStamp[s] == i else { continue }
                let ok = oneAt[s]
                let ov = one[ok].vals[i]
                let (vl, vr) = swapped ? (ov, mv) : (mv, ov)
                var (value, keep) = elemBinop(b.op, vl, vr)
                if b.returnBool {
                    value = keep ? 1 : 0
                } else if !keep {
                    continue
                }
                var oi: Int
                if m.include.isEmpty, manyCache[k] >= 0 {
                    oi = manyCache[k]
                } else if !m.include.isEmpty, let cached = pairCache[k &* one.count &+ ok] {
                    oi = cached
                } else {
                    let lbl = resultMetric(c.labels, one[ok].labels, b.op, m, returnBool: b.returnBool)
                    if let e = outIndex[lbl] {
                        oi = e
                    } else {
                        oi = out.count
                        outIndex[lbl] = oi
                        out.append(Col(labels: lbl, vals: [Double](repeating: absentValue, count: n)))
                        outStamp.append(-1)
                    }
                    if m.include.isEmpty { manyCache[k] = oi } else { pairCache[k &* one.count &+ ok] = oi }
                }
                if m.card == .oneToOne {
                    if matchedStamp[s] == i {
                        throw PromQLError(.execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                    }
                    matchedStamp[s] = i
                }
                if outStamp[oi] == i {
                    if m.card == .oneToOne {
                        throw PromQLError(.execution, "vector cannot contain metrics with the same labelset")
                    }
                    throw PromQLError(.execution, "multiple matches for labels: grouping labels must ensure unique results")
                }
                outStamp[oi] = i
                out[oi].vals[i] = value
            }
        }
        return out
    }
}

/// Go's `labels.Labels.String()`, which Prometheus' error messages print: every pair, the
/// metric name too, inside one pair of braces (`{__name__="x", a="1"}`).
func goLabels(_ l: Labels) -> String {
    "{" + l.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ", ") + "}"
}
