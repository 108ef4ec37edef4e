import Foundation
import RemoteWrite
import Storage
import Testing

@testable import Collector

@Suite struct IngestTests {
    @Test func storesAndListsSeries() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let (code, _) = try await s.write(WriteRequest(timeseries: [
            series("up", ["job": "node", "cluster": "a"], [(1000, 1), (2000, 1)]),
            series("up", ["job": "node", "cluster": "b"], [(1000, 0)]),
        ]))
        #expect(code == 204)
        let (c2, json) = try await s.get("/api/v1/series?match[]=up&start=0&end=10")
        #expect(c2 == 200)
        #expect(seriesSet(json) == [["__name__": "up", "job": "node", "cluster": "a"], ["__name__": "up", "job": "node", "cluster": "b"]])
        let (_, labels) = try await s.get("/api/v1/label/cluster/values")
        #expect(labels["data"] as? [String] == ["a", "b"])
    }

    @Test func badSeriesRejectedGoodOnesKept() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let (code, msg) = try await s.write(WriteRequest(timeseries: [
            series("good", [:], [(1000, 1)]),
            TimeSeries(labels: [Label("__name__", "bad"), Label("1abc", "x")], samples: [Sample(t: 1000, v: 1)]),
            TimeSeries(labels: [Label("job", "x")], samples: [Sample(t: 1000, v: 1)]),
            TimeSeries(labels: [Label("__name__", "dup"), Label("a", "1"), Label("a", "2")], samples: [Sample(t: 1000, v: 1)]),
        ]))
        #expect(code == 400)
        #expect(msg.contains("stored 1 of 4 series"))
        #expect(msg.contains("invalid label name \"1abc\""))
        #expect(msg.contains("missing_metric_name"))
        #expect(msg.contains("duplicate label name \"a\""))
        let (_, json) = try await s.get("/api/v1/series?match[]=%7B__name__%3D~%22.%2B%22%7D")
        #expect(seriesSet(json) == [["__name__": "good"]])
    }

    @Test func unsortedLabelsAreSortedAndEmptyValuesDropped() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let ts = TimeSeries(labels: [Label("z", "1"), Label("__name__", "m"), Label("empty", ""), Label("a", "2")], samples: [Sample(t: 5, v: 1)])
        #expect(try await s.write(WriteRequest(timeseries: [ts])).0 == 204)
        let (_, json) = try await s.get("/api/v1/series?match[]=m")
        #expect(seriesSet(json) == [["__name__": "m", "a": "2", "z": "1"]])
    }

    @Test func malformedBodiesGetPreciseErrors() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let req = WriteRequest(timeseries: [series("up", [:], [(1, 1)])])
        let (c1, m1) = try await s.write(req, body: [0x05, 0xFF, 0x01, 0x02])
        #expect(c1 == 400 && m1.contains("snappy"))
        let (c2, m2) = try await s.write(req, body: Snappy.compress([0x0A, 0x50, 0x01]))
        #expect(c2 == 400 && m2.contains("protobuf"))
        let (c3, m3) = try await s.write(req, encoding: "gzip")
        #expect(c3 == 415 && m3.contains("gzip"))
        // A 6-byte body claiming 4 GiB decompressed: refused from the header alone.
        let (c4, m4) = try await s.write(req, body: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])
        #expect(c4 == 413 && m4.contains("exceeds the limit"))
        // The store is unharmed: a good request still works.
        #expect(try await s.write(req).0 == 204)
    }

    @Test func apiErrorsUsePrometheusShape() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let (c1, j1) = try await s.get("/api/v1/query_range?query=up&start=10&end=5&step=1")
        #expect(c1 == 400)
        #expect(j1["status"] as? String == "error")
        #expect(j1["errorType"] as? String == "bad_data")
        #expect(j1["error"] as? String == "invalid parameter \"end\": end timestamp must not be before start time")
        let (c2, j2) = try await s.get("/api/v1/series")
        #expect(c2 == 400 && j2["error"] as? String == "no match[] parameter provided")
        let (c3, j3) = try await s.get("/api/v1/query_range?query=up&start=0&end=100000&step=1")
        #expect(c3 == 400 && (j3["error"] as? String ?? "").contains("11,000 points"))
        let (c4, _) = try await s.get("/api/v1/label/bad-name/values")
        #expect(c4 == 400)
    }

    @Test func ownMetricsCountIngest() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        _ = try await s.write(WriteRequest(timeseries: [series("up", [:], [(1, 1), (2, 1), (3, 1)])]))
        let (_, j) = try await s.get("/metrics")
        let text = j["raw"] as? String ?? ""
        #expect(text.contains("fleetscope_samples_ingested_total 3"))
        #expect(text.contains("fleetscope_remote_write_requests_total{code=\"204\"} 1"))
    }
}

/// Issue: one edge device with its clock a century ahead wiped the store and froze ingest.
@Suite struct ClockTests {
    static let century: Int64 = 100 * 365 * 86_400_000
    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func futureSamplesAreRefusedPerSeriesAndHarmNothing() async throws {
        let s = try await TestServer(noAuth: true) { $0.tsdb.retention = 86_400_000 }
        defer { Task { await s.stop() } }
        let now = Self.nowMs
        // Ordinary history first, then the broken device.
        #expect(try await s.write(WriteRequest(timeseries: [series("good", ["cluster": "ok-1"], [(now - 60_000, 1)])])).0 == 204)
        let (code, msg) = try await s.write(WriteRequest(timeseries: [
            series("good", ["cluster": "ok-1"], [(now, 2)]),
            series("up", ["cluster": "rtc-less", "job": "node"], [(now + Self.century, 1)]),
            series("mixed", ["cluster": "rtc-less"], [(now - 1000, 5), (now + 3_600_000, 6)]),
            series("drift", ["cluster": "ok-1"], [(now + 300_000, 7)]),  // 5 min ahead: ordinary drift
        ]))
        #expect(code == 400)
        #expect(msg.contains("cluster \"rtc-less\"") && msg.contains("rejected (future)"), "\(msg)")
        #expect(msg.contains("100y") && msg.contains("up{") && msg.contains("ingest.max_future 10m"), "\(msg)")
        #expect(msg.contains("stored 4 of 4 series"), "\(msg)")
        // The good series, the good sample of the mixed one and the drifting one are stored.
        var counts: [String: String] = [:]
        for name in ["good", "mixed", "drift"] {
            let (_, j) = try await s.get("/api/v1/query?query=count_over_time(\(name)%5B10m%5D)&time=\(Double(now + 300_000) / 1000)")
            counts[name] = (((j["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last as? String
        }
        #expect(counts == ["good": "2", "mixed": "1", "drift": "1"])
        // Later writes from everyone still go in; maintenance deletes nothing.
        #expect(try await s.write(WriteRequest(timeseries: [series("good", ["cluster": "ok-1"], [(now + 1000, 3)])])).0 == 204)
        try s.server.tsdb.maintain()
        #expect(s.server.tsdb.metrics.retentionDeletedBlocks == 0)
        // The operator sees it: per-cluster counter, and the cluster flagged in the fleet API.
        let (_, _, metrics) = try await s.raw("GET", "/metrics")
        #expect(metrics.contains(#"fleetscope_samples_rejected_total{reason="future",cluster="rtc-less"} 2"#), "\(metrics)")
        let (_, c) = try await s.get("/api/v1/fleet/clusters/rtc-less")
        let ahead = ((c["data"] as? [String: Any])?["clock_ahead_seconds"] as? NSNumber)?.int64Value ?? 0
        #expect(ahead > Self.century / 1000 - 60, "\(c)")
        #expect((c["data"] as? [String: Any])?["health"] as? String != "healthy")
        let (_, ok) = try await s.get("/api/v1/fleet/clusters/ok-1")
        #expect((ok["data"] as? [String: Any])?["clock_ahead_seconds"] is NSNull, "\(ok)")
    }

    @Test func maxFutureIsConfigurable() async throws {
        let s = try await TestServer(noAuth: true) { $0.maxFutureMs = 1000 }
        defer { Task { await s.stop() } }
        let (code, msg) = try await s.write(WriteRequest(timeseries: [series("x", ["cluster": "c"], [(Self.nowMs + 120_000, 1)])]))
        // 2 min ahead when sent; a loaded machine may take a second or more to receive it.
        let saysHowFar = msg.contains("up to 2m ahead") || msg.contains("up to 1m")
        #expect(code == 400 && saysHowFar && msg.contains("ingest.max_future 1s"), "\(msg)")
    }

    @Test func configKeyParses() throws {
        let path = NSTemporaryDirectory() + "fleetscope-\(UUID().uuidString).yml"
        try "ingest:\n  max_future: 1h\n".write(toFile: path, atomically: true, encoding: .utf8)
        var o = CollectorOptions()
        try o.apply(configFile: path)
        #expect(o.maxFutureMs == 3_600_000)
    }

    @Test func durationsReadLikePeopleWriteThem() {
        #expect(formatDuration(ms: 250) == "250ms")
        #expect(formatDuration(ms: 90_000) == "1m30s")
        #expect(formatDuration(ms: Self.century + 12 * 86_400_000 + 5000) == "100y12d")
        #expect(formatDuration(ms: Self.century - 5000) == "100y")
        #expect(formatDuration(ms: 119_900) == "2m")
        #expect(formatDuration(ms: 3_600_000 + 29_000) == "1h")
        #expect(formatDuration(ms: 59_600) == "1m")
    }
}

@Suite struct WriteProtocolTests {
    @Test func writeNeedsSnappyEncodingAndPost() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let req = WriteRequest(timeseries: [series("up", [:], [(1, 1)])])
        let (c1, m1) = try await s.write(req, encoding: nil)
        #expect(c1 == 415 && m1.contains("Content-Encoding: snappy"), "\(m1)")
        let (c2, h2, m2) = try await s.raw("GET", "/api/v1/write")
        #expect(c2 == 405 && h2["allow"] == "OPTIONS, POST" && m2.contains("POST"), "\(m2)")
    }

    /// A series with invalid UTF-8 is refused alone; the rest of its request is stored.
    @Test func invalidUTF8RejectsOnlyItsSeries() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        func label(_ n: [UInt8], _ v: [UInt8]) -> [UInt8] { [0x0A, UInt8(n.count)] + n + [0x12, UInt8(v.count)] + v }
        func ts(_ labels: [[UInt8]]) -> [UInt8] {
            let sample: [UInt8] = [0x09] + withUnsafeBytes(of: (1.0).bitPattern.littleEndian, Array.init) + [0x10, 0x01]
            var body: [UInt8] = []
            for l in labels { body += [0x0A, UInt8(l.count)] + l }
            body += [0x12, UInt8(sample.count)] + sample
            return [0x0A, UInt8(body.count)] + body
        }
        let good = ts([label(Array("__name__".utf8), Array("good".utf8))])
        let bad = ts([label(Array("__name__".utf8), Array("bad".utf8)), label(Array("x".utf8), [0x66, 0xC3, 0x28])])
        let (code, msg) = try await s.write(WriteRequest(), body: Snappy.compress(good + bad))
        #expect(code == 400 && msg.contains("stored 1 of 2 series") && msg.contains("UTF-8"), "\(msg)")
        let (_, json) = try await s.get("/api/v1/series?match[]=good")
        #expect(seriesSet(json) == [["__name__": "good"]])
    }

    /// Without tokens (behind an authenticating proxy) the per-cluster limit counts the
    /// clusters the samples belong to, not the one proxy connection they came through.
    @Test func admissionIsPerClusterWithoutTokens() async throws {
        let admission = Admission(.init(maxInflightBytes: 1 << 30, maxInflightPerCluster: 1))
        #expect(admission.enter(clusters: ["a"]) == nil)
        #expect(admission.enter(clusters: ["b", "a"]) == "a")
        #expect(admission.enter(clusters: ["b"]) == nil)  // all or nothing: b was not taken above
        admission.leave(clusters: ["a", "b"])
        #expect(admission.enter(clusters: ["a", "b"]) == nil)

        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let ingest = IngestService(tsdb: s.server.tsdb, metrics: CollectorMetrics(), admission: Admission(.init(maxInflightBytes: 1 << 30, maxInflightPerCluster: 1)),
                                   maxDecodedBytes: 1 << 20, maxFutureMs: 600_000, now: { Int64(Date().timeIntervalSince1970 * 1000) },
                                   logger: .init(label: "t"), onAppended: { _, _, _ in })
        #expect(ingest.admission.enter(clusters: ["store-a"]) == nil)  // store-a is busy
        func send(_ cluster: String) async -> IngestOutcome {
            await ingest.ingest(body: WireEncoder.encodeCompressed(WriteRequest(timeseries: [series("up", ["cluster": cluster], [(1000, 1)])])),
                                contentEncoding: "snappy", contentType: "application/x-protobuf", identity: nil)
        }
        #expect(await send("store-b").status == 204)
        let busy = await send("store-a")
        #expect(busy.status == 429 && busy.message.contains("store-a"))
    }
}
