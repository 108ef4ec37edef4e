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
