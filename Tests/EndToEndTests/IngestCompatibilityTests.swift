import Foundation
import Testing
import TestSupport

/// Real senders into the collector: a real Prometheus 2.42 and a real vmagent scrape a real
/// node_exporter every second and remote-write to the collector. What the collector stores
/// for Prometheus' stream must equal what Prometheus stored in its own TSDB.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct IngestCompatibilityTests {
    @Test func prometheusAndVmagentIntoCollector() async throws {
        let dir = try tempDir("e2e-compat")
        let nePort = freePort(), collPort = freePort(), promPort = freePort(), vmPort = freePort()
        let ne = try ChildProcess("node-exporter", try E2E.peer("/usr/bin/prometheus-node-exporter", package: "prometheus-node-exporter"),
                                  ["--web.listen-address=127.0.0.1:\(nePort)"], logDir: dir)
        defer { ne.stop() }
        let coll = try ChildProcess("collector", try E2E.binary("collector"),
                                    ["--listen", "127.0.0.1:\(collPort)", "--data-dir", dir + "/collector", "--no-auth"], logDir: dir)
        defer { coll.stop() }
        let collector = "http://127.0.0.1:\(collPort)"
        try await waitUntil("collector to be ready") { await HTTP.get(collector + "/-/ready")?.0 == 200 }

        let scrape = """
            scrape_configs:
              - job_name: node
                scrape_interval: 1s
                static_configs: [ { targets: [ "127.0.0.1:\(nePort)" ] } ]
            """
        try """
            global: { scrape_interval: 1s, external_labels: { sender: prometheus } }
            \(scrape)
            remote_write:
              - url: \(collector)/api/v1/write
                queue_config: { batch_send_deadline: 1s, max_samples_per_send: 2000 }
            """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        try scrape.write(toFile: dir + "/vmagent.yml", atomically: true, encoding: .utf8)
        let promURL = "http://127.0.0.1:\(promPort)"
        let prom = try ChildProcess("prometheus", try E2E.peer("/usr/bin/prometheus", package: "prometheus"), [
            "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus",
            "--web.listen-address=127.0.0.1:\(promPort)",
        ], logDir: dir)
        defer { prom.stop() }
        let vm = try ChildProcess("vmagent", try E2E.peer("/usr/bin/vmagent", package: "victoria-metrics"), [
            "-promscrape.config=\(dir)/vmagent.yml", "-remoteWrite.url=\(collector)/api/v1/write",
            "-remoteWrite.label=sender=vmagent", "-remoteWrite.tmpDataPath=\(dir)/vmagent",
            "-remoteWrite.flushInterval=1s", "-httpListenAddr=127.0.0.1:\(vmPort)",
        ], logDir: dir)
        defer { vm.stop() }

        // Wait for Prometheus' first scrape (startup takes a while on a busy machine), let both
        // scrape for a while, then compare a window that is safely delivered.
        try await waitUntil("Prometheus to scrape node_exporter", seconds: 60) {
            let j = try? await HTTP.getJSON(promURL + "/api/v1/query?query=up")
            return ((j?["data"] as? [String: Any])?["result"] as? [Any])?.isEmpty == false
        }
        try await Task.sleep(for: .seconds(8))
        let t = (Date().timeIntervalSince1970 - 3).rounded(.down)
        let window = "6s"
        func rawSamples(_ base: String, _ selector: String, drop: String?) async throws -> [String: [String]] {
            let q = "\(selector)[\(window)]".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let json = try await HTTP.getJSON("\(base)/api/v1/query?query=\(q)&time=\(t)")
            guard json["status"] as? String == "success", let data = json["data"] as? [String: Any],
                  let result = data["result"] as? [[String: Any]] else { throw TestError("bad answer from \(base): \(json)") }
            var out: [String: [String]] = [:]
            for r in result {
                var m = r["metric"] as? [String: String] ?? [:]
                if let drop { m[drop] = nil }
                let key = m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                out[key] = (r["values"] as? [[Any]] ?? []).map { "\($0[0])@\($0[1])" }
            }
            return out
        }
        var expected: [String: [String]] = [:], got: [String: [String]] = [:]
        // Remote-write delivers with a small lag; poll (bounded) until the window has arrived.
        try? await waitUntil("the collector to hold Prometheus' window", seconds: 30) {
            expected = (try? await rawSamples(promURL, #"{job="node"}"#, drop: nil)) ?? [:]
            got = (try? await rawSamples(collector, #"{job="node",sender="prometheus"}"#, drop: "sender")) ?? [:]
            return !expected.isEmpty && expected == got
        }
        #expect(expected.count > 100, "node_exporter should expose hundreds of series")
        let missing = Set(expected.keys).subtracting(got.keys).sorted().prefix(3)
        #expect(missing.isEmpty, "series missing in the collector: \(missing)")
        let extra = Set(got.keys).subtracting(expected.keys).sorted().prefix(3)
        #expect(extra.isEmpty, "series only in the collector: \(extra)")
        let differing = expected.keys.filter { got[$0] != nil && got[$0] != expected[$0] }.sorted().prefix(3)
        #expect(differing.isEmpty, "samples differ: \(differing.map { "\($0): prometheus \(expected[$0]!) collector \(got[$0]!)" })")

        // vmagent's stream: the same node_exporter series, scraped every second.
        let vmSeries = try await rawSamples(collector, #"{job="node",sender="vmagent"}"#, drop: "sender")
        let nodeNames = { (s: [String: [String]]) in Set(s.keys.compactMap { $0.split(separator: ",").first { $0.hasPrefix("__name__=node_") } }) }
        #expect(nodeNames(vmSeries) == nodeNames(expected), "vmagent and Prometheus should deliver the same node_* metrics")
        let upKey = vmSeries.keys.first { $0.hasPrefix("__name__=up,") }
        #expect((upKey.map { vmSeries[$0]!.count } ?? 0) >= 4, "vmagent's up series should have one sample per second")
        #expect(coll.isRunning, "collector died: \(coll.logTail())")
    }
}
