import Foundation
import Logging
import Testing
import Storage
import TestSupport
@testable import EdgeScraper

/// The scrape path end to end against a real peer: the scrape manager scrapes a real
/// prometheus-node-exporter over loopback HTTP.
@Suite struct ScrapeRealTargetTests {
    @Test(.timeLimit(.minutes(1))) func scrapesRealNodeExporter() async throws {
        guard case let (proc, port)? = try await startNodeExporter() else { return }
        defer { proc.stop() }
        let cfg = try ConfigLoader.parse("""
        global: {scrape_interval: 1s, external_labels: {cluster: shop-7}}
        scrape_configs:
        - job_name: node-exporter
          static_configs: [{targets: ['127.0.0.1:\(port)']}]
          metric_relabel_configs:
          - {source_labels: [__name__], regex: 'go_.*', action: drop}
        node: {enabled: false}
        """, file: "t.yml")
        let sink = CollectingSink()
        let mgr = ScrapeManager(config: cfg, transport: LoopbackClient(), sink: sink, logger: Logger(label: "t"))
        let run = Task { await mgr.run() }
        for _ in 0..<100 where series(sink.all, "up").isEmpty { try await Task.sleep(nanoseconds: 50_000_000) }
        run.cancel()
        await run.value
        let all = sink.all
        let up = try #require(series(all, "up").first)
        #expect(up.samples[0].v == 1)
        #expect(Labels(up.labels) == Labels(["__name__": "up", "job": "node-exporter", "instance": "127.0.0.1:\(port)", "cluster": "shop-7"]))
        let scraped = try #require(series(all, "scrape_samples_scraped").first?.samples[0].v)
        let post = try #require(series(all, "scrape_samples_post_metric_relabeling").first?.samples[0].v)
        #expect(scraped > 300 && post < scraped)
        let goSeries = all.filter { ($0.labels.first { $0.name == "__name__" }?.value ?? "").hasPrefix("go_") }
        #expect(goSeries.isEmpty)
        let cpu = series(all, "node_cpu_seconds_total")
        #expect(!cpu.isEmpty && cpu.allSatisfy { Labels($0.labels)["job"] == "node-exporter" && Labels($0.labels)["cluster"] == "shop-7" })
        let status = await mgr.targetStatus()
        #expect(status.first?.health == .up || status.isEmpty)
    }
}
