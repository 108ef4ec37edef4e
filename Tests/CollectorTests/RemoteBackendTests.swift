import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport
import TSDB

@testable import Collector

/// `storage.remote.query_url` against the real thing: a VictoriaMetrics single node and a
/// Prometheus 2.42, each as the query backend in turn, loaded by remote-write with the same
/// data as an embedded collector. Through the remote backend the collector must answer what
/// the embedded mode answers, and a scoped viewer must see only its scope, through query,
/// query_range, series, labels and label values.
@Suite(.serialized) struct RemoteBackendTests {
    enum Backend: String { case victoriaMetrics = "victoria-metrics", prometheus }

    /// Queries both backends answer as the embedded engine does. MetricsQL differs from PromQL
    /// on purpose elsewhere, so the queries only Prometheus answers alike are apart: rate and
    /// increase without extrapolation, `*_over_time` windows that take the sample before the
    /// window and keep `__name__`, `scalar()` answered as a vector (VictoriaMetrics 1.79).
    static let common: [String] = [
        "gauge_a", "gauge_a{cluster=\"c1\"}", "sum by (cluster) (gauge_a)", "sum(gauge_a)", "count by (region) (gauge_a)",
        "gauge_a * 2", "gauge_a > 0", "max by (region) (gauge_a)", "label_replace(gauge_a, \"x\", \"$1\", \"cluster\", \"c(.*)\")",
        "absent(nonexistent{cluster=\"c1\"})", "absent(gauge_a)", "vector(1)", "gauge_a offset 5m",
        "gauge_a * on(cluster, instance) group_left cluster_info", "topk(2, gauge_a)", "count({__name__=~\".+\"})",
        "{__name__=~\"gauge_.*\", region!=\"eu\"}", "gauge_a or on() vector(1)", "gauge_a unless on(cluster) cluster_info{region=\"us\"}",
        "count({region=~\".*\", __name__=~\".+\"})", "sum by (region) ({__name__=~\".+\"})",
        // Parse errors are ours in both modes: the backend never sees them.
        "sum(", "rate(gauge_a)", "{region=~\".*\"}",
    ]
    static let prometheusOnly: [String] = [
        "gauge_a + on(region) gauge_a",
        "avg_over_time(gauge_a[5m])", "max_over_time(gauge_a[10m])", "min_over_time(gauge_a[10m] offset 5m)", "scalar(sum(gauge_a))",
        "rate(node_cpu_seconds_total[5m])", "sum by (cluster) (increase(node_cpu_seconds_total[10m]))",
        "max_over_time(rate(node_cpu_seconds_total[5m])[10m:1m])", "sum_over_time(gauge_a[5m:])", "absent(nonexistent{region=\"us\"})",
    ]

    @Test(.timeLimit(.minutes(8))) func victoriaMetricsAsQueryBackend() async throws { try await check(.victoriaMetrics) }
    @Test(.timeLimit(.minutes(8))) func prometheusAsQueryBackend() async throws { try await check(.prometheus) }
    /// Several collectors as one: two replicas on one private PostgreSQL and one VictoriaMetrics.
    /// Every sample is written through replica A (each cluster with its own ingest token, through
    /// A's forward queue); every query, for the admin and the scoped viewer, goes to replica B,
    /// and must answer what the embedded mode answers. Users and tokens are created once, in the
    /// shared store.
    @Test(.timeLimit(.minutes(8))) func twoReplicasOnVictoriaMetrics() async throws { try await check(.victoriaMetrics, replicas: true) }

    func check(_ kind: Backend, replicas: Bool = false) async throws {
        let dir = try tempDir("remote-backend")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let backend = try Self.start(kind, dir: dir, port: port)
        defer { backend.stop() }
        try await waitUntil("\(kind.rawValue) to become ready") {
            await HTTP.get(base + (kind == .prometheus ? "/-/ready" : "/health"))?.0 == 200 || !backend.isRunning
        }

        let data = RemoteBackendData.generate(end: (Int64(Date().timeIntervalSince1970) / 60 - 1) * 60_000)
        let pg = replicas ? try PostgresServer(logDir: dir) : nil
        defer { pg?.stop() }
        let shared = try pg.map { try PostgresOptions(url: $0.url) }
        func remoteServer() async throws -> TestServer {
            try await TestServer(noAuth: false) {
                $0.remoteStorage = RemoteStorageOptions(writeURL: base + "/api/v1/write", queryURL: base)
                $0.postgres = shared
            }
        }
        let writer = replicas ? try await remoteServer() : nil
        defer { if let writer { Task { await writer.stop() } } }
        if let writer {
            for cluster in ["c1", "c2", "c3", "c4"] {
                let token = try await AdminCommands.createToken(dataDir: writer.dataDir, postgres: shared, cluster: cluster)
                for var req in data.requests() {
                    req.timeseries.removeAll { !$0.labels.contains(Label("cluster", cluster)) }
                    let (code, body) = try await writer.write(req, token: token)
                    guard code == 204 else { throw TestError("remote write through replica A: \(code) \(body)") }
                }
            }
        } else {
            for req in data.requests() {
                let (code, body) = try await HTTP.remoteWrite(base + "/api/v1/write", req)
                guard (200..<300).contains(code) else { throw TestError("remote write to \(kind.rawValue): \(code) \(body)") }
            }
        }
        let embedded = try await TestServer(noAuth: false)
        defer { Task { await embedded.stop() } }
        _ = try await embedded.server.tsdb.append(data.series)
        let remote = try await remoteServer()
        defer { Task { await remote.stop() } }
        for s in replicas ? [embedded] : [embedded, remote] {
            try await AdminCommands.addUser(dataDir: s.dataDir, name: "root", password: "root-password", role: "admin", scope: nil)
            try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "ana-password", role: "viewer", scope: #"{region="eu"}"#)
        }
        if let writer {
            // Created through A's store, used on B: the users live in PostgreSQL.
            try await AdminCommands.addUser(dataDir: writer.dataDir, postgres: shared, name: "root", password: "root-password", role: "admin", scope: nil)
            try await AdminCommands.addUser(dataDir: writer.dataDir, postgres: shared, name: "ana", password: "ana-password", role: "viewer", scope: #"{region="eu"}"#)
        }
        let root = ("root", "root-password"), ana = ("ana", "ana-password")

        // Remote-written samples become searchable a moment later (VictoriaMetrics after a flush).
        let at = data.end - 17 * 60_000 + 7_000
        let countQuery = "/api/v1/query?" + form(["query": "count({__name__=~\".+\"})", "time": secs(at)])
        // Every sample, not just every series: VictoriaMetrics makes parts searchable one by one.
        let samples = data.series.reduce(0) { $0 + $1.samples.count }
        let samplesQuery = "/api/v1/query?" + form(["query": "sum(count_over_time({__name__=~\".+\"}[61m]))", "time": secs(data.end)])
        try await waitUntil("the backend to show every sample") {
            if kind == .victoriaMetrics { _ = await HTTP.get(base + "/internal/force_flush") }
            let (_, j) = (try? await remote.get(samplesQuery, user: root.0, password: root.1)) ?? (0, [:])
            return Self.vector(j).first.map { Int(Double(($0["value"] as! [Any])[1] as! String)!) } == samples
        }

        let queries = Self.common + (kind == .prometheus ? Self.prometheusOnly : [])
        var failures: [String] = []
        for (user, times) in [(root, [at, data.end - 3 * 60_000]), (ana, [at])] {
            for q in queries {
                for t in times {
                    let path = "/api/v1/query?" + form(["query": q, "time": secs(t)])
                    if let d = try await differ(path, embedded, remote, user) { failures.append("\(user.0) instant \(q) @\(t): \(d)") }
                }
                let path = "/api/v1/query_range?" + form(["query": q, "start": secs(data.end - 40 * 60_000), "end": secs(data.end - 60_000), "step": "60"])
                if let d = try await differ(path, embedded, remote, user) { failures.append("\(user.0) range \(q): \(d)") }
            }
            for path in ["/api/v1/series?" + form(["match[]": "{__name__=~\".+\"}"]),
                         "/api/v1/series?" + form(["match[]": "gauge_a{region!=\"eu\"}"]) + "&" + form(["match[]": "cluster_info"]),
                         "/api/v1/labels", "/api/v1/labels?" + form(["match[]": "cluster_info"]),
                         "/api/v1/label/cluster/values", "/api/v1/label/region/values",
                         "/api/v1/label/instance/values?" + form(["match[]": "gauge_a{cluster=\"c3\"}"])] {
                if let d = try await differ(path, embedded, remote, user) { failures.append("\(user.0) \(path): \(d)") }
            }
        }
        for f in failures.prefix(30) { print("REMOTE \(kind.rawValue) " + f) }
        #expect(failures.isEmpty, "\(failures.count) answers through \(kind.rawValue) differ from the embedded mode; first: \(failures.first ?? "")")

        // Rules evaluate through the same path, unscoped: the same recorded series as embedded.
        let rule = try #require(try RuleFileParser.parse("groups:\n  - name: g\n    rules:\n      - record: region:gauge_a:sum\n        expr: sum by (region) (gauge_a)\n",
                                                         file: "t.yml", defaultIntervalMs: 10_000).first?.rules.first)
        var viaRemote = RuleState(rule: rule), viaEmbedded = RuleState(rule: rule)
        let recordedRemote = await viaRemote.evaluate(backend: remote.server.api.backend, timeout: .seconds(30), now: at)
        let recordedEmbedded = await viaEmbedded.evaluate(backend: embedded.server.api.backend, timeout: .seconds(30), now: at)
        #expect(viaRemote.health == "ok" && recordedRemote.count == 2, "\(viaRemote.lastError)")
        // Summation order may differ in the last bit (VictoriaMetrics adds in its own order).
        let byLabels = Dictionary(uniqueKeysWithValues: recordedEmbedded.map { ($0.labels, $0.samples[0].v) })
        #expect(recordedRemote.allSatisfy { r in byLabels[r.labels].map { Self.close("\($0)", "\(r.samples[0].v)") } == true },
                "\(recordedRemote.map { "\($0.labels) \($0.samples)" }) vs \(recordedEmbedded.map { "\($0.labels) \($0.samples)" })")

        // The scoped viewer through the remote backend: nothing beyond region="eu", anywhere.
        let (_, series) = try await remote.get("/api/v1/series?" + form(["match[]": "{__name__=~\".+\"}"]), user: ana.0, password: ana.1)
        let seen = (series["data"] as? [[String: String]]) ?? []
        #expect(!seen.isEmpty && seen.allSatisfy { $0["region"] == "eu" })
        let (_, regions) = try await remote.get("/api/v1/label/region/values", user: ana.0, password: ana.1)
        #expect(regions["data"] as? [String] == ["eu"])
        let (_, clusters) = try await remote.get("/api/v1/label/cluster/values", user: ana.0, password: ana.1)
        #expect(clusters["data"] as? [String] == ["c1", "c2"])
        let (_, us) = try await remote.get("/api/v1/query?" + form(["query": "{region=\"us\"} or {region!=\"eu\", __name__=~\".+\"}", "time": secs(at)]), user: ana.0, password: ana.1)
        #expect(us["status"] as? String == "success" && Self.vector(us).isEmpty)
        let (_, range) = try await remote.get("/api/v1/query_range?" + form(["query": "{__name__=~\".+\"}", "start": secs(data.end - 600_000), "end": secs(data.end), "step": "60"]), user: ana.0, password: ana.1)
        let rangeSeries = ((range["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        #expect(!rangeSeries.isEmpty && rangeSeries.allSatisfy { ($0["metric"] as? [String: String])?["region"] == "eu" })

        // Which backend, and whether it answers; then the backend gone: a clear 503 naming it.
        let (readyCode, _, ready) = try await remote.raw("GET", "/-/ready")
        #expect(readyCode == 200 && ready.contains("remote \(base), reachable"), "\(ready)")
        let (_, status) = try await remote.get("/api/v1/status/tsdb", user: root.0, password: root.1)
        let qb = (status["data"] as? [String: Any])?["queryBackend"] as? [String: Any]
        #expect(qb?["url"] as? String == base && qb?["reachable"] as? Bool == true)
        backend.stop()
        let (code, down) = try await remote.get(countQuery, user: root.0, password: root.1)
        #expect(code == 503 && down["errorType"] as? String == "unavailable" && (down["error"] as? String ?? "").contains(base), "\(code) \(down)")
        let (_, _, readyDown) = try await remote.raw("GET", "/-/ready")
        #expect(readyDown.contains("unreachable"), "\(readyDown)")
    }

    static func start(_ kind: Backend, dir: String, port: Int) throws -> ChildProcess {
        switch kind {
        case .victoriaMetrics:
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics") else {
                throw TestError("/usr/bin/victoria-metrics not found: apt-get install -y victoria-metrics")
            }
            return try ChildProcess("victoria-metrics", "/usr/bin/victoria-metrics", [
                "-httpListenAddr=127.0.0.1:\(port)", "-storageDataPath=\(dir)/vm", "-search.latencyOffset=0s",
                "-search.disableCache", "-retentionPeriod=1y",
            ], logDir: dir)
        case .prometheus:
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
                throw TestError("/usr/bin/prometheus not found: apt-get install -y prometheus")
            }
            try "global:\n  evaluation_interval: 1m\n".write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
            return try ChildProcess("prometheus", "/usr/bin/prometheus", [
                "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus",
                "--web.listen-address=127.0.0.1:\(port)", "--web.enable-remote-write-receiver", "--query.lookback-delta=5m",
            ], logDir: dir)
        }
    }

    /// nil when both collectors answer the same (status, errorType, and data up to series order
    /// and 1e-9 relative in values); otherwise what differs.
    func differ(_ path: String, _ a: TestServer, _ b: TestServer, _ user: (String, String)) async throws -> String? {
        let (ca, ja) = try await a.get(path, user: user.0, password: user.1)
        let (cb, jb) = try await b.get(path, user: user.0, password: user.1)
        guard ca == cb, ja["status"] as? String == jb["status"] as? String, ja["errorType"] as? String == jb["errorType"] as? String else {
            return "embedded \(ca) \(ja), remote \(cb) \(jb)"
        }
        let na = Self.normalize(ja["data"] ?? NSNull()), nb = Self.normalize(jb["data"] ?? NSNull())
        guard na.count == nb.count else { return "embedded \(na.prefix(400)) / remote \(nb.prefix(400))" }
        for (x, y) in zip(na, nb) where x != y {
            // Same text apart from numbers within 1e-9: compare token by token.
            let tx = x.split(separator: " "), ty = y.split(separator: " ")
            guard tx.count == ty.count, zip(tx, ty).allSatisfy({ $0 == $1 || Self.close(String($0), String($1)) }) else {
                return "embedded \(x.prefix(300)) / remote \(y.prefix(300))"
            }
        }
        return nil
    }

    static func close(_ a: String, _ b: String) -> Bool {
        guard let x = Double(a), let y = Double(b) else { return false }
        return abs(x - y) <= 1e-9 * max(abs(x), abs(y))
    }

    /// One line per series (or element), sorted; numbers as space-separated tokens.
    static func normalize(_ data: Any) -> [String] {
        func labels(_ m: Any?) -> String { ((m as? [String: String]) ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
        func point(_ p: Any?) -> String { guard let p = p as? [Any], p.count == 2 else { return "?" }; return "\(p[0]) \(p[1])" }
        if let d = data as? [String: Any], let type = d["resultType"] as? String {
            if let list = d["result"] as? [[String: Any]] {
                return list.map { e in
                    "{\(labels(e["metric"]))} " + (e["value"].map { point($0) } ?? ((e["values"] as? [Any]) ?? []).map { point($0) }.joined(separator: " "))
                }.sorted()
            }
            return [type + " " + point(d["result"])]
        }
        if let list = data as? [[String: String]] { return list.map { "{\(labels($0))}" }.sorted() }
        if let list = data as? [String] { return list.sorted() }
        return ["\(data)"]
    }

    static func vector(_ j: [String: Any]) -> [[String: Any]] {
        ((j["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
    }

    func form(_ params: [String: String]) -> String {
        params.sorted { $0.key < $1.key }.map { "\(enc($0.key))=\(enc($0.value))" }.joined(separator: "&")
    }

    func enc(_ s: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed)!
    }

    func secs(_ ms: Int64) -> String { RemoteQueryBackend.seconds(ms) }
}

/// An hour of recent data at 15 s (VictoriaMetrics refuses samples beyond its retention):
/// four clusters in two regions, every series carrying `region`.
struct RemoteBackendData {
    var series: [SeriesSamples]
    var end: Int64

    static func generate(end: Int64) -> RemoteBackendData {
        var rng = SplitMix(seed: 13)
        let start = end - 3_600_000
        let times = stride(from: start, through: end, by: 15_000).map { $0 }
        var out: [SeriesSamples] = []
        for (i, cluster) in ["c1", "c2", "c3", "c4"].enumerated() {
            let region = i < 2 ? "eu" : "us"
            out.append(SeriesSamples(labels: Labels(["__name__": "cluster_info", "cluster": cluster, "region": region]),
                                     samples: times.map { Sample(t: $0, v: 1) }))
            for instance in ["i1", "i2"] {
                var g = rng.unit() * 10 - 5
                out.append(SeriesSamples(labels: Labels(["__name__": "gauge_a", "cluster": cluster, "instance": instance, "region": region]),
                                         samples: times.map { t in g += rng.unit() * 2 - 1; return Sample(t: t, v: (g * 1000).rounded() / 1000) }))
                for mode in ["idle", "user"] {
                    var c = Double(rng.int(1000))
                    out.append(SeriesSamples(labels: Labels(["__name__": "node_cpu_seconds_total", "cluster": cluster, "instance": instance, "mode": mode, "region": region]),
                                             samples: times.map { t in c += (rng.unit() * 10).rounded(); return Sample(t: t, v: c) }))
                }
            }
        }
        return RemoteBackendData(series: out, end: end)
    }

    /// In time order, 5 minutes of every series per request (Prometheus' head takes them so).
    func requests() -> [WriteRequest] {
        var out: [WriteRequest] = []
        var t = end - 3_600_000
        while t <= end {
            var req = WriteRequest()
            for s in series {
                let smp = s.samples.filter { $0.t >= t && $0.t < t + 300_000 }
                if !smp.isEmpty { req.timeseries.append(TimeSeries(labels: Array(s.labels), samples: smp)) }
            }
            out.append(req)
            t += 300_000
        }
        return out
    }
}
