import Storage
import Testing
@testable import PromQL

/// The checked conversions every request and query number goes through (issue 10, item 2),
/// and the sample budget that bounds subqueries and generated vectors (item 4).
@Suite struct TimeMathTests {
    @Test func timestampsAreBoundedBeforeConversion() throws {
        #expect(TimeMath.timestamp(seconds: 1_435_781_451.781) == 1_435_781_451_781)
        #expect(TimeMath.timestamp(seconds: -1.5) == -1500)
        #expect(TimeMath.timestamp(seconds: 0.0004) == 0)
        // Prometheus' MaxTime and MinTime in seconds are accepted (times 1000 as a Double, they
        // land within 2048 ms of the bounds: Doubles are that far apart there).
        let top = try #require(TimeMath.timestamp(seconds: 9_223_309_901_257_974))
        let bottom = try #require(TimeMath.timestamp(seconds: -9_223_309_901_257_974))
        #expect(top <= TimeMath.maxTime && TimeMath.maxTime - top < 2048)
        #expect(bottom >= TimeMath.minTime && bottom - TimeMath.minTime < 2048)
        for bad in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9.3e15, -9.3e15, 1e19, -1e19,
                    9_223_372_036_854_775_807, -9_223_372_036_854_775_808, .greatestFiniteMagnitude] {
            #expect(TimeMath.timestamp(seconds: bad) == nil, "\(bad)")
        }
        // Whatever is accepted stays inside the bounds: every Double around both bounds.
        for bound in [9_223_309_901_257_974.999, -9_223_309_901_257_974.0] {
            var s = bound
            for _ in 0..<64 { s = s.nextDown }
            for _ in 0..<128 {
                if let ms = TimeMath.timestamp(seconds: s) { #expect(ms >= TimeMath.minTime && ms <= TimeMath.maxTime) }
                s = s.nextUp
            }
        }
    }

    @Test func durationsHaveGosRange() {
        #expect(TimeMath.duration(seconds: 15) == 15_000)
        #expect(TimeMath.duration(seconds: -0.5) == -500)
        #expect(TimeMath.duration(seconds: 9_223_372_036.854) == TimeMath.maxDuration)
        for bad in [Double.nan, .infinity, -.infinity, 1e300, 1e10, -1e10, 1e15] {
            #expect(TimeMath.duration(seconds: bad) == nil, "\(bad)")
        }
    }

    @Test func saturatingArithmeticAndStepCounts() {
        #expect(TimeMath.adding(.max, 1) == .max)
        #expect(TimeMath.adding(.min, -1) == .min)
        #expect(TimeMath.subtracting(.min, 1) == .min)
        #expect(TimeMath.subtracting(.max, -1) == .max)
        #expect(TimeMath.subtracting(5, 3) == 2)
        #expect(TimeMath.steps(start: 0, end: 10, step: 5, limit: 100) == 3)
        #expect(TimeMath.steps(start: 0, end: 10, step: 5, limit: 2) == nil)
        #expect(TimeMath.steps(start: .min, end: .max, step: 1, limit: .max) == nil)
        #expect(TimeMath.steps(start: 10, end: 0, step: 1, limit: 100) == nil)
        #expect(TimeMath.steps(start: 0, end: 10, step: 0, limit: 100) == nil)
        #expect(TimeMath.int64(9.2e18) == 9_200_000_000_000_000_000)
        #expect(TimeMath.int64(9_223_372_036_854_775_808.0) == nil)
        #expect(TimeMath.int64(-9_223_372_036_854_775_808.0) == .min)
        #expect(TimeMath.int64(.nan) == nil)
    }

    @Test func apiDurationsUsePrometheusWords() throws {
        #expect(try parseDuration("9223372036.854") == TimeMath.maxDuration)
        #expect(try parseDuration("292y") == 292 * 365 * 86_400_000)
        for (s, msg) in [("1e300", "cannot parse \"1e300\" to a valid duration. It overflows int64"),
                         ("1e10", "cannot parse \"1e10\" to a valid duration. It overflows int64"),
                         ("300y", "cannot parse \"300y\" to a valid duration. It overflows int64"),
                         ("NaN", "cannot parse \"NaN\" to a valid duration"),
                         ("1y2y", "cannot parse \"1y2y\" to a valid duration"),
                         ("", "cannot parse \"\" to a valid duration")] {
            do {
                _ = try parseDuration(s)
                Issue.record("\(s) must not parse")
            } catch {
                #expect(error.message == msg)
            }
        }
    }

    /// Prometheus 2.42's answers to the same queries (checked against the real binary).
    @Test func queryNumbersOutOfRangeAreParseErrors() {
        let cases = [
            ("rate(up[99999999999999999y])", "1:9: parse error: duration out of range"),
            ("rate(up[300y])", "1:9: parse error: duration out of range"),
            ("up offset 99999999999999999y", "1:11: parse error: duration out of range"),
            ("up offset 9223372036855ms", "1:11: parse error: duration out of range"),
            ("up @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"),
            ("up @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
            ("1e400", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range"),
        ]
        for (q, msg) in cases {
            do {
                _ = try parseExpr(q)
                Issue.record("\(q) must not parse")
            } catch {
                #expect(error.message == msg, "\(q)")
            }
        }
        // Go's %f writes every digit of 1e300; so does ours (and no longer traps converting it).
        do {
            _ = try parseExpr("up @ 1e300")
            Issue.record("up @ 1e300 must not parse")
        } catch {
            // The first 114 digits as Prometheus 2.42 printed them (its answer was cut there).
            #expect(error.message.hasPrefix("1:1: parse error: timestamp out of bounds for @ modifier: 10000000000000000525047602552044202487044685811081591549158541155118024579889081957863713750804478640437044438328"))
            #expect(error.message.hasSuffix(".000000"))
        }
        #expect((try? parseExpr("up offset 9223372036854ms")) != nil)
        #expect((try? parseExpr("rate(up[292y])")) != nil)
    }

    /// holt_winters reported a factor of 1e300 by converting it to Int64: a trap, like `@ 1e300`.
    @Test func errorMessagesFormatAnyNumber() async throws {
        let s = MemoryStorage()
        s.append(Labels(["__name__": "up"]), 0, 1)
        for (q, prefix) in [("holt_winters(up[5m], 1e300, 0.5)", "invalid smoothing factor. Expected: 0 < sf < 1, got: 1000000000000000052504"),
                            ("holt_winters(up[5m], 0.5, -1e300)", "invalid trend factor. Expected: 0 < tf < 1, got: -1000000000000000052504")] {
            do {
                _ = try await Engine().instantQuery(q, at: 0, storage: s)
                Issue.record("\(q) must fail")
            } catch {
                #expect(error.type == .execution && error.message.hasPrefix(prefix), "\(error)")
            }
        }
        #expect(goFixed6(1.5) == "1.500000")
        #expect(goFixed6(-2.0000004) == "-2.000000")
        #expect(goFixed6(9.2e18) == "9200000000000000000.000000")
        #expect(goFixed6(-.infinity) == "-Inf")
    }

    @Test func sampleBudgetCountsSubqueriesAndGeneratedVectors() async throws {
        let s = MemoryStorage()
        // The issue's 1.44 GB query: 43.2 M generated steps, held once as the inner vector and
        // once as the subquery's points, is past the default 50 M budget.
        do {
            _ = try await Engine().instantQuery("sum_over_time(vector(1)[12h:1ms])", at: 86_400_000, storage: s)
            Issue.record("the sample limit must apply to subqueries")
        } catch {
            #expect(error.type == .execution)
            #expect(error.message == "query processing would load too many samples into memory in query execution")
        }
        var small = EngineOptions()
        small.maxSamples = 1000
        let e = Engine(options: small)
        // 301 steps (both ends, as Prometheus 2.42): 301 inner values + 301 points fit in 1000.
        guard case .vector(let v) = try await e.instantQuery("sum_over_time(vector(1)[5m:1s])", at: 3_600_000, storage: s) else {
            Issue.record("not a vector"); return
        }
        #expect(v.first?.v == 301)
        // 601 steps: each copy alone fits, both together do not.
        // 1801 steps: refused before anything is allocated.
        for q in ["sum_over_time(vector(1)[10m:1s])", "sum_over_time(vector(1)[30m:1s])", "count_over_time((time() > 0)[30m:1s])"] {
            await #expect(throws: PromQLError.self, "\(q)") { _ = try await e.instantQuery(q, at: 3_600_000, storage: s) }
        }
        // Generated vectors of a range query count too: 2001 steps of vector(1).
        await #expect(throws: PromQLError.self) {
            _ = try await e.rangeQuery("vector(1)", start: 0, end: 2_000_000, step: 1000, storage: s)
        }
        // Released inputs do not count twice: a chain over 500 steps stays within 1000.
        guard case .matrix(let m) = try await e.rangeQuery("abs(-(vector(1) * 2) + 1)", start: 0, end: 499_000, step: 1000, storage: s) else {
            Issue.record("not a matrix"); return
        }
        #expect(m.first?.samples.count == 500)
    }
}
