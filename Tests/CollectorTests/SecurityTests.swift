import Foundation
import RemoteWrite
import Storage
import Testing

@testable import Collector

/// The attacks of the security review, each as a test: a viewer's password or one cluster's
/// ingest token against a collector with authentication on.
@Suite struct SecurityTests {
    static let viewerPassword = "eu viewer password"

    /// A collector with clusters eu-1 (region eu) and us-1 (region us, with a secret metric),
    /// an eu-scoped viewer and the admin.
    struct Fleet {
        let s: TestServer
        let admin: String
        let euToken: String
        let usToken: String
        var viewer: String { basicAuthHeader("ana", SecurityTests.viewerPassword) }
        var adminAuth: String { basicAuthHeader("admin", admin) }
    }

    static func fleet(rules: String? = nil) async throws -> Fleet {
        var ruleFile: String?
        if let rules {
            let path = NSTemporaryDirectory() + "fleetscope-rules-\(UUID().uuidString).yml"
            try rules.write(toFile: path, atomically: true, encoding: .utf8)
            ruleFile = path
        }
        let s = try await TestServer(noAuth: false) { o in
            if let ruleFile { o.ruleFiles = [ruleFile] }
        }
        let admin = try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let eu = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "eu-1")
        let us = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "us-1")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(try await s.write(WriteRequest(timeseries: [
            series("up", ["region": "eu", "job": "node"], [(now - 1000, 0)]),
            series("eu_metric", ["region": "eu"], [(now - 1000, 1)]),
        ]), token: eu).0 == 204)
        #expect(try await s.write(WriteRequest(timeseries: [
            series("up", ["region": "us", "job": "node"], [(now - 1000, 0)]),
            series("secret_us_metric", ["region": "us", "customer": "acme-us-secret"], [(now - 1000, 7)]),
        ]), token: us).0 == 204)
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: viewerPassword, role: "viewer", scope: #"{region="eu"}"#)
        return Fleet(s: s, admin: admin, euToken: eu, usToken: us)
    }

    static let secrets = ["us-1", "acme-us-secret", "secret_us_metric", "\"us\""]

    // MARK: 1. the write path takes ingest tokens only, however it is spelled

    @Test func viewerCannotWriteThroughAnySpellingOfTheWritePath() async throws {
        let f = try await Self.fleet()
        defer { Task { await f.s.stop() } }
        let forged = WireEncoder.encodeCompressed(WriteRequest(timeseries: [series("up", ["cluster": "us-1", "region": "us"], [(Int64(Date().timeIntervalSince1970 * 1000), 1)])]))
        let proto = ["Content-Encoding: snappy", "Content-Type: application/x-protobuf"]
        let spellings = ["/api/v1/write", "/api/v1/write/", "//api/v1/write", "/api//v1/write", "/api/v1/write//",
                         "/api/v1/./write", "/API/v1/write", "/api/v1/Write", "/api/v1/write?x=1", "/api/v1/write%2F"]
        for path in spellings {
            for auth in [f.viewer, f.adminAuth, ""] {
                let (code, _, body) = try await f.s.raw("POST", path, headers: proto + (auth.isEmpty ? [] : [auth]), body: forged)
                #expect(!(200..<300).contains(code), "POST \(path) with \(auth.prefix(20)) answered \(code): \(body)")
            }
        }
        // Nothing was forged: us-1's up is still 0.
        let (_, _, q) = try await f.s.raw("GET", "/api/v1/query?query=up%7Bcluster%3D%22us-1%22%7D", headers: [f.adminAuth])
        #expect(q.contains(#","0"]"#) && !q.contains(#","1"]"#), "\(q)")
        // The route, not the string, decides: an ingest token writes through any spelling the router accepts.
        let ok = WireEncoder.encodeCompressed(WriteRequest(timeseries: [series("probe", [:], [(Int64(Date().timeIntervalSince1970 * 1000), 1)])]))
        #expect(try await f.s.raw("POST", "/api/v1/write/", headers: proto + ["Authorization: Bearer \(f.euToken)"], body: ok).0 == 204)
        // Other methods: 405 naming POST (and OPTIONS, as Prometheus), never a write.
        for m in ["GET", "PUT", "DELETE", "PATCH"] {
            let (code, headers, body) = try await f.s.raw(m, "/api/v1/write", headers: [f.viewer])
            #expect(code == 405 && headers["allow"] == "OPTIONS, POST", "\(m): \(code) \(body)")
        }
        // Ingest tokens never read.
        for path in ["/api/v1/query?query=up", "/api/v1/fleet/summary", "/metrics", "/"] {
            #expect(try await f.s.raw("GET", path, headers: ["Authorization: Bearer \(f.euToken)"]).0 == 401, "\(path)")
        }
    }

    // MARK: 2. scope holds on every endpoint

    static let rules = """
        groups:
          - name: fleet
            interval: 15s
            rules:
              - alert: SecretUS
                expr: sum(secret_us_metric{customer="acme-us-secret"}) > 0
                labels: { region: eu }
                annotations: { summary: "{{ $labels.customer }} at {{ $value }}" }
              - alert: EUDown
                expr: up{region="eu"} == 0
                annotations: { summary: "eu target {{ $labels.cluster }} down" }
              - alert: AnyDown
                expr: up == 0
                annotations: { summary: "fleet-wide count {{ $value }} acme-us-secret" }
        """

    @Test func scopedViewerSeesNothingOutsideItsScopeOnAnyEndpoint() async throws {
        let f = try await Self.fleet(rules: Self.rules)
        defer { Task { await f.s.stop() } }
        await f.s.server.rules.evaluate(group: 0, at: Int64(Date().timeIntervalSince1970 * 1000))
        let everything = "%7B__name__%3D~%22.%2B%22%7D"
        let paths = [
            "/api/v1/query?query=\(everything)", "/api/v1/query_range?query=\(everything)&start=\(Int(Date().timeIntervalSince1970) - 600)&end=\(Int(Date().timeIntervalSince1970))&step=60",
            "/api/v1/series?match[]=\(everything)", "/api/v1/labels", "/api/v1/label/__name__/values", "/api/v1/label/customer/values",
            "/api/v1/label/cluster/values", "/api/v1/label/region/values", "/api/v1/status/tsdb?limit=100000",
            "/api/v1/rules", "/api/v1/alerts", "/api/v1/fleet/summary", "/api/v1/fleet/grid", "/api/v1/fleet/clusters",
            "/api/v1/fleet/clusters/eu-1", "/", "/alerts", "/explore", "/clusters/eu-1",
        ]
        for p in paths {
            let (code, _, body) = try await f.s.raw("GET", p, headers: [f.viewer])
            #expect(code == 200, "\(p): \(code) \(body)")
            for secret in Self.secrets { #expect(!body.contains(secret), "\(p) leaks \(secret): \(body.prefix(600))") }
            // The admin sees the same endpoints with the us data: the test data is really there.
            if p.hasPrefix("/api/v1/") && !p.contains("/fleet/clusters/") && !p.contains("/region/") && p != "/api/v1/labels" {
                let (_, _, all) = try await f.s.raw("GET", p, headers: [f.adminAuth])
                #expect(Self.secrets.contains { all.contains($0) }, "admin sees no us data on \(p): \(all.prefix(300))")
            }
        }
        #expect(try await f.s.raw("GET", "/api/v1/fleet/clusters/us-1", headers: [f.viewer]).0 == 404)
        // In scope: what the viewer may see is there.
        let (_, _, status) = try await f.s.raw("GET", "/api/v1/status/tsdb?limit=100", headers: [f.viewer])
        #expect(status.contains("eu_metric") && status.contains("eu-1"), "\(status)")
        let (_, _, alerts) = try await f.s.raw("GET", "/api/v1/alerts", headers: [f.viewer])
        #expect(alerts.contains("EUDown") && alerts.contains("eu target eu-1 down"), "\(alerts)")
        #expect(alerts.contains("AnyDown") && !alerts.contains("fleet-wide count"), "\(alerts)")
        #expect(!alerts.contains("SecretUS"), "\(alerts)")
        let (_, _, rules) = try await f.s.raw("GET", "/api/v1/rules", headers: [f.viewer])
        #expect(rules.contains(#"up{region=\"eu\"} == 0"#), "\(rules)")
        #expect(!rules.contains("up == 0") && !rules.contains("SecretUS"), "\(rules)")
    }

    @Test func metricsNeedAnUnscopedUser() async throws {
        let f = try await Self.fleet()
        defer { Task { await f.s.stop() } }
        let (code, _, body) = try await f.s.raw("GET", "/metrics", headers: [f.viewer])
        #expect(code == 403 && body.contains("--scope all"), "\(body)")
        let (ok, _, metrics) = try await f.s.raw("GET", "/metrics", headers: [f.adminAuth])
        #expect(ok == 200 && metrics.contains("fleetscope_fleet_clusters"))
    }
}
