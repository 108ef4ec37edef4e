import Foundation
import RemoteWrite
import Testing

@testable import Collector

/// /api/v1/metadata from remote-write metadata, per cluster, narrowed to the caller's scope.
@Suite(.serialized) struct MetadataTests {
    @Test func latestPerClusterAndScoped() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let eu = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "store-eu", labels: ["region=eu"])
        let us = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "store-us", labels: ["region=us"])
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "root", password: "root-password", role: "admin", scope: "all")
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "eu-viewer", password: "eu-password", role: "viewer", scope: #"{region="eu"}"#)

        // eu sends a counter family (stored under _total) and an old, then a new HELP for it;
        // us sends a gauge only it has, and the shared family with other HELP.
        let shared = MetricMetadata(type: .counter, family: "http_requests", help: "old")
        #expect(try await s.write(WriteRequest(timeseries: [series("http_requests_total", [:], [(1000, 1)])], metadata: [shared]), token: eu).0 == 204)
        var newer = shared
        newer.help = "Requests served."
        #expect(try await s.write(WriteRequest(timeseries: [series("http_requests_total", [:], [(2000, 2)])], metadata: [newer]), token: eu).0 == 204)
        #expect(try await s.write(WriteRequest(timeseries: [series("http_requests_total", [:], [(1000, 1)]), series("us_only", [:], [(1000, 1)])],
                                               metadata: [MetricMetadata(type: .counter, family: "http_requests", help: "US requests."),
                                                          MetricMetadata(type: .gauge, family: "us_only", help: "Only in us.", unit: "seconds")]),
                                  token: us).0 == 204)
        // Metadata without any series: nobody sees it (it would name a metric no one can query).
        #expect(try await s.write(WriteRequest(metadata: [MetricMetadata(type: .gauge, family: "ghost", help: "no series")]), token: eu).0 == 204)

        let (code, all) = try await s.get("/api/v1/metadata", user: "root", password: "root-password")
        #expect(code == 200)
        let data = try #require(all["data"] as? [String: [[String: String]]])
        #expect(Set(data.keys) == ["http_requests", "us_only"])
        #expect(Set(data["http_requests"] ?? []) == [["type": "counter", "help": "Requests served.", "unit": ""],
                                                     ["type": "counter", "help": "US requests.", "unit": ""]])
        #expect(data["us_only"] == [["type": "gauge", "help": "Only in us.", "unit": "seconds"]])

        let (_, scoped) = try await s.get("/api/v1/metadata", user: "eu-viewer", password: "eu-password")
        #expect(scoped["data"] as? [String: [[String: String]]] == ["http_requests": [["type": "counter", "help": "Requests served.", "unit": ""]]])

        let (_, one) = try await s.get("/api/v1/metadata?metric=us_only", user: "root", password: "root-password")
        #expect((one["data"] as? [String: Any])?.keys.sorted() == ["us_only"])
        let (_, limited) = try await s.get("/api/v1/metadata?limit=1", user: "root", password: "root-password")
        #expect((limited["data"] as? [String: Any])?.count == 1)
        let (_, none) = try await s.get("/api/v1/metadata?limit=0", user: "root", password: "root-password")
        #expect((none["data"] as? [String: Any])?.isEmpty == true)
        let (bad, err) = try await s.get("/api/v1/metadata?limit=x", user: "root", password: "root-password")
        #expect(bad == 400 && err["error"] as? String == "limit must be a number")
    }
}
