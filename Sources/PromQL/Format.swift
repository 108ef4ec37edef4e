/// Shortest round-trip decimal digits of a finite, non-zero |v|: digits "d1d2..." and the
/// position of the decimal point `dp` (value = 0.d1d2... * 10^dp), like Go's strconv internals.
private func shortestDigits(_ v: Double) -> (digits: [UInt8], dp: Int) {
    // Swift's description is the shortest round-trip form, e.g. "1.5e-07", "123.0", "1e+16".
    let s = Swift.abs(v).description
    var mantissa = Substring(s)
    var exp = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = s[s.startIndex..<e]
        exp = Int(s[s.index(after: e)...]) ?? 0
    }
    var digits: [UInt8] = []
    var intLen = 0
    var seenDot = false
    for c in mantissa.utf8 {
        if c == UInt8(ascii: ".") { seenDot = true; continue }
        digits.append(c - 48)
        if !seenDot { intLen += 1 }
    }
    var dp = intLen + exp
    while let f = digits.first, f == 0, digits.count > 1 { digits.removeFirst(); dp -= 1 }
    while let l = digits.last, l == 0, digits.count > 1 { digits.removeLast() }
    return (digits, dp)
}

private func fixedString(_ digits: [UInt8], _ dp: Int) -> String {
    var out = ""
    if dp <= 0 {
        out = "0." + String(repeating: "0", count: -dp) + digits.map { String($0) }.joined()
    } else if dp >= digits.count {
        out = digits.map { String($0) }.joined() + String(repeating: "0", count: dp - digits.count)
    } else {
        let d = digits.map { String($0) }
        out = d[0..<dp].joined() + "." + d[dp...].joined()
    }
    return out
}

/// Prometheus' JSON sample value text: `strconv.FormatFloat(v, 'f', -1, 64)`, with "+Inf"/"-Inf"/"NaN".
public func formatPromValue(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    if v == 0 { return v.sign == .minus ? "-0" : "0" }
    let (d, dp) = shortestDigits(v)
    let sign = v < 0 ? "-" : ""
    // Prometheus' jsonutil.MarshalFloat switches to 'e' format outside [1e-6, 1e21).
    let a = Swift.abs(v)
    if a < 1e-6 || a >= 1e21 { return sign + exponentString(d, dp) }
    return sign + fixedString(d, dp)
}

/// Go's `fmt.Sprint(float64)` (`%g` with shortest precision), used when printing number literals.
func formatGoFloat(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    if v == 0 { return v.sign == .minus ? "-0" : "0" }
    let (d, dp) = shortestDigits(v)
    let sign = v < 0 ? "-" : ""
    let exp = dp - 1
    if exp < -4 || exp >= 6 { return sign + exponentString(d, dp) }
    return sign + fixedString(d, dp)
}

/// Go's `e` format with shortest digits: `4.41e-07`, `1e+21`.
private func exponentString(_ d: [UInt8], _ dp: Int) -> String {
    var m = String(d[0])
    if d.count > 1 { m += "." + d[1...].map { String($0) }.joined() }
    let exp = dp - 1
    let e = Swift.abs(exp)
    return m + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
}

private let durationUnits: [(String, Int64)] = [
    ("y", 365 * 24 * 3_600_000), ("w", 7 * 24 * 3_600_000), ("d", 24 * 3_600_000),
    ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
]

/// Prometheus' `model.Duration.String()`: "1h30m", "90d" rather than "12w6d".
public func formatDuration(_ ms: Int64) -> String {
    if ms == 0 { return "0s" }
    var r = ""
    var rest = ms
    for (i, (unit, mult)) in durationUnits.enumerated() {
        if i < 2 && rest % mult != 0 { continue }
        let v = rest / mult
        if v > 0 { r += "\(v)\(unit)"; rest -= v * mult }
    }
    return r
}

/// Prometheus' `model.ParseDuration` ("1h30m", units in descending order, each at most once).
func parsePromDuration(_ s: String) -> Int64? {
    if s == "0" { return 0 }
    let b = Array(s.utf8)
    if b.isEmpty { return nil }
    var i = 0
    var total: Int64 = 0
    var lastUnit = -1
    while i < b.count {
        var n: Int64 = 0
        let startDigits = i
        while i < b.count, b[i] >= 48, b[i] <= 57 {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 48))
            if o1 || o2 { return nil }
            n = a
            i += 1
        }
        if i == startDigits { return nil }
        var unitIdx = -1
        if i + 1 < b.count, b[i] == UInt8(ascii: "m"), b[i + 1] == UInt8(ascii: "s") {
            unitIdx = 6; i += 2
        } else if i < b.count {
            switch b[i] {
            case UInt8(ascii: "y"): unitIdx = 0
            case UInt8(ascii: "w"): unitIdx = 1
            case UInt8(ascii: "d"): unitIdx = 2
            case UInt8(ascii: "h"): unitIdx = 3
            case UInt8(ascii: "m"): unitIdx = 4
            case UInt8(ascii: "s"): unitIdx = 5
            default: return nil
            }
            i += 1
        } else {
            return nil
        }
        if unitIdx <= lastUnit { return nil }
        lastUnit = unitIdx
        let (m, o) = n.multipliedReportingOverflow(by: durationUnits[unitIdx].1)
        if o { return nil }
        let (t, o2) = total.addingReportingOverflow(m)
        if o2 { return nil }
        total = t
    }
    return total
}

/// Durations as the HTTP API accepts them for `step` and `timeout`: float seconds ("15", "0.5")
/// or a Prometheus duration ("1h30m"). Returns milliseconds.
public func parseDuration(_ s: String) throws(PromQLError) -> Int64 {
    if let f = Double(s), !s.contains(where: { $0 == "n" || $0 == "N" || $0 == "i" || $0 == "I" }) {
        let ms = (f * 1000).rounded()
        if !ms.isFinite || ms > 9.2e18 || ms < -9.2e18 {
            throw PromQLError(.badData, "cannot parse \"\(s)\" to a valid duration. It overflows int64")
        }
        return Int64(ms)
    }
    if let d = parsePromDuration(s) { return d }
    throw PromQLError(.badData, "cannot parse \"\(s)\" to a valid duration")
}
