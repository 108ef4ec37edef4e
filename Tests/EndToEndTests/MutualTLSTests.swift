import Foundation
import Testing
import TestSupport

/// Real senders into a collector that requires client certificates: a real Prometheus 2.42
/// (`remote_write.tls_config` with a CA and a client certificate) and our edge scraper, neither
/// with a bearer token. The cluster of each comes from its certificate's CN. Certificates are
/// made with openssl (scripts/make-certs.sh).
@Suite(.serialized, .timeLimit(.minutes(4)))
struct MutualTLSTests {
    static func makeCerts(_ dir: String) throws {
        let script = E2E.repoRoot + "/scripts/make-certs.sh"
        for args in [["ca", "ca"], ["ca", "other-ca"], ["server", "ca", "server", "IP:127.0.0.1"],
                     ["client", "ca", "prom", "prom-edge"], ["client", "ca", "edge", "store-17"],
                     ["client", "other-ca", "rogue", "store-17"],
                     ["client", "ca", "expired", "store-3", "", "20240101000000Z", "20240102000000Z"]] {
            _ = try EdgeDeliveryTests.run("/bin/bash", [script, args[0], dir + "/pki"] + args.dropFirst(), in: dir)
        }
    }

    /// curl as admin with a client certificate; nil when curl fails (the error is in `lastError`).
    static func curlJSON(_ dir: String, _ url: String, user: String, client: String = "prom") -> [String: Any]? {
        guard let out = try? EdgeDeliveryTests.run("/usr/bin/curl", [
            "-sf", "--max-time", "10", "--cacert", dir + "/pki/ca.crt", "--cert", dir + "/pki/\(client).crt",
            "--key", dir + "/pki/\(client).key", "-u", user, url,
        ], in: dir) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
    }

    /// curl's stderr and exit status (for refusals).
    static func curlError(_ dir: String, _ args: [String]) throws -> (Int32, String) {
        let r = try runTool("/usr/bin/curl", ["-sS", "--max-time", "10"] + args)
        return (r.status, r.err)
    }

    @Test func prometheusAndEdgeScraperWriteWithClientCertificatesOnly() async throws {
        let dir = try tempDir("e2e-mtls")
        try Self.makeCerts(dir)
        let pki = dir + "/pki"
        let collPort = freePort(), promPort = freePort(), edgePort = freePort()
        try """
            tls:
              cert_file: pki/server.crt
              key_file: pki/server.key
              client_ca_file: pki/ca.crt
              client_auth_type: RequireAndVerifyClientCert
            """.write(toFile: dir + "/collector.yml", atomically: true, encoding: .utf8)
        let coll = try ChildProcess("collector", try E2E.binary("collector"),
                                    ["--listen", "127.0.0.1:\(collPort)", "--data-dir", dir + "/data", "--config", dir + "/collector.yml"],
                                    logDir: dir)
        defer { coll.stop() }
        let base = "https://127.0.0.1:\(collPort)"
        try await waitUntil("collector over mTLS") {
            (try? EdgeDeliveryTests.run("/usr/bin/curl", ["-sf", "--max-time", "5", "--cacert", pki + "/ca.crt", "--cert", pki + "/prom.crt",
                                                          "--key", pki + "/prom.key", base + "/-/ready"], in: dir)) != nil
        }
        let admin = "admin:" + (try String(contentsOfFile: dir + "/data/initial-admin-password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))

        // Prometheus scrapes itself and remote-writes with its client certificate, no token.
        try """
            global: { scrape_interval: 1s }
            scrape_configs:
              - job_name: prometheus
                static_configs: [ { targets: [ "127.0.0.1:\(promPort)" ] } ]
            remote_write:
              - url: \(base)/api/v1/write
                tls_config: { ca_file: \(pki)/ca.crt, cert_file: \(pki)/prom.crt, key_file: \(pki)/prom.key }
                queue_config: { batch_send_deadline: 1s }
                metadata_config: { send: false }
            """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prom = try ChildProcess("prometheus", try E2E.peer("/usr/bin/prometheus", package: "prometheus"), [
            "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prometheus",
            "--web.listen-address=127.0.0.1:\(promPort)",
        ], logDir: dir)
        defer { prom.stop() }

        // The edge scraper scrapes the same Prometheus and remote-writes with its own certificate.
        try """
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
            scrape_configs:
              - job_name: edge
                static_configs:
                  - targets: ["127.0.0.1:\(promPort)"]
            remote_write:
              - url: \(base)/api/v1/write
                tls_config:
                  ca_file: \(pki)/ca.crt
                  cert_file: \(pki)/edge.crt
                  key_file: \(pki)/edge.key
                queue_config:
                  batch_send_deadline: 200ms
            node:
              enabled: false
            queue:
              dir: \(dir)/queue

            """.write(toFile: dir + "/edge.yml", atomically: true, encoding: .utf8)
        let edge = try EdgeDeliveryTests.startEdge(dir, config: dir + "/edge.yml", listen: edgePort, tag: "mtls")
        defer { edge.stop() }

        // Both clusters appear, named by their certificates' CNs.
        var clusters: Set<String> = []
        try await waitUntil("both senders' samples in the collector", seconds: 90) {
            let j = Self.curlJSON(dir, base + "/api/v1/label/cluster/values", user: admin)
            clusters = Set(j?["data"] as? [String] ?? [])
            return clusters.isSuperset(of: ["prom-edge", "store-17"])
        }
        #expect(clusters == ["prom-edge", "store-17"])
        let q = #"count by (cluster, job) (up)"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let up = Self.curlJSON(dir, base + "/api/v1/query?query=\(q)", user: admin)
        let result = ((up?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        let pairs = Set(result.compactMap { r -> String? in
            guard let m = r["metric"] as? [String: String] else { return nil }
            return "\(m["cluster"] ?? "")/\(m["job"] ?? "")"
        })
        #expect(pairs == ["prom-edge/prometheus", "store-17/edge"], "\(result)")
        // The edge scraper sends the TYPE/HELP it scraped, as Prometheus' agent (Prometheus' own
        // metadata sending is off here, so this can only come from the edge).
        try await waitUntil("the edge scraper's metric metadata", seconds: 40) {
            let j = Self.curlJSON(dir, base + "/api/v1/metadata?metric=prometheus_http_requests_total", user: admin)
            let entries = (j?["data"] as? [String: Any])?["prometheus_http_requests_total"] as? [[String: String]]
            return entries?.first?["type"] == "counter" && entries?.first?["help"]?.isEmpty == false
        }
        #expect(await EdgeDeliveryTests.ownMetric(edgePort, "edge_scraper_remote_retries_total") == 0, "edge TLS handshakes failed: \(edge.logTail())")

        // A certificate from another CA, even with a known CN, is refused at the handshake.
        let (status, err) = try Self.curlError(dir, ["--cacert", pki + "/ca.crt", "--cert", pki + "/rogue.crt", "--key", pki + "/rogue.key",
                                                     "-X", "POST", "--data-binary", "x", base + "/api/v1/write"])
        #expect(status != 0 && err.contains("unknown ca"), "\(status) \(err)")
        try await waitUntil("the refusal in the collector's log", seconds: 10) {
            coll.logTail(400).contains(#"client certificate "CN=store-17" issued by "CN=other-ca" does not chain to a CA in tls.client_ca_file"#)
        }
        // An edge scraper with an expired certificate: both ends say so in words.
        let expiredConfig = try String(contentsOfFile: dir + "/edge.yml", encoding: .utf8)
            .replacingOccurrences(of: "\(pki)/edge.", with: "\(pki)/expired.")
            .replacingOccurrences(of: "\(dir)/queue", with: "\(dir)/queue-expired")
        try expiredConfig.write(toFile: dir + "/edge-expired.yml", atomically: true, encoding: .utf8)
        let stale = try EdgeDeliveryTests.startEdge(dir, config: dir + "/edge-expired.yml", listen: freePort(), tag: "expired")
        defer { stale.stop() }
        try await waitUntil("the expired edge's refusal in both logs", seconds: 30) {
            stale.logTail(50).contains("the server refused our client certificate as expired: renew tls_config.cert_file")
                && coll.logTail(400).contains(#"client certificate "CN=store-3" expired at 2024-01-02T00:00:00Z"#)
        }
        #expect(Self.curlJSON(dir, base + "/api/v1/label/cluster/values", user: admin)?["data"] as? [String] == ["prom-edge", "store-17"],
                "nothing from the expired certificate was stored")

        #expect(!coll.logTail(400).contains("without TLS"), "no plain-HTTP warning with TLS on")

        // The binary's data dir: directories 0700, files 0600 (umask 077 plus explicit modes).
        let data = dir + "/data"
        var loose: [String] = []
        for rel in ["."] + (try FileManager.default.subpathsOfDirectory(atPath: data)) {
            let attrs = try FileManager.default.attributesOfItem(atPath: data + "/" + rel)
            let mode = attrs[.posixPermissions] as? Int ?? -1
            let want = attrs[.type] as? FileAttributeType == .typeDirectory ? 0o700 : 0o600
            if mode != want { loose.append("\(rel): \(String(mode, radix: 8))") }
        }
        #expect(loose.isEmpty, "\(loose)")
        #expect(coll.isRunning && prom.isRunning && edge.isRunning)
    }
}
