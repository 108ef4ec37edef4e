import Foundation
import Testing
import Storage
import TestSupport
@testable import EdgeScraper

/// Scrape-side label semantics against the real peer: Prometheus 2.42 scrapes a recorded
/// exposition (served on 127.0.0.1) with and without honor_labels and with metric relabeling;
/// the series it stores must be exactly the series our scrape processing produces.
@Suite struct ScrapePrometheusTests {
    static let body = """
    # HELP m A counter.
    # TYPE m counter
    m{a="1"} 1
    m{job="exposed",instance="i",exported_job="x"} 2
    go_goroutines 3
    other{b="2",keep="yes"} 4
    other{b="3",keep="no"} 5
    hist_bucket{le="0.5"} 1
    hist_bucket{le="+Inf"} 2
    hist_sum 0.3
    hist_count 2
    other{b="2",keep="yes"} 4
    """

    @Test(.timeLimit(.minutes(1))) func storedSeriesMatchPrometheus() async throws {
        guard let binary = installedPeer("/usr/bin/prometheus", package: "prometheus") else { return }
        let server = try RecordedServer(routes: ["/metrics": ("text/plain; version=0.0.4", Array(Self.body.utf8))])
        defer { server.stop() }
        let config = """
        global: {scrape_interval: 1s}
        scrape_configs:
        - job_name: plain
          static_configs: [{targets: ['127.0.0.1:\(server.port)'], labels: {site: s1}}]
          metric_relabel_configs:
          - {source_labels: [__name__], regex: 'go_.*', action: drop}
          - {source_labels: [keep], regex: 'no', action: drop}
          - {source_labels: [b], target_label: bee}
        - job_name: honor
          honor_labels: true
          static_configs: [{targets: ['localhost:\(server.port)']}]
        """
        let dir = try tempDir("promscrape")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (proc, port) = try startPrometheus(binary, dir: dir, config: config)
        defer { proc.stop() }

        func stored() -> Set<[String: String]> {
            guard let r = Loopback.get(port: port, path: "/api/v1/series?match%5B%5D=%7B__name__%3D~%22.%2B%22%7D"), r.0 == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(r.2)) as? [String: Any],
                  let data = json["data"] as? [[String: String]] else { return [] }
            return Set(data)
        }
        var theirs: Set<[String: String]> = []
        for _ in 0..<150 {
            theirs = stored()
            let jobs = Set(theirs.compactMap { $0["__name__"] == "up" ? $0["job"] : nil })
            if jobs.count == 2 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }

        let cfg = try ConfigLoader.parse(config, file: "prometheus.yml")
        var ours: Set<[String: String]> = []
        for sc in cfg.scrapeConfigs {
            let groups = StaticDiscovery(sc.staticConfigs, job: sc.jobName).groups
            let (targets, _, _) = TargetBuilder.targets(from: groups, config: sc, rules: try Relabel.compile(sc.relabelConfigs))
            for t in targets {
                var p = ScrapeProcessor(target: t, config: sc, metricRules: try Relabel.compile(sc.metricRelabelConfigs), externalLabels: Labels())
                let (out, report) = p.process(.body(Array(Self.body.utf8), contentType: "text/plain; version=0.0.4"), start: 0, duration: 0)
                #expect(report.up)
                for s in out.timeSeries { ours.insert(Dictionary(uniqueKeysWithValues: s.labels.map { ($0.name, $0.value) })) }
            }
        }
        // The report values, duplicates included, as Prometheus counts them.
        func value(_ query: String) -> [String: String] {
            guard let r = Loopback.get(port: port, path: "/api/v1/query?query=\(query)"), r.0 == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(r.2)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return [:] }
            var out: [String: String] = [:]
            for s in result { out[(s["metric"] as? [String: String])?["job"] ?? ""] = (s["value"] as? [Any])?.last as? String }
            return out
        }
        var oursReport: [String: [String: String]] = [:]
        for sc in cfg.scrapeConfigs {
            let t = try #require(TargetBuilder.targets(from: StaticDiscovery(sc.staticConfigs, job: sc.jobName).groups, config: sc,
                                                       rules: try Relabel.compile(sc.relabelConfigs)).targets.first)
            var p = ScrapeProcessor(target: t, config: sc, metricRules: try Relabel.compile(sc.metricRelabelConfigs), externalLabels: Labels())
            let (_, r) = p.process(.body(Array(Self.body.utf8), contentType: nil), start: 0, duration: 0)
            oursReport["scrape_samples_scraped", default: [:]][sc.jobName] = String(r.samplesScraped)
            oursReport["scrape_samples_post_metric_relabeling", default: [:]][sc.jobName] = String(r.samplesPostRelabel)
        }
        for name in ["scrape_samples_scraped", "scrape_samples_post_metric_relabeling"] {
            #expect(value(name) == oursReport[name], "\(name): Prometheus \(value(name)), ours \(oursReport[name] ?? [:])")
        }
        #expect(theirs.count > 10, "Prometheus stored too little: \(theirs)")
        #expect(theirs.subtracting(ours).isEmpty, "only in Prometheus: \(theirs.subtracting(ours))")
        #expect(ours.subtracting(theirs).isEmpty, "only ours: \(ours.subtracting(theirs))")
    }
}
