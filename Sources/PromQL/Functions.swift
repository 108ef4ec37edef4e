import Storage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct FunctionDef: Sendable {
    let args: [ValueType]
    /// 0: fixed arity; k > 0: the last argument may be omitted or repeated up to k times; -1: unbounded.
    let variadic: Int
    let returns: ValueType
}

let functions: [String: FunctionDef] = {
    var f: [String: FunctionDef] = [:]
    let v = ValueType.vector, m = ValueType.matrix, s = ValueType.scalar, str = ValueType.string
    for name in ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sin", "cos", "tan", "asin", "acos",
                 "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad", "sgn", "sort", "sort_desc",
                 "timestamp", "absent", "histogram_count", "histogram_sum"] {
        f[name] = FunctionDef(args: [v], variadic: 0, returns: v)
    }
    for name in ["rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes", "avg_over_time",
                 "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "stddev_over_time",
                 "stdvar_over_time", "last_over_time", "present_over_time", "absent_over_time"] {
        f[name] = FunctionDef(args: [m], variadic: 0, returns: v)
    }
    for name in ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"] {
        f[name] = FunctionDef(args: [v], variadic: 1, returns: v)
    }
    f["quantile_over_time"] = FunctionDef(args: [s, m], variadic: 0, returns: v)
    f["predict_linear"] = FunctionDef(args: [m, s], variadic: 0, returns: v)
    f["holt_winters"] = FunctionDef(args: [m, s, s], variadic: 0, returns: v)
    f["histogram_quantile"] = FunctionDef(args: [s, v], variadic: 0, returns: v)
    f["histogram_fraction"] = FunctionDef(args: [s, s, v], variadic: 0, returns: v)
    f["clamp"] = FunctionDef(args: [v, s, s], variadic: 0, returns: v)
    f["clamp_min"] = FunctionDef(args: [v, s], variadic: 0, returns: v)
    f["clamp_max"] = FunctionDef(args: [v, s], variadic: 0, returns: v)
    f["round"] = FunctionDef(args: [v, s], variadic: 1, returns: v)
    f["label_replace"] = FunctionDef(args: [v, str, str, str, str], variadic: 0, returns: v)
    f["label_join"] = FunctionDef(args: [v, str, str, str], variadic: -1, returns: v)
    f["scalar"] = FunctionDef(args: [v], variadic: 0, returns: s)
    f["vector"] = FunctionDef(args: [s], variadic: 0, returns: v)
    f["time"] = FunctionDef(args: [], variadic: 0, returns: s)
    f["pi"] = FunctionDef(args: [], variadic: 0, returns: s)
    return f
}()

private func unwrapParens(_ e: Expr) -> Expr {
    if case .paren(let x) = e { return unwrapParens(x) }
    return e
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

// MARK: range-vector function kernels (Prometheus functions.go semantics)

/// `mayReset: false` promises no sample in `s` is below its predecessor, which skips the
/// counter-reset scan without changing the result (the scan would add nothing).
func extrapolatedRate(_ s: UnsafeBufferPointer<Sample>, rangeStart: Int64, rangeEnd: Int64, range: Int64, isCounter: Bool, isRate: Bool,
                      mayReset: Bool = true) -> Double? {
    let cnt = s.count
    if cnt < 2 { return nil }
    let first = s[0], last = s[cnt - 1]
    var result = last.v - first.v
    if isCounter && mayReset {
        var lastValue = 0.0
        for x in s {
            if x.v < lastValue { result += lastValue }
            lastValue = x.v
        }
    }
    // Differences in Double: exact for any real timestamp, and no trap for saturated bounds.
    var durationToStart = (Double(first.t) - Double(rangeStart)) / 1000
    let durationToEnd = (Double(rangeEnd) - Double(last.t)) / 1000
    let sampledInterval = Double(last.t - first.t) / 1000
    let avgBetween = sampledInterval / Double(cnt - 1)
    if isCounter && result > 0 && first.v >= 0 {
        let durationToZero = sampledInterval * (first.v / result)
        if durationToZero < durationToStart { durationToStart = durationToZero }
    }
    let threshold = avgBetween * 1.1
    var extrapolateTo = sampledInterval
    extrapolateTo += durationToStart < threshold ? durationToStart : avgBetween / 2
    extrapolateTo += durationToEnd < threshold ? durationToEnd : avgBetween / 2
    var factor = extrapolateTo / sampledInterval
    if isRate { factor /= Double(range) / 1000 }
    return result * factor
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

/// Prometheus' double exponential smoothing; invalid factors fail the query when a window is
/// evaluated, as there.
func holtWinters(_ w: UnsafeBufferPointer<Sample>, _ sf: Double, _ tf: Double) throws(PromQLError) -> Double? {
    if sf <= 0 || sf >= 1 {
        throw PromQLError(.execution, "invalid smoothing factor. Expected: 0 < sf < 1, got: \(goFixed6(sf))")
    }
    if tf <= 0 || tf >= 1 {
        throw PromQLError(.execution, "invalid trend factor. Expected: 0 < tf < 1, got: \(goFixed6(tf))")
    }
    let l = w.count
    if l < 2 { return nil }
    var s0 = 0.0, s1 = w[0].v
    var b = w[1].v - w[0].v
    for i in 1..<l {
        let x = sf * w[i].v
        if i - 1 != 0 { b = tf * (s1 - s0) + (1 - tf) * b }
        let y = (1 - sf) * (s1 + b)
        s0 = s1
        s1 = x + y
    }
    return s1
}

func instantValue(_ s: UnsafeBufferPointer<Sample>, isRate: Bool) -> Double? {
    let cnt = s.count
    if cnt < 2 { return nil }
    let last = s[cnt - 1], prev = s[cnt - 2]
    var result: Double
    if isRate && last.v < prev.v { result = last.v } else { result = last.v - prev.v }
    let interval = last.t - prev.t
    if interval == 0 { return nil }
    if isRate { result /= Double(interval) / 1000 }
    return result
}

func linearRegression(_ s: UnsafeBufferPointer<Sample>, interceptTime: Int64) -> (slope: Double, intercept: Double) {
    var n = 0.0
    var sumX = 0.0, cX = 0.0, sumY = 0.0, cY = 0.0, sumXY = 0.0, cXY = 0.0, sumX2 = 0.0, cX2 = 0.0
    let initY = s[0].v
    var constY = true
    for (i, x) in s.enumerated() {
        if constY && i > 0 && x.v != initY { constY = false }
        n += 1
        let xv = (Double(x.t) - Double(interceptTime)) / 1e3
        (sumX, cX) = kahanSumInc(xv, sumX, cX)
        (sumY, cY) = kahanSumInc(x.v, sumY, cY)
        (sumXY, cXY) = kahanSumInc(xv * x.v, sumXY, cXY)
        (sumX2, cX2) = kahanSumInc(xv * xv, sumX2, cX2)
    }
    if constY {
        if initY.isInfinite { return (.nan, .nan) }
        return (0, initY)
    }
    sumX += cX
    sumY += cY
    sumXY += cXY
    sumX2 += cX2
    let covXY = sumXY - sumX * sumY / n
    let varX = sumX2 - sumX * sumX / n
    let slope = covXY / varX
    let intercept = sumY / n - slope * sumX / n
    return (slope, intercept)
}

@inline(__always) func kahanSumInc(_ inc: Double, _ sum: Double, _ c: Double) -> (Double, Double) {
    let t = sum + inc
    var c = c
    if Swift.abs(sum) >= Swift.abs(inc) { c += (sum - t) + inc } else { c += (inc - t) + sum }
    return (t, c)
}

// MARK: civil time (UTC), for the date functions

struct CivilDate { let year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, weekday: Int64, yday: Int64 }

func civil(_ secs: Int64) -> CivilDate {
    var days = secs / 86400
    var rem = secs % 86400
    if rem < 0 { rem += 86400; days -= 1 }
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let year = m <= 2 ? y + 1 : y
    var wd = (days + 4) % 7
    if wd < 0 { wd += 7 }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    let cum: [Int64] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    let yday = cum[Int(m - 1)] + d + (leap && m > 2 ? 1 : 0)
    return CivilDate(year: year, month: m, day: d, hour: rem / 3600, minute: (rem % 3600) / 60, weekday: wd, yday: yday)
}

func daysIn(month: Int64, year: Int64) -> Int64 {
    switch month {
    case 2: return ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Go's int64(float64) on amd64: out-of-range and NaN give math.MinInt64.
func goInt64(_ v: Double) -> Int64 {
    if v.isNaN || v >= 9.223372036854775807e18 || v < -9.223372036854775808e18 { return Int64.min }
    return Int64(v)
}

// MARK: label_replace's regex expansion, as Go's regexp.Expand

func expandTemplate(_ template: String, _ groups: [String?], _ names: [String: Int]) -> String {
    var out = ""
    var chars = Array(template.unicodeScalars)[...]
    while let i = chars.firstIndex(of: "$") {
        out.unicodeScalars.append(contentsOf: chars[chars.startIndex..<i])
        chars = chars[(i + 1)...]
        if chars.first == "$" { out += "$"; chars = chars.dropFirst(); continue }
        var name = ""
        var braced = false
        if chars.first == "{" {
            braced = true
            var j = chars.index(after: chars.startIndex)
            var ok = false
            while j < chars.endIndex {
                let c = chars[j]
                if c == "}" { ok = true; break }
                if !(c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_") { break }
                j += 1
            }
            if !ok || j == chars.index(after: chars.startIndex) { out += "$"; continue }
            name = String(String.UnicodeScalarView(chars[chars.index(after: chars.startIndex)..<j]))
            chars = chars[(j + 1)...]
        } else {
            var j = chars.startIndex
            while j < chars.endIndex, chars[j].properties.isAlphabetic || ("0"..."9").contains(chars[j]) || chars[j] == "_" { j += 1 }
            if j == chars.startIndex { out += "$"; continue }
            name = String(String.UnicodeScalarView(chars[chars.startIndex..<j]))
            chars = chars[j...]
        }
        _ = braced
        if let num = Int(name), name.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if num < groups.count, let g = groups[num] { out += g }
        } else if let idx = names[name], idx < groups.count, let g = groups[idx] {
            out += g
        }
    }
    out.unicodeScalars.append(contentsOf: chars)
    return out
}

enum RangeFunction: String, Sendable {
    case absent_over_time, avg_over_time, changes, count_over_time, delta, deriv, holt_winters, idelta, increase, irate, last_over_time, max_over_time, min_over_time, predict_linear, present_over_time, quantile_over_time, rate, resets, stddev_over_time, stdvar_over_time, sum_over_time
}

extension Evaluator {
    func evalCall(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        let n = ctx.n
        let name = c.function
        switch name {
        case "time":
            return .scalar((0..<n).map { Double(ctx.t($0)) / 1000 })
        case "pi":
            return .scalar([Double](repeating: Double.pi, count: n))
        case "vector":
            let s = try evalScalar(c.args[0], ctx)
            return .vector([Col(labels: Labels(), vals: s)])
        case "scalar":
            let v = try evalVector(c.args[0], ctx)
            var out = [Double](repeating: .nan, count: n)
            var cnt = [Int](repeating: 0, count: n)
            for col in v {
                for i in 0..<n where !isAbsent(col.vals[i]) { cnt[i] += 1; out[i] = col.vals[i] }
            }
            for i in 0..<n where cnt[i] != 1 { out[i] = .nan }
            return .scalar(out)
        case "timestamp":
            if case .vectorSelector(let vs) = unwrapParens(c.args[0]) {
                let cols = try evalVectorSelector(vs, ctx, timestamps: true)
                return .vector(try mergeSameLabels(cols.map { Col(labels: $0.labels.withoutMetricName, vals: $0.vals) }, anyOverlapIsError: false))
            }
            let v = try evalVector(c.args[0], ctx)
            let out = v.map { col in
                Col(labels: col.labels.withoutMetricName,
                    vals: (0..<n).map { isAbsent(col.vals[$0]) ? absentValue : Double(ctx.t($0)) / 1000 })
            }
            return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
        case "absent":
            let v = try evalVector(c.args[0], ctx)
            var vals = [Double](repeating: 1, count: n)
            for col in v { for i in 0..<n where !isAbsent(col.vals[i]) { vals[i] = absentValue } }
            if vals.allSatisfy({ isAbsent($0) }) { return .vector([]) }
            return .vector([Col(labels: absentLabels(c.args[0]), vals: vals)])
        case "sort", "sort_desc":
            var v = try evalVector(c.args[0], ctx)
            if n == 1 {
                let desc = name == "sort_desc"
                v.sort { a, b in
                    let x = a.vals[0], y = b.vals[0]
                    if x.isNaN || isAbsent(x) { return false }
                    if y.isNaN || isAbsent(y) { return true }
                    return desc ? x > y : x < y
                }
            }
            return .vector(v)
        case "label_replace": return .vector(try labelReplace(c, ctx))
        case "label_join": return .vector(try labelJoin(c, ctx))
        case "histogram_quantile": return .vector(try histogramQuantile(c, ctx))
        case "histogram_count", "histogram_sum", "histogram_fraction":
            // Native histograms are not stored; classic float series have no native histogram value.
            for a in c.args { _ = try eval(a, ctx) }
            return .vector([])
        case "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year":
            let v: [Col]
            if c.args.isEmpty {
                v = [Col(labels: Labels(), vals: (0..<n).map { Double(ctx.t($0)) / 1000 })]
            } else {
                v = try evalVector(c.args[0], ctx)
            }
            let out = v.map { col in
                Col(labels: col.labels.withoutMetricName, vals: col.vals.map { x -> Double in
                    if isAbsent(x) { return absentValue }
                    let d = civil(goInt64(x))
                    switch name {
                    case "day_of_month": return Double(d.day)
                    case "day_of_week": return Double(d.weekday)
                    case "day_of_year": return Double(d.yday)
                    case "days_in_month": return Double(daysIn(month: d.month, year: d.year))
                    case "hour": return Double(d.hour)
                    case "minute": return Double(d.minute)
                    case "month": return Double(d.month)
                    default: return Double(d.year)
                    }
                })
            }
            return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
        case "clamp", "clamp_min", "clamp_max", "round":
            let v = try evalVector(c.args[0], ctx)
            let a1 = c.args.count > 1 ? try evalScalar(c.args[1], ctx) : [Double](repeating: 1, count: n)
            let a2 = c.args.count > 2 ? try evalScalar(c.args[2], ctx) : []
            var out: [Col] = []
            for col in v {
                var vals = col.vals
                var any = false
                for i in 0..<n where !isAbsent(vals[i]) {
                    let x = vals[i]
                    switch name {
                    case "clamp":
                        if a2[i] < a1[i] { vals[i] = absentValue; continue }
                        vals[i] = goMax(a1[i], goMin(a2[i], x))
                    case "clamp_min": vals[i] = goMax(a1[i], x)
                    case "clamp_max": vals[i] = goMin(a1[i], x)
                    default:
                        let inv = 1.0 / a1[i]
                        vals[i] = (x * inv + 0.5).rounded(.down) / inv
                    }
                    any = true
                }
                if any { out.append(Col(labels: col.labels.withoutMetricName, vals: vals)) }
            }
            return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
        default:
            break
        }
        if let f = mathFunction(name) {
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
        return .vector(try rangeFunction(c, ctx))
    }

    func mathFunction(_ name: String) -> ((Double) -> Double)? {
        switch name {
        case "abs": return { Swift.abs($0) }
        case "ceil": return { $0.rounded(.up) }
        case "floor": return { $0.rounded(.down) }
        case "exp": return { exp($0) }
        case "sqrt": return { $0.squareRoot() }
        case "ln": return { goLog($0) }
        case "log2": return { goLog2($0) }
        case "log10": return { goLog10($0) }
        case "sin": return { sin($0) }
        case "cos": return { cos($0) }
        case "tan": return { tan($0) }
        case "asin": return { asin($0) }
        case "acos": return { acos($0) }
        case "atan": return { atan($0) }
        case "sinh": return { sinh($0) }
        case "cosh": return { cosh($0) }
        case "tanh": return { tanh($0) }
        case "asinh": return { asinh($0) }
        case "acosh": return { acosh($0) }
        case "atanh": return { atanh($0) }
        case "deg": return { $0 * 180 / Double.pi }
        case "rad": return { $0 * Double.pi / 180 }
        case "sgn": return { $0 < 0 ? -1 : ($0 > 0 ? 1 : $0) }
        default: return nil
        }
    }

    func rangeFunction(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> [Col] {
        let name = c.function
        let n = ctx.n
        let matrixIdx = name == "quantile_over_time" ? 1 : 0
        var scalars: [[Double]] = []
        for (i, a) in c.args.enumerated() where i != matrixIdx { scalars.append(try evalScalar(a, ctx)) }
        var ra = try evalRange(c.args[matrixIdx], ctx)
        if name == "predict_linear", let vs = ra.selector, vs.at != nil, ctx.n > 1 {
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
        let keepName = name == "last_over_time"
        // Resolved once: the per-window switch below runs for every series and step.
        guard let fn = RangeFunction(rawValue: name) else {
            throw PromQLError(.internal, "no implementation for function \(name)")
        }
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

    func labelReplace(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> [Col] {
        guard case .string(let dst) = unwrapParens(c.args[1]), case .string(let repl) = unwrapParens(c.args[2]),
              case .string(let src) = unwrapParens(c.args[3]), case .string(let re) = unwrapParens(c.args[4])
        else { throw PromQLError(.execution, "label_replace() needs string literal arguments") }
        // RE2: linear in the label value, so the per-series tick below bounds the whole call.
        let regex: RE2Regex
        do {
            regex = try RE2Regex(re)
        } catch {
            throw PromQLError(.execution, "invalid regular expression in label_replace(): \(re)")
        }
        if !isValidLabelName(dst) { throw PromQLError(.execution, "invalid destination label name in label_replace(): \(dst)") }
        let v = try evalVector(c.args[0], ctx)
        var names: [String: Int] = [:]
        for (k, name) in regex.groupNames.enumerated() { if let name, names[name] == nil { names[name] = k } }
        var out: [Col] = []
        var cache: [String: String?] = [:]
        for col in v {
            try tick(1 + col.vals.count)
            let sv = col.labels[src] ?? ""
            let res: String?
            if let cached = cache[sv] {
                res = cached
            } else {
                res = regex.match(sv).map { expandTemplate(repl, $0, names) }
                cache[sv] = res
            }
            if let res { out.append(Col(labels: col.labels.setting(dst, res), vals: col.vals)) } else { out.append(col) }
        }
        return try mergeSameLabels(out, anyOverlapIsError: false)
    }

    func labelJoin(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> [Col] {
        var strs: [String] = []
        for a in c.args.dropFirst() {
            guard case .string(let s) = unwrapParens(a) else { throw PromQLError(.execution, "label_join() needs string literal arguments") }
            strs.append(s)
        }
        let dst = strs[0], sep = strs[1]
        let srcs = Array(strs.dropFirst(2))
        if !isValidLabelName(dst) { throw PromQLError(.execution, "invalid destination label name in label_join(): \(dst)") }
        for s in srcs where !isValidLabelName(s) { throw PromQLError(.execution, "invalid source label name in label_join(): \(s)") }
        let v = try evalVector(c.args[0], ctx)
        let out = v.map { col in
            Col(labels: col.labels.setting(dst, srcs.map { col.labels[$0] ?? "" }.joined(separator: sep)), vals: col.vals)
        }
        return try mergeSameLabels(out, anyOverlapIsError: false)
    }

    func histogramQuantile(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> [Col] {
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
        return try mergeSameLabels(out, anyOverlapIsError: false)
    }
}

/// Go's `%f`: the exact decimal expansion with 6 decimals, for any magnitude (`@ 1e300` is
/// reported with all 301 digits), which C's `%.6f` writes the same way.
func goFixed6(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    // The longest is -DBL_MAX: 309 digits, a sign, a point and 6 decimals.
    var buf = [CChar](repeating: 0, count: 330)
    let n = withVaList([v]) { vsnprintf(&buf, buf.count, "%.6f", $0) }
    return n > 0 ? String(decoding: buf[0..<Swift.min(Int(n), buf.count - 1)].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "\(v)"
}

/// Go's strconv.ParseFloat for the values `le` labels carry ("0.5", "+Inf", "1e3").
func parseGoFloat(_ s: String) -> Double? {
    let l = s.lowercased()
    switch l {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan": return .nan
    default: break
    }
    if l.isEmpty || l.contains(where: { !($0.isASCII && ($0.isNumber || "+-.ex_p".contains($0))) }) { return nil }
    return Double(l)
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

// MARK: Go's math.Log, so that values that end up in labels (count_values) match bit for bit

/// Go's `math.Log` (the FreeBSD e_log.c algorithm Go uses); glibc's log can differ in the last bit.
func goLog(_ x: Double) -> Double {
    let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
    let l1 = 6.666666666666735130e-01, l2 = 3.999999999940941908e-01, l3 = 2.857142874366239149e-01
    let l4 = 2.222219843214978396e-01, l5 = 1.818357216161805012e-01, l6 = 1.531383769920937332e-01
    let l7 = 1.479819860511658591e-01
    if x.isNaN || x == .infinity { return x }
    if x < 0 { return .nan }
    if x == 0 { return -.infinity }
    var (f1, ki) = goFrexp(x)
    if f1 < 2.0.squareRoot() / 2 {
        f1 *= 2
        ki -= 1
    }
    let f = f1 - 1
    let k = Double(ki)
    let s = f / (2 + f)
    let s2 = s * s
    let s4 = s2 * s2
    let t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)))
    let t2 = s4 * (l2 + s4 * (l4 + s4 * l6))
    let r = t1 + t2
    let hfsq = 0.5 * f * f
    return k * ln2Hi - ((hfsq - (s * (hfsq + r) + k * ln2Lo)) - f)
}

/// Go's `math.Frexp`: x = frac * 2^exp with frac in [0.5, 1).
func goFrexp(_ x: Double) -> (Double, Int) {
    if x == 0 || x.isNaN || x.isInfinite { return (x, 0) }
    return (x.significand / 2 * (x < 0 ? -1 : 1), Int(x.exponent) + 1)
}

func goLog2(_ x: Double) -> Double {
    let (frac, exp) = goFrexp(x)
    if frac == 0.5 { return Double(exp - 1) }
    return goLog(frac) * 1.442695040888963407359924681001892137 + Double(exp)
}

func goLog10(_ x: Double) -> Double { goLog(x) * 0.434294481903251827651128918916605082 }
