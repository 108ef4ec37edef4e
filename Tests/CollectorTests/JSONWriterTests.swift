import Testing
@testable import Collector
import PromQL

/// JSONWriter's timestamp before it appended bytes directly (Prometheus' marshalTimestamp).
private func referenceTimestamp(_ ms: Int64) -> String {
    var s = ""
    var t = ms
    if t < 0 { s += "-"; t = -t }
    s += String(t / 1000)
    let frac = t % 1000
    if frac != 0 {
        s += "."
        if frac < 100 { s += "0" }
        if frac < 10 { s += "0" }
        s += String(frac)
    }
    return s
}

private func written(_ body: (inout JSONWriter) -> Void) -> String {
    var w = JSONWriter()
    body(&w)
    return String(decoding: w.bytes, as: UTF8.self)
}

@Suite struct JSONWriterTests {
    @Test(arguments: [
        (Int64(0), "0"), (1, "0.001"), (10, "0.010"), (100, "0.100"), (999, "0.999"), (1000, "1"),
        (1001, "1.001"), (1010, "1.010"), (1100, "1.100"), (1_435_781_451_780, "1435781451.780"),
        (1_700_000_000_000, "1700000000"), (-1, "-0.001"), (-10, "-0.010"), (-100, "-0.100"),
        (-1000, "-1"), (-1500, "-1.500"), (-1_435_781_451_781, "-1435781451.781"),
        (Int64.max, "9223372036854775.807"), (Int64.min + 1, "-9223372036854775.807"),
    ])
    func timestampLikePrometheus(ms: Int64, text: String) {
        #expect(written { $0.timestamp(ms) } == text)
        #expect(referenceTimestamp(ms) == text)
    }

    @Test func timestampMatchesReferenceForManyValues() {
        var values: [Int64] = []
        for k in Int64(-2_000)...2_000 { values.append(k) }
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            values.append(Int64(bitPattern: x) >> Int64(x % 50))
        }
        for ms in values where ms != .min {
            let got = written { $0.timestamp(ms) }
            if got != referenceTimestamp(ms) {
                Issue.record("timestamp(\(ms)) = \(got), want \(referenceTimestamp(ms))")
                return
            }
        }
    }

    @Test func int() {
        for v: Int64 in [0, 7, -7, 10, 1234567890, .max, .min] {
            #expect(written { $0.int(v) } == String(v))
        }
    }

    @Test func pointIsASamplePair() {
        #expect(written { $0.point(1_435_781_451_780, 0.1) } == #"[1435781451.780,"0.1"]"#)
        #expect(written { $0.point(1000, 42) } == #"[1,"42"]"#)
        #expect(written { $0.point(-1, -0.0) } == #"[-0.001,"-0"]"#)
        #expect(written { $0.point(5, 1.5e-7) } == #"[0.005,"1.5e-07"]"#)
        #expect(written { $0.point(0, .nan) } == #"[0,"NaN"]"#)
        #expect(written { $0.point(0, .infinity) } == #"[0,"+Inf"]"#)
        #expect(written { $0.point(0, 0.1 + 0.2) } == #"[0,"0.30000000000000004"]"#)
    }

    @Test func pointsAppendAfterExistingOutput() {
        var w = JSONWriter()
        w.raw("[")
        w.point(1000, 1)
        w.raw(",")
        w.point(2500, 123456.78)
        w.raw("]")
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"[[1,"1"],[2.500,"123456.78"]]"#)
    }
}
