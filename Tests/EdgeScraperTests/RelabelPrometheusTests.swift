import Foundation
import Testing
import Storage
import TestSupport
@testable import EdgeScraper

/// Relabeling and target building against the real peer: Prometheus 2.42 (agent mode) loads the
/// same config, and its /api/v1/targets must show the targets, labels and URLs we compute.
@Suite struct RelabelPrometheusTests {
    static let config = #"""
    global: {scrape_interval: 1h, external_labels: {cluster: c1}}
    scrape_configs:
    - job_name: probe
      metrics_path: /probe
      params: {module: [http_2xx], target: [x]}
      static_configs:
      - targets: ['Host-A:9100', 'host-b', '10.0.0.1:9100', 'web.example:8080', '[::1]:9', 'Mixed.Case:1']
        labels: {__meta_env: Prod, team: edge}
      relabel_configs:
      - {source_labels: [__address__], regex: '(?P<host>[^:\[\]]+)(?::\d+)?', target_label: host, replacement: '${host}'}
      - {source_labels: [host], action: lowercase, target_label: host_lower}
      - {source_labels: [host], action: uppercase, target_label: host_upper}
      - {source_labels: [__address__], action: hashmod, modulus: 3, target_label: __tmp_shard}
      - {source_labels: [__tmp_shard], target_label: shard}
      - {action: labelmap, regex: '__meta_(.+)', replacement: 'meta_${1}'}
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [host], regex: 'web.*', action: drop}
    - job_name: shapes
      scheme: https
      static_configs:
      - targets: ['a:1', 'b', 'c:3', 'd:4', 'e:5']
        labels: {port: '1', zone: eu-1, rack: r7}
      - targets: ['f:6']
        labels: {zone: us-2}
      relabel_configs:
      - {source_labels: [__address__], regex: '[^:]+:(\d+)', target_label: __tmp_port, replacement: '$1'}
      - {source_labels: [__address__], regex: 'd:4', action: drop}
      - {source_labels: [port], action: dropequal, target_label: __tmp_port}
      - {source_labels: [zone, rack], separator: '/', target_label: location}
      - {source_labels: [zone], regex: '([a-z]+)-(\d)', target_label: 'region_$1', replacement: '$2'}
      - {source_labels: [__address__], regex: 'e:5', target_label: __scheme__, replacement: http}
      - {source_labels: [__address__], regex: 'c:3', target_label: __metrics_path__, replacement: /federate}
      - {source_labels: [__address__], regex: 'c:3', target_label: instance, replacement: custom}
      - {action: labeldrop, regex: 'rack|port'}
      - {source_labels: [zone], regex: 'us-.*', action: keep}
    - job_name: keepers
      static_configs:
      - targets: ['k:1', 'k:2']
        labels: {want: 'k:1', drop_me: x, keep_me: y}
      relabel_configs:
      - {source_labels: [__address__], action: keepequal, target_label: want}
      - {action: labelkeep, regex: '__.*|keep_me|want'}
    - job_name: filesd
      file_sd_configs: [{files: ['SDDIR/*.json']}]
      relabel_configs:
      - {source_labels: [__meta_filepath], regex: '.*/(.+)\.json', target_label: sdfile}
    """#

    static let sdFile = #"[{"targets": ["fs-a:9100", "fs-b:9100"], "labels": {"site": "shop-7"}}, {"targets": ["fs-c:1"]}]"#

    struct Seen: Hashable {
        var labels: [String: String]
        var discovered: [String: String]
        var url: String
    }

    @Test(.timeLimit(.minutes(1))) func targetsMatchPrometheus() async throws {
        guard let binary = installedPeer("/usr/bin/prometheus", package: "prometheus") else { return }
        let dir = try tempDir("promrelabel")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Self.config.replacingOccurrences(of: "SDDIR", with: dir)
        let sdPath = dir + "/targets.json"
        try Self.sdFile.write(toFile: sdPath, atomically: true, encoding: .utf8)
        let (proc, port) = try startPrometheus(binary, dir: dir, config: config, agent: true)
        defer { proc.stop() }

        // Prometheus' scrape manager applies discovered targets every 5 s.
        var theirs: [Seen] = []
        var theirsDropped: [String: Int] = [:]
        for _ in 0..<200 {
            if let r = Loopback.get(port: port, path: "/api/v1/targets"), r.0 == 200,
               let json = try? JSONSerialization.jsonObject(with: Data(r.2)) as? [String: Any],
               let data = json["data"] as? [String: Any],
               let active = data["activeTargets"] as? [[String: Any]], active.count >= 10 {
                theirs = active.map {
                    Seen(labels: $0["labels"] as? [String: String] ?? [:], discovered: $0["discoveredLabels"] as? [String: String] ?? [:],
                         url: $0["scrapeUrl"] as? String ?? "")
                }
                for d in data["droppedTargets"] as? [[String: Any]] ?? [] {
                    theirsDropped[(d["discoveredLabels"] as? [String: String])?["job"] ?? "", default: 0] += 1
                }
                break
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(!theirs.isEmpty, "Prometheus did not report targets in time")

        let cfg = try ConfigLoader.parse(config, file: "prometheus.yml")
        var ours: [Seen] = []
        var oursDropped: [String: Int] = [:]
        for sc in cfg.scrapeConfigs {
            var groups = StaticDiscovery(sc.staticConfigs, job: sc.jobName).groups
            if !sc.fileSDConfigs.isEmpty { groups += try FileDiscovery.parse(Self.sdFile, path: sdPath) }
            let (targets, dropped, errors) = TargetBuilder.targets(from: groups, config: sc, rules: try Relabel.compile(sc.relabelConfigs))
            #expect(errors.isEmpty, "\(errors)")
            if dropped > 0 { oursDropped[sc.jobName] = dropped }
            for t in targets {
                ours.append(Seen(labels: Dictionary(uniqueKeysWithValues: t.seriesLabels.map { ($0.name, $0.value) }),
                                 discovered: Dictionary(uniqueKeysWithValues: t.discoveredLabels.map { ($0.name, $0.value) }),
                                 url: t.url))
            }
        }
        // Prometheus 2.42 reports the keepers job's discoveredLabels after its labelkeep (its
        // builder shares the discovered set); compare what was discovered for the others only.
        func comparable(_ xs: [Seen]) -> [Seen] {
            xs.map { s in
                var s = s
                if s.url.hasPrefix("http://k:") { s.discovered = [:] }
                return s
            }
        }
        theirs = comparable(theirs)
        ours = comparable(ours)
        let missing = Set(theirs).subtracting(ours)
        let extra = Set(ours).subtracting(theirs)
        #expect(missing.isEmpty && extra.isEmpty, "only in Prometheus: \(missing)\nonly ours: \(extra)")
        #expect(oursDropped == theirsDropped)
    }
}
