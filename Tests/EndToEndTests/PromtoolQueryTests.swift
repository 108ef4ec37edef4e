import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

/// Prometheus' own client against the collector: `promtool query instant|range|series|labels`
/// (promtool 2.42 from Debian) must work unchanged, as it does against Prometheus.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PromtoolQueryTests {
    /// Runs promtool with `args`; returns exit status, stdout and stderr.
    static func promtool(_ args: [String]) throws -> ToolOutput {
        try runTool(try E2E.peer("/usr/bin/promtool", package: "prometheus"), args)
    }

    @Test func instantRangeSeriesAndLabels() async throws {
        let dir = try tempDir("e2e-promtool")
        let port = freePort()
        let coll = try ChildProcess("collector", try E2E.binary("collector"),
                                    ["--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data", "--no-auth"], logDir: dir)
        defer { coll.stop() }
        let url = "http://127.0.0.1:\(port)"
        try await waitUntil("collector to be ready") { await HTTP.get(url + "/-/ready")?.0 == 200 }

        // Two clusters, five samples 15 s apart ending at `end` (whole seconds).
        let end = Int64(Date().timeIntervalSince1970) * 1000
        let req = WriteRequest(timeseries: ["store-1", "store-2"].enumerated().map { i, cluster in
            TimeSeries(labels: [Label("__name__", "promtool_probe"), Label("cluster", cluster), Label("job", "edge")],
                       samples: (0..<5).map { k in Sample(t: end - Int64(4 - k) * 15_000, v: Double(10 * (i + 1) + k)) })
        })
        let (code, body) = try await HTTP.remoteWrite(url + "/api/v1/write", req)
        #expect(code == 204, "remote-write answered \(code): \(body)")
        let endS = String(end / 1000)

        let (s1, instant, e1) = try Self.promtool(["query", "instant", "--time=\(endS)", url, "sum by (cluster) (promtool_probe)"])
        #expect(s1 == 0, "promtool query instant failed: \(e1)")
        #expect(instant.contains(#"{cluster="store-1"} => 14 @["#), "instant: \(instant)")
        #expect(instant.contains(#"{cluster="store-2"} => 24 @["#), "instant: \(instant)")

        let start = String(end / 1000 - 60)
        let (s2, range, e2) = try Self.promtool(["query", "range", "--start=\(start)", "--end=\(endS)", "--step=15s", url,
                                                 #"promtool_probe{cluster="store-2"}"#])
        #expect(s2 == 0, "promtool query range failed: \(e2)")
        for v in 20...24 { #expect(range.contains("\(v) @["), "range lacks \(v): \(range)") }

        let (s3, series, e3) = try Self.promtool(["query", "series", "--match=promtool_probe", url])
        #expect(s3 == 0, "promtool query series failed: \(e3)")
        #expect(series.contains(#"cluster="store-1""#) && series.contains(#"cluster="store-2""#), "series: \(series)")

        let (s4, labels, e4) = try Self.promtool(["query", "labels", url, "cluster"])
        #expect(s4 == 0, "promtool query labels failed: \(e4)")
        #expect(labels.split(separator: "\n").map(String.init).filter { $0.hasPrefix("store-") } == ["store-1", "store-2"], "labels: \(labels)")

        // A bad query fails in promtool with our parse error passed through.
        let (s5, _, e5) = try Self.promtool(["query", "instant", url, "sum(promtool_probe"])
        #expect(s5 != 0)
        #expect(e5.contains("parse error"), "promtool should show the collector's parse error: \(e5)")
        #expect(coll.isRunning, "collector died: \(coll.logTail())")
    }
}
