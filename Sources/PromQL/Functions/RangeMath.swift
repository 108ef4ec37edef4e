import Storage

// The arithmetic of the range-vector kernels, as Prometheus' functions.go computes it.

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
