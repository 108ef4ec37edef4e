import Foundation
import RemoteWrite
import Testing

@testable import Collector

/// Issue 10, item 2: no single request may stop the server. Every numeric parameter of every
/// endpoint, and PromQL's numbers and durations, are driven with extreme and malformed values
/// through a real in-process server; each answer must be a Prometheus-shaped 4xx (or a 200 with
/// data) and the server must still answer afterwards. Before the fix, thirteen of these trapped
/// the process on integer overflow, which here would crash the test run itself.
@Suite(.serialized) struct ExtremeNumbersTests {
    /// Values that broke parsers somewhere: non-finite, past Int64 or Prometheus' time range at
    /// both ends and just inside, negative, empty, and almost-numbers.
    static let extremes = [
        "Inf", "+Inf", "-Inf", "NaN", "nan", "1e300", "-1e300", "1e400", "-1e400", "1e19", "-1e19", "9.3e15", "-9.3e15",
        "9.2e15", "9223309901257974", "-9223309901257974", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "99999999999999999999999", "0", "-0", "-1", "0.0001", "1e-300",
        "", "1e", "0x", "0x10", "0x1p3", "1y2y", "99999999999999999y", "292y", "293y", "9223372036854ms",
        "9223372036855ms", "-5m", "5m", "abc", " 1", "1,5", "\u{0}",
    ]

    /// A seeded stream of further values (SplitMix64): random bit patterns as Doubles, random
    /// integers near and past Int64, random digit-and-unit strings. Fixed seed: failures repeat.
    static func randomValues(count: Int, seed: UInt64 = 0x5EED_1010) -> [String] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let units = ["y", "w", "d", "h", "m", "s", "ms", ""]
        return (0..<count).map { i in
            switch i % 4 {
            case 0: return "\(Double(bitPattern: next()))"
            case 1: return "\(Int64(bitPattern: next()))"
            case 2: return "\(next())\(units[Int(next() % 8)])\(next() % 1000)\(units[Int(next() % 8)])"
            default: return "\(Double(Int64(bitPattern: next())) * pow(10, Double(next() % 40)))"
            }
        }
    }

    static var values: [String] { extremes + randomValues(count: 24) }

    static func enc(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Starts a server with a few series (also with a region label and a fleet entry).
    static func server() async throws -> TestServer {
        let s = try await TestServer()
        let code = try await s.write(WriteRequest(timeseries: [
            series("up", ["cluster": "a", "region": "eu", "job": "node"], (0..<10).map { (Int64($0) * 15_000, 1) }),
            series("up", ["cluster": "b", "region": "us", "job": "node"], (0..<10).map { (Int64($0) * 15_000, 0) }),
            series("h_bucket", ["le": "+Inf", "cluster": "a"], [(0, 1), (60_000, 5)]),
        ])).0
        #expect(code == 204)
        return s
    }

    /// One request: a 200 with `success`, or a 4xx in Prometheus' error shape. Never a 5xx, and
    /// never a dead server.
    @discardableResult
    static func check(_ s: TestServer, _ path: String) async throws -> (Int, [String: Any]) {
        let (code, json) = try await s.get(path)
        if code == 200 {
            #expect(json["status"] as? String == "success", "\(path): \(json)")
        } else {
            #expect((400..<500).contains(code), "\(path) answered \(code): \(json)")
            #expect(json["status"] as? String == "error", "\(path): \(json)")
            #expect(!(json["errorType"] as? String ?? "").isEmpty, "\(path): \(json)")
            #expect(!(json["error"] as? String ?? "").isEmpty, "\(path): \(json)")
        }
        return (code, json)
    }

    static func alive(_ s: TestServer) async throws {
        let (code, json) = try await s.get("/-/healthy")
        #expect(code == 200, "server no longer healthy: \(json)")
    }

    @Test func everyNumericParameterOfEveryEndpoint() async throws {
        let s = try await Self.server()
        defer { Task { await s.stop() } }
        // `X` is replaced by each value; the other parameters are valid.
        let templates = [
            "/api/v1/query?query=up&time=X", "/api/v1/query?query=up&timeout=X",
            "/api/v1/query_range?query=up&start=X&end=600&step=15", "/api/v1/query_range?query=up&start=0&end=X&step=15",
            "/api/v1/query_range?query=up&start=0&end=600&step=X", "/api/v1/query_range?query=up&start=0&end=600&step=15&timeout=X",
            "/api/v1/series?match%5B%5D=up&start=X", "/api/v1/series?match%5B%5D=up&end=X",
            "/api/v1/labels?start=X", "/api/v1/labels?end=X&match%5B%5D=up",
            "/api/v1/label/region/values?start=X", "/api/v1/label/region/values?end=X",
            "/api/v1/status/tsdb?limit=X", "/api/v1/fleet/clusters?limit=X", "/api/v1/fleet/clusters?offset=X",
            "/api/v1/fleet/clusters?offset=X&limit=X", "/api/v1/rules?type=X", "/api/v1/alerts?type=X",
        ]
        for t in templates {
            for v in Self.values { try await Self.check(s, t.replacingOccurrences(of: "X", with: Self.enc(v))) }
            try await Self.alive(s)
        }
    }

    @Test func promqlNumbersDurationsOffsetsAndAt() async throws {
        let s = try await Self.server()
        defer { Task { await s.stop() } }
        // N: a number (literal or @ timestamp); D: a duration (range, offset, subquery range or step).
        let numberTemplates = [
            "N", "-N", "vector(N)", "up @ N", "up @ -N", "timestamp(up @ N)", "sum_over_time(up[5m] @ N)",
            "max_over_time(up[1h:5m] @ N)", "topk(N, up)", "bottomk(N, up)", "quantile(N, up)",
            "count_values(\"v\", vector(N))", "quantile_over_time(N, up[5m])", "predict_linear(up[5m], N)",
            "holt_winters(up[5m], N, 0.5)", "holt_winters(up[5m], 0.5, N)", "round(up, N)", "year(vector(N))", "day_of_week(vector(N))",
            "clamp(up, N, N)", "histogram_quantile(N, h_bucket)", "time() + N", "up > bool N", "up % N", "up ^ N",
        ]
        let durationTemplates = [
            "rate(up[D])", "up offset D", "up offset -D", "max_over_time(up[D:1m])", "max_over_time(up[30m:D])",
            "absent_over_time(up[D])", "sum_over_time(up[D] @ 9.2e15)", "up @ -9.2e15 offset D", "up @ 9.2e15 offset -D",
            "max_over_time((up offset D)[1h:1m] offset D)", "max_over_time((up @ 9.2e15 offset -D)[D:D] offset -D)",
            "max_over_time(max_over_time((up offset -D)[D:D] offset D)[D:D] offset D)",
        ]
        let durations = ["99999999999999999y", "292y", "293y", "9223372036854ms", "9223372036855ms", "1y2y", "0s", "0",
                         "1ms", "1s", "-1s", "5m", "1e300", "y", "1h30m", "30m1h"]
        var queries: [String] = []
        for t in numberTemplates { for v in Self.values { queries.append(t.replacingOccurrences(of: "N", with: v)) } }
        for t in durationTemplates { for d in durations { queries.append(t.replacingOccurrences(of: "D", with: d)) } }
        for (i, q) in queries.enumerated() {
            try await Self.check(s, "/api/v1/query?time=600&query=" + Self.enc(q))
            try await Self.check(s, "/api/v1/query_range?start=0&end=600&step=60&query=" + Self.enc(q))
            if i % 50 == 0 { try await Self.alive(s) }
        }
        try await Self.alive(s)
    }

    /// The issue's thirteen crashing requests, with the answers Prometheus 2.42 gives where it
    /// gives a sensible one (it answers 200 with wrapped-around times for the first ones).
    @Test func theThirteenRequestsFromTheIssue() async throws {
        let s = try await Self.server()
        defer { Task { await s.stop() } }
        let cases: [(String, Int, String)] = [
            ("/api/v1/query?query=1&time=1e300", 400, "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"1e300\" to a valid timestamp. It overflows int64"),
            ("/api/v1/query?query=1&time=-1e19", 400, "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"-1e19\" to a valid timestamp. It overflows int64"),
            ("/api/v1/query?query=1&time=9.3e15", 400, "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"9.3e15\" to a valid timestamp. It overflows int64"),
            ("/api/v1/query_range?query=1&start=0&end=1&step=1e300", 400,
             "invalid parameter \"step\": cannot parse \"1e300\" to a valid duration. It overflows int64"),
            ("/api/v1/query_range?query=1&start=-9e15&end=9e15&step=1e15", 400,
             "invalid parameter \"step\": cannot parse \"1e15\" to a valid duration. It overflows int64"),
            ("/api/v1/query?query=1&timeout=1e300", 400, "invalid parameter \"timeout\": cannot parse \"1e300\" to a valid duration. It overflows int64"),
            ("/api/v1/series?match%5B%5D=up&start=1e300", 400, "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"1e300\" to a valid timestamp. It overflows int64"),
            ("/api/v1/labels?end=-1e300", 400, "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"-1e300\" to a valid timestamp. It overflows int64"),
            ("/api/v1/label/region/values?start=1e19", 400, "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"1e19\" to a valid timestamp. It overflows int64"),
            ("/api/v1/query?query=" + Self.enc("rate(up[99999999999999999y])"), 400, "invalid parameter \"query\": 1:9: parse error: duration out of range"),
            ("/api/v1/query?query=" + Self.enc("up offset 99999999999999999y"), 400, "invalid parameter \"query\": 1:11: parse error: duration out of range"),
            ("/api/v1/query?query=" + Self.enc("topk(1e300, up)"), 422, "Scalar value 1e+300 overflows int64"),
            ("/api/v1/query_range?query=1&start=-9.2e15&end=9.2e15&step=1e9", 400,
             "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
        ]
        for (path, code, message) in cases {
            let (c, j) = try await Self.check(s, path)
            #expect(c == code, "\(path)")
            #expect(j["error"] as? String == message, "\(path)")
        }
        let (c, j) = try await Self.check(s, "/api/v1/query?query=" + Self.enc("up @ 1e300"))
        #expect(c == 400 && (j["error"] as? String ?? "").contains("timestamp out of bounds for @ modifier: 1000000000000000052504760255"))
        // A page past the end is an empty page, not a crash.
        let (c2, j2) = try await Self.check(s, "/api/v1/fleet/clusters?offset=9223372036854775807")
        #expect(c2 == 200)
        #expect(((j2["data"] as? [String: Any])?["clusters"] as? [Any])?.isEmpty == true)
        // What Prometheus accepts we accept: the widest ranges, just inside every bound.
        for path in ["/api/v1/query?query=up&time=9223309901257974", "/api/v1/query?query=up&time=-9223309901257974",
                     "/api/v1/series?match%5B%5D=up", "/api/v1/query?query=" + Self.enc("up offset 292y"),
                     "/api/v1/query?query=" + Self.enc("rate(up[292y])"), "/api/v1/query_range?query=1&start=0&end=1&step=9e9"] {
            #expect(try await Self.check(s, path).0 == 200, "\(path)")
        }
        try await Self.alive(s)
    }
}
