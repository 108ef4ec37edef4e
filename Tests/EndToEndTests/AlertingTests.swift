import TestSupport
import Foundation
import RemoteWrite
import Storage
import Testing

/// Alerting rules end to end: the collector evaluates a Prometheus rule file over remote-written
/// data and delivers the alert both through a real Alertmanager (v2 API; Alertmanager then calls
/// its webhook receiver) and straight to a webhook receiver in Alertmanager's webhook format.
/// The receiver is a few lines of Python's http.server that log every POST.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AlertingTests {
    static let receiver = """
        import http.server, json, sys
        out = open(sys.argv[2], "a")
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                out.write(json.dumps({"path": self.path, "body": json.loads(body)}) + "\\n"); out.flush()
                self.send_response(200); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """

    /// Every webhook message received so far on `path`.
    static func messages(_ file: String, path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            guard let o = try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], o["path"] as? String == path else { return nil }
            return o["body"] as? [String: Any]
        }
    }

    static func write(_ url: String, value: Double, at t: Int64) async throws {
        let req = WriteRequest(timeseries: [TimeSeries(labels: [Label("__name__", "edge_temp_celsius"), Label("cluster", "store-1")],
                                                       samples: [Sample(t: t, v: value)])])
        let (code, body) = try await HTTP.post(url + "/api/v1/write", body: Data(WireEncoder.encodeCompressed(req)), headers: [
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        ])
        #expect(code == 204, "remote-write: \(code) \(body)")
    }

    /// The webhook receiver and an Alertmanager that forwards to its `/am` path.
    struct Receivers {
        let hook: ChildProcess
        let am: ChildProcess
        let hookPort: Int
        let amPort: Int
        /// Everything the receiver got, one JSON line per POST (see `messages`).
        let log: String
        func stop() { am.stop(); hook.stop() }
    }

    static func startReceivers(_ dir: String) throws -> Receivers {
        let hookPort = freePort(), amPort = freePort()
        let log = dir + "/hook.jsonl"
        let hook = try ChildProcess("receiver", "/usr/bin/python3", ["-c", Self.receiver, String(hookPort), log], logDir: dir)
        do {
            try """
                route: { receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h }
                receivers:
                  - name: hook
                    webhook_configs: [ { url: "http://127.0.0.1:\(hookPort)/am", send_resolved: true } ]
                """.write(toFile: dir + "/alertmanager.yml", atomically: true, encoding: .utf8)
            let am = try ChildProcess("alertmanager", try E2E.peer("/usr/bin/prometheus-alertmanager", package: "prometheus-alertmanager"), [
                "--config.file=\(dir)/alertmanager.yml", "--storage.path=\(dir)/am", "--web.listen-address=127.0.0.1:\(amPort)",
                "--cluster.listen-address=",
            ], logDir: dir)
            return Receivers(hook: hook, am: am, hookPort: hookPort, amPort: amPort, log: log)
        } catch {
            hook.stop()
            throw error
        }
    }

    @Test func firingAndResolvedThroughAlertmanagerAndWebhook() async throws {
        let dir = try tempDir("alerting")
        let collPort = freePort()
        let receivers = try Self.startReceivers(dir)
        defer { receivers.stop() }
        let (hookPort, amPort, log) = (receivers.hookPort, receivers.amPort, receivers.log)

        try """
            groups:
              - name: edge
                rules:
                  - alert: EdgeTooHot
                    expr: edge_temp_celsius > 50
                    for: 2s
                    labels: { severity: page }
                    annotations: { summary: "{{ $labels.cluster }} is at {{ $value }} °C" }
                  - record: cluster:edge_temp_celsius:max
                    expr: max by (cluster) (edge_temp_celsius)
            """.write(toFile: dir + "/rules.yml", atomically: true, encoding: .utf8)
        try """
            rules: { files: [rules.yml], evaluation_interval: 1s }
            alerting:
              alertmanagers: [ "http://127.0.0.1:\(amPort)" ]
              webhooks: [ "http://127.0.0.1:\(hookPort)/direct" ]
            """.write(toFile: dir + "/collector.yml", atomically: true, encoding: .utf8)
        let coll = try ChildProcess("collector", try E2E.binary("collector"), [
            "--listen", "127.0.0.1:\(collPort)", "--data-dir", dir + "/data", "--no-auth", "--config", dir + "/collector.yml",
        ], logDir: dir)
        defer { coll.stop() }
        let url = "http://127.0.0.1:\(collPort)"
        try await waitUntil("collector to be ready") { await HTTP.get(url + "/-/ready")?.0 == 200 }
        try await waitUntil("Alertmanager to be ready", seconds: 60) { await HTTP.get("http://127.0.0.1:\(amPort)/-/ready")?.0 == 200 }

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await Self.write(url, value: 80, at: now)

        // Firing: once through Alertmanager, once straight from the collector.
        try await waitUntil("the firing alert through Alertmanager and the direct webhook", seconds: 60) {
            !Self.messages(log, path: "/am").isEmpty && !Self.messages(log, path: "/direct").isEmpty
        }
        for path in ["/am", "/direct"] {
            let m = try #require(Self.messages(log, path: path).first)
            #expect(m["status"] as? String == "firing", "\(path): \(m)")
            #expect(m["version"] as? String == "4")
            let alert = try #require((m["alerts"] as? [[String: Any]])?.first)
            let labels = alert["labels"] as? [String: String] ?? [:]
            #expect(labels == ["alertname": "EdgeTooHot", "cluster": "store-1", "severity": "page"], "\(path): \(labels)")
            #expect((alert["annotations"] as? [String: String])?["summary"] == "store-1 is at 80 °C", "\(path): \(alert)")
        }
        let amAlert = (Self.messages(log, path: "/am")[0]["alerts"] as? [[String: Any]])?.first
        let ourAlert = (Self.messages(log, path: "/direct")[0]["alerts"] as? [[String: Any]])?.first
        #expect(amAlert?["fingerprint"] as? String == ourAlert?["fingerprint"] as? String, "fingerprints as Alertmanager computes them")

        // The Prometheus API shows it, and ALERTS and the recording rule are queryable.
        let alerts = try await HTTP.getJSON(url + "/api/v1/alerts")
        let listed = ((alerts["data"] as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
        #expect(listed.first?["state"] as? String == "firing", "\(alerts)")
        #expect(listed.first?["value"] as? String == "8e+01")
        let rules = try await HTTP.getJSON(url + "/api/v1/rules")
        let group = (((rules["data"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []).first
        #expect((group?["rules"] as? [[String: Any]])?.map { $0["type"] as? String ?? "" } == ["alerting", "recording"])
        #expect((group?["rules"] as? [[String: Any]])?.first?["state"] as? String == "firing")
        let q = "ALERTS{alertstate=\"firing\"}".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let alertsSeries = try await HTTP.getJSON(url + "/api/v1/query?query=\(q)")
        #expect(((alertsSeries["data"] as? [String: Any])?["result"] as? [Any])?.count == 1, "\(alertsSeries)")
        let rq = "cluster:edge_temp_celsius:max".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let recorded = try await HTTP.getJSON(url + "/api/v1/query?query=\(rq)")
        let rv = (((recorded["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last as? String
        #expect(rv == "80", "\(recorded)")

        // The fleet registry counts the firing alert against its cluster.
        let fleet = try await HTTP.getJSON(url + "/api/v1/fleet/clusters/store-1")
        let entry = (fleet["data"] as? [String: Any]) ?? [:]
        #expect(entry["alerts_firing"] as? Int == 1, "\(fleet)")
        #expect(entry["health"] as? String == "degraded", "\(fleet)")

        // Resolved: the temperature drops; both receivers hear it.
        try await Self.write(url, value: 20, at: Int64(Date().timeIntervalSince1970 * 1000))
        try await waitUntil("the resolution through Alertmanager and the direct webhook", seconds: 60) {
            Self.messages(log, path: "/am").contains { $0["status"] as? String == "resolved" }
                && Self.messages(log, path: "/direct").contains { $0["status"] as? String == "resolved" }
        }
        #expect(coll.isRunning, "collector died: \(coll.logTail())")
    }
}
