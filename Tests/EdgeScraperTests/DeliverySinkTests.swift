import DurableIO
import Logging
import RemoteWrite
import Storage
import Testing
import TestSupport
@testable import EdgeScraper

@Suite struct DeliverySinkTests {
    func queue(_ dir: TempDir) throws -> DiskQueue {
        try DiskQueue(dir: dir.path, maxBytes: 1 << 20, logger: Logger(label: "test"))
    }

    func drain(_ q: DiskQueue) async throws -> (series: [TimeSeries], keys: Set<UInt32>) {
        var out: [TimeSeries] = [], keys: Set<UInt32> = []
        while let r = await q.poll() {
            out += try decodeRecord(r).timeseries
            keys.insert(r.key)
            await q.ack(r.position)
        }
        return (out, keys)
    }

    /// write_relabel_configs apply to their endpoint alone, to every sample of a series (the
    /// entries of one series share their label bytes), and dropped samples are counted.
    @Test func writeRelabelingIsPerEndpoint() async throws {
        let d1 = TempDir(), d2 = TempDir()
        defer { d1.cleanup(); d2.cleanup() }
        let plain = try queue(d1), relabeled = try queue(d2)
        let registry = MetricsRegistry()
        let sink = DeliverySink(registry: registry)
        var drop = RelabelConfig()
        drop.action = .drop; drop.sourceLabels = ["__name__"]; drop.regex = "go_.*"
        var region = RelabelConfig()
        region.targetLabel = "region"; region.replacement = "eu"
        sink.setEndpoints([.init(id: "plain", rules: [], queue: plain),
                           .init(id: "relabeled", rules: try Relabel.compile([drop, region]), queue: relabeled)])
        let target = [Label("instance", "i:1"), Label("job", "j")]
        let series = [
            TimeSeries(labels: [Label("__name__", "a")] + target, samples: [Sample(t: 1, v: 1), Sample(t: 2, v: 2)]),
            TimeSeries(labels: [Label("__name__", "go_goroutines")] + target, samples: [Sample(t: 1, v: 9)]),
            TimeSeries(labels: [Label("__name__", "b")] + target, samples: [Sample(t: 1, v: 3)]),
        ]
        try await sink.enqueue(EncodedBatch(series, key: DiskQueue.streamKey(target)))
        let (all, plainKeys) = try await drain(plain)
        let (kept, keys) = try await drain(relabeled)
        #expect(all.map { Labels($0.labels).metricName } == ["a", "a", "go_goroutines", "b"])
        #expect(kept.map { Labels($0.labels).metricName } == ["a", "a", "b"])
        #expect(kept.allSatisfy { Labels($0.labels)["region"] == "eu" && Labels($0.labels)["job"] == "j" })
        #expect(kept.map { $0.samples[0].v } == [1, 2, 3])
        #expect(all.allSatisfy { Labels($0.labels)["region"] == nil })
        #expect(plainKeys == [DiskQueue.streamKey(target)] && keys == plainKeys)
        #expect(registry.render().contains("edge_scraper_samples_write_relabel_dropped_total 1"))
        await plain.close(); await relabeled.close()
    }
}
