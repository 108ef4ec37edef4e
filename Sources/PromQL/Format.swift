/// Rendering one float uses 64 bytes of scratch (a literal capacity at the
/// `withUnsafeTemporaryAllocation` calls, so it stays on the stack): the text goes into the first
/// half, the shortest digits into the second. The longest text is 25 bytes
/// ("-0.0000012345678901234567"), the longest `Double.write(to:)` output 24 ("2.2250738585072014e-308").
private let digitsOffset = 32

/// Receives `Double.write(to:)` output into caller-provided memory. The standard library hands
/// its dtoa buffer to `_writeASCII`, so the shortest round-trip digits arrive without a String
/// (`description` allocates for anything longer than 15 bytes, e.g. most computed rates).
/// `write(_:)` keeps this correct, if slower, should the standard library ever call it instead.
private struct ByteSink: TextOutputStream {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    mutating func write(_ string: String) {
        for b in string.utf8 where count < capacity {
            base[count] = b
            count += 1
        }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        let n = Swift.min(buffer.count, capacity - count)
        if n > 0, let src = buffer.baseAddress { (base + count).update(from: src, count: n) }
        count += n
    }
}

/// "00" through "99": integers are written two digits per division.
private let digitPairs: StaticString = """
    00010203040506070809\
    10111213141516171819\
    20212223242526272829\
    30313233343536373839\
    40414243444546474849\
    50515253545556575859\
    60616263646566676869\
    70717273747576777879\
    80818283848586878889\
    90919293949596979899
    """

/// Writes the decimal digits of `v` ending just before `end`; returns where they start.
private func writeDigitsBackward(_ v: UInt64, end: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
    let pairs = digitPairs.utf8Start
    var p = end
    var rest = v
    while rest >= 100 {
        let r = Int(truncatingIfNeeded: rest % 100) &* 2
        rest /= 100
        p -= 2
        p[0] = pairs[r]
        p[1] = pairs[r &+ 1]
    }
    if rest >= 10 {
        let r = Int(truncatingIfNeeded: rest) &* 2
        p -= 2
        p[0] = pairs[r]
        p[1] = pairs[r &+ 1]
    } else {
        p -= 1
        p[0] = UInt8(truncatingIfNeeded: rest) &+ 48
    }
    return p
}

/// Shortest round-trip decimal digits of a finite, non-zero |v|, like Go's strconv internals:
/// `n` ASCII digits from `start` (inside `d[0..<32]`) with no leading or trailing zeros, and the
/// position of the decimal point `dp` (value = 0.d1d2... * 10^dp).
private func shortestDigits(
    _ v: Double, into d: UnsafeMutablePointer<UInt8>
) -> (start: UnsafeMutablePointer<UInt8>, n: Int, dp: Int) {
    let a = Swift.abs(v)
    // Integers below 2^53 are exact, so their shortest round-trip digits are their own.
    if a < 9_007_199_254_740_992, a.rounded(.towardZero) == a {
        let end = d + 20
        let start = writeDigitsBackward(UInt64(a), end: end)
        let len = end - start
        var n = len
        while n > 1, start[n - 1] == UInt8(ascii: "0") { n -= 1 }
        return (start, n, len)
    }
    // Swift's text is the shortest round-trip form, e.g. "1.5e-07", "123.0", "1e+16", "0.001".
    var sink = ByteSink(base: d, capacity: digitsOffset)
    a.write(to: &sink)
    let len = sink.count
    var mantissaEnd = 0
    while mantissaEnd < len, d[mantissaEnd] | 0x20 != UInt8(ascii: "e") { mantissaEnd += 1 }
    var exp = 0
    if mantissaEnd < len {
        var i = mantissaEnd + 1
        let negative = i < len && d[i] == UInt8(ascii: "-")
        if i < len, d[i] == UInt8(ascii: "-") || d[i] == UInt8(ascii: "+") { i += 1 }
        while i < len { exp = exp * 10 + Int(d[i] &- 48); i += 1 }
        if negative { exp = -exp }
    }
    // Drop the decimal point by moving the fraction digits left, then trim zeros at both ends.
    var dot = 0
    while dot < mantissaEnd, d[dot] != UInt8(ascii: ".") { dot += 1 }
    var end = mantissaEnd
    if dot < mantissaEnd {
        var k = dot
        while k < mantissaEnd - 1 { d[k] = d[k + 1]; k += 1 }
        end -= 1
    }
    var start = 0
    while start < end - 1, d[start] == UInt8(ascii: "0") { start += 1 }
    while end > start + 1, d[end - 1] == UInt8(ascii: "0") { end -= 1 }
    return (d + start, end - start, dot + exp - start)
}

private enum FloatStyle {
    /// Prometheus' jsonutil.MarshalFloat: `strconv.FormatFloat(v, 'f', -1, 64)`, 'e' outside [1e-6, 1e21).
    case prometheus
    /// Go's `fmt.Sprint(float64)`: `%g` with shortest digits, 'e' for exponents below -4 or from 6.
    case go
}

/// Renders `v` inside `scratch[0..<64]` and returns the text (which may also be a literal).
private func renderFloat(
    _ v: Double, _ style: FloatStyle, _ scratch: UnsafeMutablePointer<UInt8>
) -> UnsafeBufferPointer<UInt8> {
    func literal(_ s: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }
    if v.isNaN { return literal("NaN") }
    if v.isInfinite { return v > 0 ? literal("+Inf") : literal("-Inf") }
    if v == 0 { return v.sign == .minus ? literal("-0") : literal("0") }

    let a = Swift.abs(v)
    // Counters and gauges are mostly integers: below 2^53 the text is just their digits.
    if style == .prometheus, a < 9_007_199_254_740_992, a.rounded(.towardZero) == a {
        let end = scratch + digitsOffset
        var start = writeDigitsBackward(UInt64(a), end: end)
        if v < 0 { start -= 1; start.pointee = UInt8(ascii: "-") }
        return UnsafeBufferPointer(start: start, count: end - start)
    }

    let (d, n, dp) = shortestDigits(v, into: scratch + digitsOffset)
    var p = scratch
    func put(_ b: UInt8) { p.pointee = b; p += 1 }
    func put(_ src: UnsafeMutablePointer<UInt8>, _ count: Int) {
        if count > 0 { p.update(from: src, count: count); p += count }
    }
    func zeros(_ count: Int) {
        if count > 0 { p.update(repeating: UInt8(ascii: "0"), count: count); p += count }
    }

    if v < 0 { put(UInt8(ascii: "-")) }
    let useExponent: Bool
    switch style {
    case .prometheus:
        // Prometheus' jsonutil.MarshalFloat switches to 'e' format outside [1e-6, 1e21).
        useExponent = a < 1e-6 || a >= 1e21
    case .go:
        useExponent = dp - 1 < -4 || dp - 1 >= 6
    }
    if useExponent {
        // Go's 'e' format with shortest digits: "4.41e-07", "1e+21".
        put(d[0])
        if n > 1 { put(UInt8(ascii: ".")); put(d + 1, n - 1) }
        let exp = dp - 1
        put(UInt8(ascii: "e"))
        put(exp < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        // At least two exponent digits, as Go writes them.
        let e = Swift.abs(exp)
        if e >= 100 { put(UInt8(truncatingIfNeeded: e / 100) &+ 48) }
        put(UInt8(truncatingIfNeeded: e / 10 % 10) &+ 48)
        put(UInt8(truncatingIfNeeded: e % 10) &+ 48)
    } else if dp <= 0 {
        put(UInt8(ascii: "0")); put(UInt8(ascii: "."))
        zeros(-dp)
        put(d, n)
    } else if dp >= n {
        put(d, n)
        zeros(dp - n)
    } else {
        put(d, dp)
        put(UInt8(ascii: "."))
        put(d + dp, n - dp)
    }
    return UnsafeBufferPointer(start: scratch, count: p - scratch)
}

/// Appends Prometheus' JSON sample value text for `v` (what `formatPromValue` returns) to `out`
/// without allocating, for writers of large query results.
public func appendPromValue(_ v: Double, to out: inout [UInt8]) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { scratch in
        out.append(contentsOf: renderFloat(v, .prometheus, scratch.baseAddress!))
    }
}

/// Appends the decimal digits of `v` to `out`, like `String(v)` without creating the String.
public func appendDecimal(_ v: UInt64, to out: inout [UInt8]) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
        let end = buf.baseAddress! + 20
        let start = writeDigitsBackward(v, end: end)
        out.append(contentsOf: UnsafeBufferPointer(start: start, count: end - start))
    }
}

/// Appends `v` in decimal, with a "-" when negative, like `String(v)`.
public func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
    if v < 0 { out.append(UInt8(ascii: "-")) }
    appendDecimal(v.magnitude, to: &out)
}

private func floatString(_ v: Double, _ style: FloatStyle) -> String {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { scratch in
        String(decoding: renderFloat(v, style, scratch.baseAddress!), as: UTF8.self)
    }
}

/// Prometheus' JSON sample value text: `strconv.FormatFloat(v, 'f', -1, 64)`, with "+Inf"/"-Inf"/"NaN".
public func formatPromValue(_ v: Double) -> String { floatString(v, .prometheus) }

/// Go's `fmt.Sprint(float64)` (`%g` with shortest precision), used when printing number literals.
func formatGoFloat(_ v: Double) -> String { floatString(v, .go) }

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

/// Why `parsePromDuration` refused a string: Prometheus tells syntax from range.
enum DurationError: Error {
    case syntax
    /// Longer than `TimeMath.maxDuration` (Prometheus: "duration out of range").
    case outOfRange
}

/// Prometheus' `model.ParseDuration` ("1h30m", units in descending order, each at most once),
/// in ms, bounded by `TimeMath.maxDuration` as Go's time.Duration bounds it.
func parsePromDuration(_ s: String) -> Result<Int64, DurationError> {
    if s == "0" { return .success(0) }
    let b = Array(s.utf8)
    if b.isEmpty { return .failure(.syntax) }
    var i = 0
    var total: Int64 = 0
    var lastUnit = -1
    var tooLong = false
    while i < b.count {
        var n: Int64 = 0
        let startDigits = i
        while i < b.count, b[i] >= 48, b[i] <= 57 {
            // Digits past Int64 still have to be consumed to tell syntax from range.
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 48))
            if o1 || o2 { tooLong = true } else { n = a }
            i += 1
        }
        if i == startDigits { return .failure(.syntax) }
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
            default: return .failure(.syntax)
            }
            i += 1
        } else {
            return .failure(.syntax)
        }
        if unitIdx <= lastUnit { return .failure(.syntax) }
        lastUnit = unitIdx
        let (m, o) = n.multipliedReportingOverflow(by: durationUnits[unitIdx].1)
        let (t, o2) = total.addingReportingOverflow(m)
        if o || o2 || t > TimeMath.maxDuration { tooLong = true } else { total = t }
    }
    return tooLong ? .failure(.outOfRange) : .success(total)
}

/// Durations as the HTTP API accepts them for `step` and `timeout`: float seconds ("15", "0.5")
/// or a Prometheus duration ("1h30m"). Returns milliseconds, at most `TimeMath.maxDuration` either
/// way, with Prometheus' messages.
public func parseDuration(_ s: String) throws(PromQLError) -> Int64 {
    if let f = Double(s), !s.contains(where: { $0 == "n" || $0 == "N" || $0 == "i" || $0 == "I" }) {
        guard let ms = TimeMath.duration(seconds: f) else {
            throw PromQLError(.badData, "cannot parse \"\(s)\" to a valid duration. It overflows int64")
        }
        return ms
    }
    switch parsePromDuration(s) {
    case .success(let d): return d
    case .failure(.outOfRange): throw PromQLError(.badData, "cannot parse \"\(s)\" to a valid duration. It overflows int64")
    case .failure(.syntax): throw PromQLError(.badData, "cannot parse \"\(s)\" to a valid duration")
    }
}
