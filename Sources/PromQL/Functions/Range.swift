import Storage

// Functions of range vectors (`rate(x[5m])`, `*_over_time`): each series' windows, one per step,
// reduced to a value by a per-window kernel. The registry picks the kernel (a `RangeFunction`) once
// per call; the loop over windows switches on it, so it calls no closure and allocates nothing per
// window (quantile_over_time reuses one buffer).

/// The per-window kernels. The registry names the functions; these only select a kernel.
enum RangeFunction: Sendable {
    case rate, irate, increase, delta, idelta, deriv, predict_linear, holt_winters, resets, changes
    case avg_over_time, sum_over_time, count_over_time, min_over_time, max_over_time, stddev_over_time, stdvar_over_time
    case last_over_time, present_over_time, quantile_over_time, absent_over_time
}

/// A registry `eval` for a range-vector function.
func overRange(_ fn: RangeFunction) -> FunctionEval {
    { ev, c, ctx throws(PromQLError) in .vector(try ev.rangeFunction(c, ctx, fn)) }
}

extension Evaluator {
    func rangeFunction(_ c: Call, _ ctx: Ctx, _ fn: RangeFunction) throws(PromQLError) -> [Col] {
        let n = ctx.n
        let matrixIdx = fn == .quantile_over_time ? 1 : 0
        var scalars: [[Double]] = []
        for (i, a) in c.args.enumerated() where i != matrixIdx { scalars.append(try evalScalar(a, ctx)) }
        var ra = try evalRange(c.args[matrixIdx], ctx)
        if fn == .predict_linear, let vs = ra.selector, vs.at != nil, ctx.n > 1 {
            // Prometheus 2.42 does not treat predict_linear as step-invariant: an @-pinned range
            // is turned into an offset from the query start, so the window slides with the step
            // while only the pinned range's samples were loaded.
            let pin = ra.refs[0]
            ra.series = ra.series.map { s in
                RangeSeries(labels: s.labels, samples: s.samples.filter { $0.t >= satSub(pin, ra.range) && $0.t <= pin })
            }
            ra.refs = (0..<n).map { satSub(pin, ctx.start - ctx.t($0)) }
        }
        let range = ra.range
        let keepName = fn == .last_over_time
        // Series are independent: each core takes a contiguous run of them.
        let refs = ra.refs, series = ra.series, args = scalars, stop = self.stop
        let cols = try parallel(series.count, minPerWorker: Swift.max(1, 20_000 / Swift.max(1, n))) { k throws(PromQLError) -> Col? in
            let s = series[k]
            guard let vals = try rangeKernel(fn, s.samples, refs: refs, range: range, scalars: args, ctx: ctx, stop: stop) else { return nil }
            return Col(labels: keepName ? s.labels : s.labels.withoutMetricName, vals: vals)
        }
        if fn == .absent_over_time {
            // A step is covered when any series has a sample in its window.
            var anyWindow = [Bool](repeating: false, count: n)
            for s in series {
                s.samples.withUnsafeBufferPointer { smp in
                    var hi = 0
                    for i in 0..<n {
                        if i > 0 && refs[i] < refs[i - 1] { hi = 0 }
                        while hi < smp.count && smp[hi].t <= refs[i] { hi += 1 }
                        if hi > 0 && smp[hi - 1].t >= satSub(refs[i], range) { anyWindow[i] = true }
                    }
                }
            }
            if anyWindow.allSatisfy({ $0 }) { return [] }
            return [Col(labels: absentLabels(c.args[0]), vals: anyWindow.map { $0 ? absentValue : 1 })]
        }
        return try mergeSameLabels(cols.compactMap { $0 }, anyOverlapIsError: true)
    }
}

/// One series of a range-vector function at every step: the value per step (absent where the
/// window is empty or the function gives nothing), or nil when no step has a value.
func rangeKernel(_ fn: RangeFunction, _ samples: [Sample], refs: [Int64], range: Int64, scalars: [[Double]], ctx: Ctx,
                 stop: StopCheck? = nil) throws(PromQLError) -> [Double]? {
    let n = refs.count
    var vals = [Double](repeating: absentValue, count: n)
    var any = false
    var qbuf: [Double] = []
    try samples.withUnsafeBufferPointer { smp throws(PromQLError) in
        var lo = 0, hi = 0
        let cnt = smp.count
        // Counters rarely reset: one pass over the series spares rate and increase a pass over
        // every window (windows overlap, so that is many passes over each sample).
        var mayReset = true
        if fn == .rate || fn == .increase {
            mayReset = false
            var prev = 0.0
            for x in smp {
                if x.v < prev { mayReset = true; break }
                prev = x.v
            }
        }
        // Windows overlap: one series can cost steps × window size (a day of 1 s subquery points
        // at every step), so deadline and cancellation are checked by work done, not per series.
        var work = 0
        for i in 0..<n {
            let ref = refs[i]
            let mint = satSub(ref, range)
            if i > 0 && ref < refs[i - 1] { lo = 0; hi = 0 }
            while hi < cnt && smp[hi].t <= ref { hi += 1 }
            while lo < hi && smp[lo].t < mint { lo += 1 }
            work &+= hi - lo + 1
            if work >= 1 << 20, let stop {
                work = 0
                try stop.check()
            }
            if lo >= hi { continue }
            let w = UnsafeBufferPointer(rebasing: smp[lo..<hi])
            var r: Double?
            switch fn {
            case .rate, .increase, .delta:
                r = extrapolatedRate(w, rangeStart: mint, rangeEnd: ref, range: range,
                                     isCounter: fn != .delta, isRate: fn == .rate, mayReset: mayReset)
            case .irate: r = instantValue(w, isRate: true)
            case .idelta: r = instantValue(w, isRate: false)
            case .deriv:
                if w.count >= 2 { r = linearRegression(w, interceptTime: w[0].t).slope }
            case .predict_linear:
                if w.count >= 2 {
                    let (slope, intercept) = linearRegression(w, interceptTime: ctx.t(i))
                    r = slope * scalars[0][i] + intercept
                }
            case .holt_winters:
                r = try holtWinters(w, scalars[0][i], scalars[1][i])
            case .resets:
                var resets = 0
                var prev = w[0].v
                for x in w.dropFirst() { if x.v < prev { resets += 1 }; prev = x.v }
                r = Double(resets)
            case .changes:
                var changes = 0
                var prev = w[0].v
                for x in w.dropFirst() {
                    if x.v != prev && !(x.v.isNaN && prev.isNaN) { changes += 1 }
                    prev = x.v
                }
                r = Double(changes)
            case .avg_over_time:
                var mean = 0.0, count = 0.0, comp = 0.0
                for x in w {
                    count += 1
                    if mean.isInfinite {
                        if x.v.isInfinite && (mean > 0) == (x.v > 0) { continue }
                        if !x.v.isInfinite && !x.v.isNaN { continue }
                    }
                    (mean, comp) = kahanSumInc(x.v / count - mean / count, mean, comp)
                }
                r = mean.isInfinite ? mean : mean + comp
            case .sum_over_time:
                var sum = 0.0, comp = 0.0
                for x in w { (sum, comp) = kahanSumInc(x.v, sum, comp) }
                r = sum.isInfinite ? sum : sum + comp
            case .count_over_time: r = Double(w.count)
            case .min_over_time:
                var m = w[0].v
                for x in w where x.v < m || m.isNaN { m = x.v }
                r = m
            case .max_over_time:
                var m = w[0].v
                for x in w where x.v > m || m.isNaN { m = x.v }
                r = m
            case .stddev_over_time, .stdvar_over_time:
                var count = 0.0, mean = 0.0, cMean = 0.0, aux = 0.0, cAux = 0.0
                for x in w {
                    count += 1
                    let delta = x.v - (mean + cMean)
                    (mean, cMean) = kahanSumInc(delta / count, mean, cMean)
                    (aux, cAux) = kahanSumInc(delta * (x.v - (mean + cMean)), aux, cAux)
                }
                let variance = (aux + cAux) / count
                r = fn == .stddev_over_time ? variance.squareRoot() : variance
            case .last_over_time: r = w[w.count - 1].v
            case .present_over_time: r = 1
            case .quantile_over_time:
                qbuf.removeAll(keepingCapacity: true)
                for x in w { qbuf.append(x.v) }
                r = quantileOf(scalars[0][i], &qbuf)
            case .absent_over_time: r = nil
            }
            if let r { vals[i] = r; any = true }
        }
    }
    return any ? vals : nil
}
