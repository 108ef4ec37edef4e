import Storage

// histogram_quantile() over classic `le` buckets. Native histograms are not stored, so the
// functions that read only them find nothing.

extension Evaluator {
    func histogramQuantile(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        let q = try evalScalar(c.args[0], ctx)
        let v = try evalVector(c.args[1], ctx)
        let n = ctx.n
        var index: [Labels: Int] = [:]
        var outLabels: [Labels] = []
        var members: [[(ub: Double, col: Int)]] = []
        for (k, col) in v.enumerated() {
            guard let leStr = col.labels["le"], let ub = parseGoFloat(leStr) else { continue }
            let key = col.labels.removing(["le"])
            if let g = index[key] {
                members[g].append((ub, k))
            } else {
                index[key] = outLabels.count
                outLabels.append(key.withoutMetricName)
                members.append([(ub, k)])
            }
        }
        var out: [Col] = []
        var buckets: [(ub: Double, count: Double)] = []
        for g in 0..<outLabels.count {
            try tick(n * members[g].count)
            var vals = [Double](repeating: absentValue, count: n)
            var any = false
            for i in 0..<n {
                buckets.removeAll(keepingCapacity: true)
                for m in members[g] where !isAbsent(v[m.col].vals[i]) { buckets.append((m.ub, v[m.col].vals[i])) }
                if buckets.isEmpty { continue }
                vals[i] = bucketQuantile(q[i], &buckets)
                any = true
            }
            if any { out.append(Col(labels: outLabels[g], vals: vals)) }
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }

    /// histogram_count, histogram_sum, histogram_fraction: classic float series have no native
    /// histogram value. The arguments are still evaluated, for their errors and limits.
    func nativeHistogramOnly(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        for a in c.args { _ = try eval(a, ctx) }
        return .vector([])
    }
}

func bucketQuantile(_ q: Double, _ b: inout [(ub: Double, count: Double)]) -> Double {
    if q.isNaN { return .nan }
    if q < 0 { return -.infinity }
    if q > 1 { return .infinity }
    b.sort { $0.ub < $1.ub }
    if b[b.count - 1].ub != .infinity { return .nan }
    // Coalesce equal upper bounds.
    var k = 0
    for j in 1..<b.count {
        if b[j].ub == b[k].ub { b[k].count += b[j].count } else { k += 1; b[k] = b[j] }
    }
    b.removeSubrange((k + 1)...)
    // Make counts monotonic.
    var maxc = -Double.infinity
    for j in b.indices {
        if b[j].count > maxc { maxc = b[j].count } else if b[j].count < maxc { b[j].count = maxc }
    }
    if b.count < 2 { return .nan }
    let observations = b[b.count - 1].count
    if observations == 0 { return .nan }
    var rank = q * observations
    // sort.Search over the first len-1 buckets.
    var lo = 0, hi = b.count - 1
    while lo < hi {
        let mid = (lo + hi) / 2
        if !(b[mid].count >= rank) { lo = mid + 1 } else { hi = mid }
    }
    let idx = lo
    if idx == b.count - 1 { return b[b.count - 2].ub }
    if idx == 0 && b[0].ub <= 0 { return b[0].ub }
    var start = 0.0
    let end = b[idx].ub
    var count = b[idx].count
    if idx > 0 {
        start = b[idx - 1].ub
        count -= b[idx - 1].count
        rank -= b[idx - 1].count
    }
    return start + (end - start) * (rank / count)
}
