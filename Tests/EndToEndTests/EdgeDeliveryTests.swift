import Foundation
import Testing
import TestSupport

/// The edge scraper against real peers: it scrapes a real prometheus-node-exporter and
/// remote-writes into a real Prometheus 2.42 (`--web.enable-remote-write-receiver`) and a
/// real VictoriaMetrics at once. What the receivers store must equal what was scraped.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct EdgeDeliveryTests {
    /// node_exporter with a fixed, small set of collectors so its series set is stable for
    /// the few seconds a test runs (processes coming and going would add and remove series).
    static func startNodeExporter(_ dir: String) throws -> (ChildProcess, Int) {
        let port = freePort()
        let p = try ChildProcess("node_exporter", try E2E.peer("/usr/bin/prometheus-node-exporter", package: "prometheus-node-exporter"), [
            "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults",
            "--collector.cpu", "--collector.meminfo", "--collector.loadavg", "--collector.uname", "--collector.time",
            "--collector.stat", "--collector.filesystem",
        ], logDir: dir)
        return (p, port)
    }

    static func startPrometheus(_ dir: String, port: Int, tag: String) throws -> ChildProcess {
        try "global: {}\n".write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        return try ChildProcess("prometheus-\(tag)", try E2E.peer("/usr/bin/prometheus", package: "prometheus"), [
            "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus",
            "--web.listen-address=127.0.0.1:\(port)", "--web.enable-remote-write-receiver",
        ], logDir: dir)
    }

    static func startVictoriaMetrics(_ dir: String, port: Int, tag: String) throws -> ChildProcess {
        try ChildProcess("victoria-metrics-\(tag)", try E2E.peer("/usr/bin/victoria-metrics", package: "victoria-metrics"), [
            "-httpListenAddr=127.0.0.1:\(port)", "-storageDataPath=\(dir)/vm", "-search.latencyOffset=0s",
        ], logDir: dir)
    }

    static func writeConfig(_ dir: String, nodeExporter: Int, prom: Int, vm: Int, interval: String = "1s") throws -> String {
        let path = dir + "/edge.yml"
        try """
        global:
          scrape_interval: \(interval)
          scrape_timeout: 900ms
          external_labels:
            cluster: edge-e2e
            region: lab-1
        scrape_configs:
          - job_name: node
            static_configs:
              - targets: ["127.0.0.1:\(nodeExporter)"]
        remote_write:
          - url: http://127.0.0.1:\(prom)/api/v1/write
            name: prometheus
            queue_config:
              batch_send_deadline: 200ms
              min_backoff: 50ms
              max_backoff: 500ms
          - url: http://127.0.0.1:\(vm)/api/v1/write
            name: victoria
            queue_config:
              batch_send_deadline: 200ms
              min_backoff: 50ms
              max_backoff: 500ms
        node:
          enabled: false
        queue:
          dir: \(dir)/queue
          max_bytes: 256MiB

        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func startEdge(_ dir: String, config: String, listen: Int, tag: String) throws -> ChildProcess {
        try ChildProcess("edge-scraper-\(tag)", try E2E.binary("edge-scraper"),
                         ["--config", config, "--listen", "127.0.0.1:\(listen)"], logDir: dir)
    }

    /// The edge scraper's own gauge/counter value from its /metrics (summed over label sets).
    static func ownMetric(_ port: Int, _ name: String, where filter: String = "") async -> Double? {
        guard let (code, data) = await HTTP.get("http://127.0.0.1:\(port)/metrics"), code == 200 else { return nil }
        var sum = 0.0
        var found = false
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let key = line.split(separator: " ")[0]
            guard key == name || key.hasPrefix(name + "{"), filter.isEmpty || key.contains(filter) else { continue }
            if let v = Double(line.split(separator: " ").last!) { sum += v; found = true }
        }
        return found ? sum : nil
    }

    typealias Stored = [String: [Int64]] // canonical series → sample timestamps (ms)

    /// Raw samples from Prometheus through an instant query of a range selector.
    static func promSamples(_ port: Int, _ selector: String) async throws -> Stored {
        let q = "\(selector)[10m]".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let json = try await HTTP.getJSON("http://127.0.0.1:\(port)/api/v1/query?query=\(q)")
        guard let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw TestError("prometheus: unexpected answer \(json)")
        }
        var out: Stored = [:]
        for r in result {
            let metric = r["metric"] as! [String: String]
            let values = r["values"] as! [[Any]]
            out[canonical(metric)] = values.map { Int64((($0[0] as! Double) * 1000).rounded()) }
        }
        return out
    }

    /// Values of the single series matching `selector`, in time order.
    static func promValues(_ port: Int, _ selector: String) async throws -> [Double] {
        let q = "\(selector)[10m]".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let json = try await HTTP.getJSON("http://127.0.0.1:\(port)/api/v1/query?query=\(q)")
        guard let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]], result.count == 1 else {
            throw TestError("prometheus: expected one series for \(selector): \(json)")
        }
        return (result[0]["values"] as! [[Any]]).map { Double($0[1] as! String)! }
    }

    /// VictoriaMetrics makes freshly ingested rows searchable asynchronously (even after
    /// /internal/force_flush), so poll until every series shows as many samples as expected.
    static func vmSamples(_ port: Int, _ selector: String, expecting: Stored) async throws -> Stored {
        var got: Stored = [:]
        for _ in 0..<50 {
            got = try await vmSamplesOnce(port, selector)
            if expecting.allSatisfy({ got[$0.key]?.count ?? 0 >= $0.value.count }) { return got }
            try await Task.sleep(for: .milliseconds(200))
        }
        return got
    }

    /// Raw samples from VictoriaMetrics' export API (JSON lines), after forcing a flush.
    static func vmSamplesOnce(_ port: Int, _ selector: String) async throws -> Stored {
        _ = await HTTP.get("http://127.0.0.1:\(port)/internal/force_flush")
        let q = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let url = "http://127.0.0.1:\(port)/api/v1/export?match%5B%5D=\(q)"
        guard let (code, data) = await HTTP.get(url) else { throw TestError("victoria-metrics: GET \(url) failed to connect") }
        guard code == 200 else {
            throw TestError("victoria-metrics: GET \(url): \(code) \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        var out: Stored = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let metric = obj["metric"] as! [String: String]
            let ts = (obj["timestamps"] as! [NSNumber]).map { $0.int64Value }
            let values = obj["values"] as! [Any]
            // Staleness markers are not scrapes; Prometheus' query API hides them too.
            var kept: [Int64] = []
            for (t, v) in zip(ts, values) {
                if let d = v as? Double, d.isNaN { continue }
                if let s = v as? String, s == "NaN" { continue }
                kept.append(t)
            }
            out[canonical(metric), default: []] += kept
        }
        return out.mapValues { $0.sorted() }
    }

    static func canonical(_ m: [String: String]) -> String {
        m.keys.sorted().map { "\($0)=\(m[$0]!)" }.joined(separator: ",")
    }

    /// Series in a text exposition as canonical label sets (job, instance and the external
    /// labels added as the scraper adds them).
    static func exposition(_ text: String, extra: [String: String]) -> Set<String> {
        var out = Set<String>()
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var labels = extra
            let name: String
            if let brace = line.firstIndex(of: "{") {
                name = String(line[..<brace])
                var i = line.index(after: brace)
                while i < line.endIndex, line[i] != "}" {
                    let eq = line[i...].firstIndex(of: "=")!
                    let key = line[i..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                    var j = line.index(eq, offsetBy: 2) // skip ="
                    var value = ""
                    while line[j] != "\"" {
                        if line[j] == "\\" {
                            j = line.index(after: j)
                            value.append(line[j] == "n" ? "\n" : line[j])
                        } else {
                            value.append(line[j])
                        }
                        j = line.index(after: j)
                    }
                    labels[key] = value
                    i = line.index(after: j)
                    while i < line.endIndex, line[i] == "," || line[i] == " " { i = line.index(after: i) }
                }
            } else {
                name = String(line.split(separator: " ")[0])
            }
            labels["__name__"] = name
            out.insert(canonical(labels.filter { !$0.value.isEmpty }))
        }
        return out
    }

    static let scrapeSeriesNames: Set<String> = [
        "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added",
    ]

    @Test func scrapesNodeExporterIntoPrometheusAndVictoriaMetrics() async throws {
        let dir = try tempDir("e2e-edge-deliver")
        let (ne, nePort) = try Self.startNodeExporter(dir)
        defer { ne.stop() }
        let promPort = freePort(), vmPort = freePort(), edgePort = freePort()
        let prom = try Self.startPrometheus(dir, port: promPort, tag: "a")
        defer { prom.stop() }
        let vm = try Self.startVictoriaMetrics(dir, port: vmPort, tag: "a")
        defer { vm.stop() }
        try await waitUntil("peers to start") {
            let p = await HTTP.get("http://127.0.0.1:\(promPort)/-/ready")?.0
            let v = await HTTP.get("http://127.0.0.1:\(vmPort)/health")?.0
            let n = await HTTP.get("http://127.0.0.1:\(nePort)/metrics")?.0
            return p == 200 && v == 200 && n == 200
        }
        let config = try Self.writeConfig(dir, nodeExporter: nePort, prom: promPort, vm: vmPort)
        let edge = try Self.startEdge(dir, config: config, listen: edgePort, tag: "a")
        defer { edge.stop() }
        try await waitUntil("edge scraper to deliver a few scrapes", seconds: 40) {
            let sentVM = await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total", where: "victoria") ?? 0
            let ups = (try? await Self.promSamples(promPort, #"up{cluster="edge-e2e"}"#))?.values.first?.count ?? 0
            return sentVM > 0 && ups >= 5
        }
        // What node_exporter exposes now, labelled as the scraper labels it.
        let (_, body) = try #require(await HTTP.get("http://127.0.0.1:\(nePort)/metrics"))
        let exposed = Self.exposition(String(decoding: body, as: UTF8.self), extra: [
            "job": "node", "instance": "127.0.0.1:\(nePort)", "cluster": "edge-e2e", "region": "lab-1"])

        // Stop scraping, but only once everything scraped has been acknowledged by both.
        try await waitUntil("queues to drain") {
            await Self.ownMetric(edgePort, "edge_scraper_queue_pending_samples") == 0
        }
        edge.stop()
        #expect(edge.process.terminationStatus == 0, "edge-scraper exit: \(edge.logTail())")

        let selector = #"{cluster="edge-e2e"}"#
        let inProm = try await Self.promSamples(promPort, selector)
        let inVM = try await Self.vmSamples(vmPort, selector, expecting: inProm)
        let upKey = try #require(inProm.keys.first { $0.contains("__name__=up,") })
        let scrapes = try #require(inProm[upKey])
        #expect(scrapes.count >= 5)
        #expect(Set(scrapes).count == scrapes.count, "duplicate scrape timestamps in Prometheus")

        // Same series in both receivers, every one with exactly the scrape timestamps of `up`
        // (one sample per scrape, none missing, none twice).
        #expect(Set(inProm.keys) == Set(inVM.keys), "series differ: only in Prometheus \(Set(inProm.keys).subtracting(inVM.keys).prefix(3)), only in VM \(Set(inVM.keys).subtracting(inProm.keys).prefix(3))")
        var mismatched: [String] = []
        for (series, ts) in inProm where ts != scrapes || inVM[series] != scrapes { mismatched.append(series) }
        if let m = mismatched.first {
            let p = Set(inProm[m]!), v = Set(inVM[m] ?? []), u = Set(scrapes)
            Issue.record("\(mismatched.count) of \(inProm.count) series differ from the \(scrapes.count) scrapes of up; e.g. \(m): prometheus lacks \(u.subtracting(p).sorted()) has extra \(p.subtracting(u).sorted()); victoria lacks \(u.subtracting(v).sorted()) has extra \(v.subtracting(u).sorted())")
        }

        // Names and label sets (external labels included) are those node_exporter exposed,
        // plus the scraper's own per-target series.
        let storedNodeSeries = Set(inProm.keys.filter { key in
            !Self.scrapeSeriesNames.contains { key.contains("__name__=\($0),") }
        })
        #expect(storedNodeSeries == exposed, "only stored: \(storedNodeSeries.subtracting(exposed).prefix(3)); only exposed: \(exposed.subtracting(storedNodeSeries).prefix(3))")
        for name in Self.scrapeSeriesNames {
            #expect(inProm.keys.contains { $0.contains("__name__=\(name),") && $0.contains("cluster=edge-e2e") && $0.contains("region=lab-1") }, "missing \(name)")
        }
        #expect(exposed.count > 50)
    }

    @Test func ownEndpointsAndReloadKeepingTheOldConfigOnErrors() async throws {
        let dir = try tempDir("e2e-edge-reload")
        let (ne, nePort) = try Self.startNodeExporter(dir)
        defer { ne.stop() }
        let portA = freePort(), portB = freePort(), vmPort = freePort(), edgePort = freePort()
        let dirA = dir + "/a", dirB = dir + "/b"
        try FileManager.default.createDirectory(atPath: dirA, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dirB, withIntermediateDirectories: true)
        let promA = try Self.startPrometheus(dirA, port: portA, tag: "a")
        defer { promA.stop() }
        let promB = try Self.startPrometheus(dirB, port: portB, tag: "b")
        defer { promB.stop() }
        let vm = try Self.startVictoriaMetrics(dir, port: vmPort, tag: "r")
        defer { vm.stop() }
        let config = try Self.writeConfig(dir, nodeExporter: nePort, prom: portA, vm: vmPort)
        let edge = try Self.startEdge(dir, config: config, listen: edgePort, tag: "r")
        defer { edge.stop() }
        let base = "http://127.0.0.1:\(edgePort)"
        try await waitUntil("edge scraper to send") {
            (await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total", where: "prometheus") ?? 0) > 0
        }
        #expect(await HTTP.get(base + "/-/healthy")?.0 == 200)
        #expect(await HTTP.get(base + "/-/ready")?.0 == 200)
        #expect(await HTTP.get(base + "/-/reload")?.0 == 405)
        let (_, metricsBody) = try #require(await HTTP.get(base + "/metrics"))
        let metrics = String(decoding: metricsBody, as: UTF8.self)
        for name in ["edge_scraper_samples_scraped_total", "edge_scraper_queue_samples_appended_total", "edge_scraper_samples_sent_total",
                     "edge_scraper_samples_dropped_total{", "edge_scraper_queue_bytes", "edge_scraper_remote_sent_bytes_total",
                     "edge_scraper_remote_send_duration_seconds_bucket", "edge_scraper_remote_retries_total",
                     "edge_scraper_queue_pending_samples", "process_resident_memory_bytes"] {
            #expect(metrics.contains("\n" + name), "own /metrics lacks \(name)")
        }
        #expect(metrics.contains("\nedge_scraper_targets{health=\"up\",job=\"node\"} 1\n"))

        // A broken file: the reload fails with the file and line, and the old config keeps running.
        let good = try String(contentsOfFile: config, encoding: .utf8)
        try (good + "scrape_configs_typo: []\n").write(toFile: config, atomically: true, encoding: .utf8)
        let (code, message) = try await HTTP.post(base + "/-/reload", body: Data(), headers: [:])
        #expect(code == 500)
        #expect(message.contains("edge.yml"), "reload error should name the file: \(message)")
        #expect(await Self.ownMetric(edgePort, "edge_scraper_config_last_reload_successful") == 0)
        let sentBefore = await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total", where: "prometheus") ?? 0
        try await waitUntil("old config to keep delivering") {
            (await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total", where: "prometheus") ?? 0) > sentBefore
        }

        // SIGHUP with a good new config: another receiver, another region, and write relabeling.
        let moved = good.replacingOccurrences(of: "127.0.0.1:\(portA)/", with: "127.0.0.1:\(portB)/")
            .replacingOccurrences(of: "region: lab-1", with: "region: lab-2")
            .replacingOccurrences(of: "    name: prometheus\n", with: """
                    name: prometheus
                    write_relabel_configs:
                      - source_labels: [__name__]
                        regex: go_.*
                        action: drop

                """)
        try moved.write(toFile: config, atomically: true, encoding: .utf8)
        kill(edge.pid, SIGHUP)
        try await waitUntil("new config to deliver to the second Prometheus") {
            ((try? await Self.promSamples(portB, #"up{region="lab-2"}"#))?.values.first?.count ?? 0) >= 2
        }
        #expect(await Self.ownMetric(edgePort, "edge_scraper_config_last_reload_successful") == 1)
        let inB = try await Self.promSamples(portB, #"{cluster="edge-e2e"}"#)
        #expect(inB.keys.allSatisfy { $0.contains("region=lab-2") })
        #expect(!inB.keys.contains { $0.contains("__name__=go_") }, "write_relabel_configs should drop go_* for this endpoint")
        #expect(inB.keys.contains { $0.contains("__name__=node_") })
        // The other endpoint (VictoriaMetrics) has no write relabeling and still gets go_* series.
        let inVM = try await Self.vmSamplesOnce(vmPort, #"{__name__=~"go_.*",region="lab-2"}"#)
        #expect(!inVM.isEmpty)
    }

    /// Runs a command, returning its stdout (the tests use the openssl and curl CLIs).
    static func run(_ path: String, _ args: [String], in dir: String) throws -> String {
        let r = try runTool(path, args, in: dir)
        guard r.status == 0 else { throw TestError("\(path) \(args.joined(separator: " ")) exited \(r.status)") }
        return r.out
    }

    @Test func remoteWriteOverTLSVerifiedWithCAFile() async throws {
        let dir = try tempDir("e2e-edge-tls")
        // A throwaway CA and a server certificate for "localhost".
        let openssl = "/usr/bin/openssl"
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _ = try Self.run(openssl, ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=e2e-ca"], in: dir)
        _ = try Self.run(openssl, ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: dir)
        try "subjectAltName=DNS:localhost\n".write(toFile: dir + "/ext", atomically: true, encoding: .utf8)
        _ = try Self.run(openssl, ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                                   "-out", "server.crt", "-days", "1", "-extfile", "ext"], in: dir)
        try "tls_server_config:\n  cert_file: \(dir)/server.crt\n  key_file: \(dir)/server.key\n"
            .write(toFile: dir + "/web.yml", atomically: true, encoding: .utf8)
        try "global: {}\n".write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)

        let (ne, nePort) = try Self.startNodeExporter(dir)
        defer { ne.stop() }
        let promPort = freePort(), edgePort = freePort()
        let prom = try ChildProcess("prometheus-tls", try E2E.peer("/usr/bin/prometheus", package: "prometheus"), [
            "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus", "--web.config.file=\(dir)/web.yml",
            "--web.listen-address=127.0.0.1:\(promPort)", "--web.enable-remote-write-receiver",
        ], logDir: dir)
        defer { prom.stop() }
        let config = dir + "/edge.yml"
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 900ms
          external_labels:
            cluster: edge-tls
        scrape_configs:
          - job_name: node
            static_configs:
              - targets: ["127.0.0.1:\(nePort)"]
        remote_write:
          - url: https://localhost:\(promPort)/api/v1/write
            tls_config:
              ca_file: \(dir)/ca.crt
            queue_config:
              batch_send_deadline: 200ms
        node:
          enabled: false
        queue:
          dir: \(dir)/queue

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let edge = try Self.startEdge(dir, config: config, listen: edgePort, tag: "tls")
        defer { edge.stop() }
        try await waitUntil("samples to arrive over TLS", seconds: 40) {
            (await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total") ?? 0) > 0
        }
        #expect(await Self.ownMetric(edgePort, "edge_scraper_remote_retries_total") == 0, "TLS handshakes should not fail: \(edge.logTail())")
        // Read back over https, trusting the same CA.
        let q = #"count({cluster="edge-tls",job="node"})"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let answer = try Self.run("/usr/bin/curl", ["-sf", "--cacert", dir + "/ca.crt",
                                                    "https://localhost:\(promPort)/api/v1/query?query=\(q)"], in: dir)
        let json = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as! [String: Any]
        let result = (json["data"] as! [String: Any])["result"] as! [[String: Any]]
        let count = Double(((result.first?["value"] as? [Any])?[1] as? String) ?? "0") ?? 0
        #expect(count > 50, "Prometheus holds \(count) series from the edge scraper")
    }

    @Test func outageAndKill9LoseNoScrapeAndDuplicateNone() async throws {
        let dir = try tempDir("e2e-edge-outage")
        let (ne, nePort) = try Self.startNodeExporter(dir)
        defer { ne.stop() }
        let promPort = freePort(), vmPort = freePort(), edgePort = freePort()
        var prom = try Self.startPrometheus(dir, port: promPort, tag: "1")
        var vm = try Self.startVictoriaMetrics(dir, port: vmPort, tag: "1")
        let config = try Self.writeConfig(dir, nodeExporter: nePort, prom: promPort, vm: vmPort)
        var edge = try Self.startEdge(dir, config: config, listen: edgePort, tag: "1")
        defer { edge.stop(); prom.stop(); vm.stop() }
        try await waitUntil("first scrapes delivered", seconds: 40) {
            let ups = (try? await Self.promSamples(promPort, #"up{cluster="edge-e2e"}"#))?.values.first?.count ?? 0
            let sentVM = await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total", where: "victoria") ?? 0
            return ups >= 3 && sentVM > 0
        }

        // Outage: both receivers go away; scrapes pile up in the queue.
        prom.stop()
        vm.stop()
        let outageStart = Int64(Date().timeIntervalSince1970 * 1000)
        try await waitUntil("backlog to build up", seconds: 30) {
            (await Self.ownMetric(edgePort, "edge_scraper_queue_pending_samples") ?? 0) > 2000
        }
        try await Task.sleep(for: .seconds(2))
        // The scraper dies hard in the middle of the outage, then comes back on the same queue.
        edge.kill9()
        let killedAt = Int64(Date().timeIntervalSince1970 * 1000)
        try await Task.sleep(for: .seconds(1))
        edge = try Self.startEdge(dir, config: config, listen: edgePort, tag: "2")
        try await waitUntil("restarted scraper to scrape again") {
            (await Self.ownMetric(edgePort, "edge_scraper_queue_samples_appended_total") ?? 0) > 0
        }
        let restartedAt = Int64(Date().timeIntervalSince1970 * 1000)
        try await Task.sleep(for: .seconds(3))

        // Receivers return; the backlog drains while fresh scrapes keep arriving.
        prom = try Self.startPrometheus(dir, port: promPort, tag: "2")
        vm = try Self.startVictoriaMetrics(dir, port: vmPort, tag: "2")
        try await waitUntil("backlog to drain", seconds: 60) {
            let pending = await Self.ownMetric(edgePort, "edge_scraper_queue_pending_samples")
            let sent = await Self.ownMetric(edgePort, "edge_scraper_samples_sent_total") ?? 0
            return pending == 0 && sent > 0
        }
        edge.stop()
        #expect(edge.process.terminationStatus == 0, "edge-scraper exit: \(edge.logTail())")

        let selector = #"{cluster="edge-e2e"}"#
        let inProm = try await Self.promSamples(promPort, selector)
        let inVM = try await Self.vmSamples(vmPort, selector, expecting: inProm)
        let upKey = try #require(inProm.keys.first { $0.contains("__name__=up,") })
        let ups = try #require(inProm[upKey])
        // Each endpoint has its own durable queue. A scrape is written to every queue before any
        // fsync is waited for (`DeliverySink.enqueue`), and a kill -9 loses no page-cache write,
        // so both receivers hold the same scrapes. (Only a kill in the microseconds between two
        // queues' write calls could split one; the fsync between them that made this test
        // tolerate one split scrape is gone.)
        let onlyOne = Set(ups).symmetricDifference(inVM[upKey] ?? [])
        #expect(onlyOne.isEmpty,
                "Prometheus and VictoriaMetrics disagree on the scrapes they hold: \(onlyOne.sorted()) (killed at \(killedAt))")
        #expect(Set(ups).count == ups.count, "duplicates")
        #expect(ups == ups.sorted())
        // Scrapes from inside the outage made it.
        #expect(ups.contains { $0 > outageStart && $0 < killedAt }, "nothing from the outage before the kill")
        #expect(ups.contains { $0 > restartedAt && $0 < restartedAt + 3000 }, "nothing from the outage after the restart")
        // No gaps, independent of timing: node_exporter counts the requests it served, and
        // only this scraper requests it here, so the stored values of that counter must step
        // by exactly 1 from scrape to scrape. The one allowed exception is a scrape served
        // while the scraper was being killed, which it never got to queue.
        let served = try await Self.promValues(promPort,
            #"promhttp_metric_handler_requests_total{cluster="edge-e2e",code="200"}"#)
        #expect(served.count == ups.count)
        var jumps: [(Double, Double)] = []
        for (a, b) in zip(served, served.dropFirst()) where b - a != 1 { jumps.append((a, b)) }
        #expect(jumps.count <= 1 && jumps.allSatisfy { $0.1 - $0.0 == 2 },
                "scrapes missing from the stored data (node_exporter request counter jumps): \(jumps)")
        // And the only long pause is the time the scraper was dead.
        for (a, b) in zip(ups, ups.dropFirst()) where b - a > 5000 {
            #expect(a <= killedAt + 1100 && b >= killedAt, "unexplained gap \(a)..\(b)")
        }
        // Every series holds one sample per scrape in both receivers.
        var mismatched: [String] = []
        for (series, ts) in inProm where ts != ups || inVM[series] != ups { mismatched.append(series) }
        #expect(mismatched.isEmpty, "\(mismatched.count) series differ from the scrape timestamps, e.g. \(mismatched.prefix(2))")
        #expect(inProm.count > 50)
    }
}
