import Testing
import TestSupport
@testable import PromQL

/// The float formatting as it was before `appendPromValue` (Double.description parsed into a digit
/// array, Strings joined per digit): slow but plainly right, so the fast code is checked against it.
private enum Reference {
    static func shortestDigits(_ v: Double) -> (digits: [UInt8], dp: Int) {
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

    static func fixedString(_ digits: [UInt8], _ dp: Int) -> String {
        if dp <= 0 {
            return "0." + String(repeating: "0", count: -dp) + digits.map { String($0) }.joined()
        } else if dp >= digits.count {
            return digits.map { String($0) }.joined() + String(repeating: "0", count: dp - digits.count)
        }
        let d = digits.map { String($0) }
        return d[0..<dp].joined() + "." + d[dp...].joined()
    }

    static func exponentString(_ d: [UInt8], _ dp: Int) -> String {
        var m = String(d[0])
        if d.count > 1 { m += "." + d[1...].map { String($0) }.joined() }
        let exp = dp - 1
        let e = Swift.abs(exp)
        return m + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }

    static func promValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (d, dp) = shortestDigits(v)
        let sign = v < 0 ? "-" : ""
        let a = Swift.abs(v)
        if a < 1e-6 || a >= 1e21 { return sign + exponentString(d, dp) }
        return sign + fixedString(d, dp)
    }

    static func goFloat(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (d, dp) = shortestDigits(v)
        let sign = v < 0 ? "-" : ""
        let exp = dp - 1
        if exp < -4 || exp >= 6 { return sign + exponentString(d, dp) }
        return sign + fixedString(d, dp)
    }
}

/// Values that exercise every branch: random bit patterns (NaN payloads, subnormals, huge and tiny
/// exponents), decimals like monitoring values, integers around 2^53, and the format boundaries.
private func sampleValues() -> [Double] {
    var rng = SplitMix(seed: 0x5EED_F0A7)
    var values: [Double] = [
        0, -0.0, .nan, -.nan, .signalingNaN, .infinity, -.infinity,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .leastNormalMagnitude.nextDown,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .ulpOfOne, 1, -1, 0.1, 0.2, 0.1 + 0.2, 1.0 / 3,
        1e-6, 1e-6.nextDown, 1e-6.nextUp, 1e21, 1e21.nextDown, 1e21.nextUp, 1e-5, 1e-5.nextDown, 1e6, 1e6.nextDown,
        9_007_199_254_740_992, 9_007_199_254_740_991, 9_007_199_254_740_992.nextUp, 9_007_199_254_740_992.nextDown,
        1e15, 1e16, 1e17, 123456789.125, 4.41e-7, 1.5e-7, 2.2250738585072014e-308, 100, 1e20, 99.99,
        0.0123456789, 123456.78, 1_700_000_000.5,
    ]
    for p in -330...310 {
        let x = Double("1e\(p)")!
        values += [x, x.nextUp, x.nextDown, 9 * x, 5 * x]
    }
    for _ in 0..<20_000 { values.append(Double(bitPattern: rng.next())) }
    for _ in 0..<2_000 { values.append(Double(bitPattern: rng.next() & 0x800F_FFFF_FFFF_FFFF)) }  // subnormals
    for _ in 0..<5_000 {
        let k = Double(Int64.random(in: -10_000_000_000...10_000_000_000, using: &rng))
        let scale = [1.0, 10, 100, 1000, 1e4, 1e6, 300, 60, 7][Int.random(in: 0..<9, using: &rng)]
        values.append(k / scale)
    }
    for _ in 0..<5_000 {
        let bits = Int.random(in: 1...63, using: &rng)
        values.append(Double(Int64.random(in: -(1 << (bits - 1))...((1 << (bits - 1)) - 1), using: &rng)))
    }
    for _ in 0..<3_000 {
        values.append(Double.random(in: 0..<1, using: &rng) * Double("1e\(Int.random(in: -12...25, using: &rng))")!)
    }
    return values
}

private func describe(_ v: Double) -> String { "\(v) (bits 0x\(String(v.bitPattern, radix: 16)))" }

@Suite struct FormatTests {
    @Test func appendPromValueMatchesReference() {
        var mismatches: [String] = []
        var out: [UInt8] = Array("x".utf8)
        for v in sampleValues() {
            out.removeLast(out.count - 1)
            appendPromValue(v, to: &out)
            let want = Reference.promValue(v)
            let got = String(decoding: out.dropFirst(), as: UTF8.self)
            if got != want || out.first != UInt8(ascii: "x") { mismatches.append("\(describe(v)): \(got), want \(want)") }
            let s = formatPromValue(v)
            if s != want { mismatches.append("formatPromValue \(describe(v)): \(s), want \(want)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(10))")
    }

    @Test func goFloatMatchesReference() {
        var mismatches: [String] = []
        for v in sampleValues() {
            let got = formatGoFloat(v), want = Reference.goFloat(v)
            if got != want { mismatches.append("\(describe(v)): \(got), want \(want)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(10))")
    }

    @Test func promValueTextParsesBackToTheSameDouble() {
        var failures: [String] = []
        for v in sampleValues() {
            var out: [UInt8] = []
            appendPromValue(v, to: &out)
            let text = String(decoding: out, as: UTF8.self)
            guard let back = Double(text) else { failures.append("\(describe(v)): \(text) does not parse"); continue }
            if v.isNaN ? !back.isNaN : back.bitPattern != v.bitPattern {
                failures.append("\(describe(v)): \(text) parses as \(describe(back))")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(10))")
    }

    @Test func promValueExamples() {
        func text(_ v: Double) -> String {
            var out: [UInt8] = []
            appendPromValue(v, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(text(0.0123456789) == "0.0123456789")
        #expect(text(123456.78) == "123456.78")
        #expect(text(-42) == "-42")
        #expect(text(0.1 + 0.2) == "0.30000000000000004")
        #expect(text(1e21) == "1e+21")
        #expect(text(1e20) == "100000000000000000000")
        #expect(text(9_007_199_254_740_992.nextUp) == "9007199254740994")
        #expect(text(1.5e-7) == "1.5e-07")
        #expect(text(-.leastNonzeroMagnitude) == "-5e-324")
        #expect(text(.greatestFiniteMagnitude) == "1.7976931348623157e+308")
        #expect(text(1e-6) == "0.000001")
        #expect(text(-0.0) == "-0")
        #expect(text(.nan) == "NaN")
        #expect(text(-.infinity) == "-Inf")
        #expect(formatGoFloat(1e6) == "1e+06")
        #expect(formatGoFloat(123456) == "123456")
        #expect(formatGoFloat(0.0001) == "0.0001")
        #expect(formatGoFloat(0.00001) == "1e-05")
    }

    @Test func appendDecimalMatchesStringInit() {
        var rng = SplitMix(seed: 42)
        var ints: [Int64] = [0, 1, -1, 9, 10, 99, 100, -100, .max, .min, .max - 1, .min + 1]
        for _ in 0..<10_000 { ints.append(Int64(bitPattern: rng.next()) >> Int64.random(in: 0...63, using: &rng)) }
        for v in ints {
            var out: [UInt8] = []
            appendDecimal(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(v))
            out.removeAll()
            appendDecimal(v.magnitude, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(v.magnitude))
        }
        var out: [UInt8] = []
        appendDecimal(UInt64.max, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "18446744073709551615")
    }
}
