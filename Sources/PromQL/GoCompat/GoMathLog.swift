// Go's math.Log, so that values that end up in labels (count_values) match bit for bit

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
