#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Go's number conversions where Prometheus' output or parsing depends on them: Fleetscope must
// print and accept numbers exactly as the Go code does.

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

/// Go's `strconv.ParseInt(s, 0, 64)` falling back to `ParseFloat`, as the PromQL parser does.
func parseGoNumber(_ s: String) -> Double? {
    let lower = s.lowercased()
    if lower.hasPrefix("0x") {
        guard let v = UInt64(lower.dropFirst(2), radix: 16) else { return nil }
        return Double(v)
    }
    if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy({ $0 >= "0" && $0 <= "7" }) {
        return Int64(lower.dropFirst(), radix: 8).map(Double.init)
    }
    guard let f = lower.first, f.isNumber || f == "." else { return nil }
    for ch in lower where !(ch.isNumber || ch == "." || ch == "e" || ch == "+" || ch == "-") { return nil }
    return Double(lower)
}

/// Go's int64(float64) on amd64: out-of-range and NaN give math.MinInt64.
func goInt64(_ v: Double) -> Int64 {
    if v.isNaN || v >= 9.223372036854775807e18 || v < -9.223372036854775808e18 { return Int64.min }
    return Int64(v)
}
