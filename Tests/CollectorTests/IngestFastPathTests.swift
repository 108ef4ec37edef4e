import Foundation
import RemoteWrite
import Storage
import Synchronization
import TestSupport
import TSDB
import Testing

@testable import Collector

/// The ingest fast path (series found by their label bytes) against the path every series took
/// before it: `WireDecoder.decode`, `validate` and `TSDB.append` of `Labels`. Same stored series
/// and samples, same answer, same fleet observations, for random and adversarial requests.
@Suite struct IngestFastPathTests {
    static func randomRequest(_ rng: inout SplitMix, t: Int64) -> WriteRequest {
        let names = ["job", "instance", "cluster", "exported_cluster", "region", "a", "1bad", "dup"]
        let values = ["node", "x", "", "é", "e\u{301}", "store-1", "eu", "v"]
        var out: [TimeSeries] = []
        for _ in 0..<Int.random(in: 1...30, using: &rng) {
            var labels = [Label("__name__", ["up", "m", "node_cpu", "9bad"][Int.random(in: 0..<(Int.random(in: 0..<8, using: &rng) == 0 ? 4 : 3), using: &rng)])]
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                labels.append(Label(names[Int.random(in: 0..<(Int.random(in: 0..<6, using: &rng) == 0 ? names.count : 6), using: &rng)],
                                    values.randomElement(using: &rng)!))
            }
            if Int.random(in: 0..<5, using: &rng) > 0 { labels.sort { $0.name < $1.name } }
            let samples = (0..<Int.random(in: 0...2, using: &rng)).map { k in Sample(t: t + Int64(k), v: Double(Int.random(in: 0...2, using: &rng))) }
            out.append(TimeSeries(labels: labels, samples: samples))
        }
        return WriteRequest(timeseries: out)
    }

    final class Captured: Sendable {
        let batches = Mutex<[FleetBatch]>([])
        /// Series that reached the TSDB as label bytes (the fast path), so the test knows it ran.
        let asBytes = Mutex(0)
    }

    @Test(arguments: [nil, IngestIdentity(cluster: "store-1"), IngestIdentity(cluster: "store-2", labels: [Label("region", "eu"), Label("zone", "a")])])
    func sameResultAsValidatingEverySeries(identity: IngestIdentity?) async throws {
        let d1 = try tempDir("fast"), d2 = try tempDir("reference")
        defer { try? FileManager.default.removeItem(atPath: d1); try? FileManager.default.removeItem(atPath: d2) }
        // The TSDB's own clock decides what is too old: use the real one.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let fast = try TSDB.open(directory: d1, logger: .init(label: "t"))
        let reference = try TSDB.open(directory: d2, logger: .init(label: "t"))
        let captured = Captured()
        let ingest = IngestService(tsdb: fast, metrics: CollectorMetrics(), admission: Admission(), maxDecodedBytes: 1 << 24,
                                   maxFutureMs: 600_000, now: { now }, logger: .init(label: "t"),
                                   onAppended: { id, series, bytes in
                                       captured.asBytes.withLock { $0 += series.count { $0.labels == nil } }
                                       captured.batches.withLock { $0.append(FleetBatch(identity: id, series: series, labelBytes: bytes)) }
                                   })
        let validator = SeriesValidator()
        var rng = SplitMix(seed: UInt64(identity?.labels.count ?? 9) &+ 1)
        for round in 0..<60 {
            let req = Self.randomRequest(&rng, t: now - 60_000 + Int64(round % 7) * 1000)
            let answer = await ingest.ingest(body: WireEncoder.encodeCompressed(req), contentEncoding: "snappy",
                                             contentType: "application/x-protobuf", identity: identity)
            // The old path, by hand.
            var batch: [SeriesSamples] = []
            var bad = 0
            for ts in try WireDecoder.decode(WireEncoder.encode(req)).timeseries where !ts.samples.isEmpty {
                switch validator.validate(ts, cluster: identity?.cluster, bound: identity?.labels ?? []) {
                case .success(let l): batch.append(SeriesSamples(labels: l, samples: ts.samples))
                case .failure: bad += 1
                }
            }
            if !batch.isEmpty { _ = try await reference.append(batch) }
            #expect(answer.status == (bad == 0 ? 204 : 400), "round \(round): \(answer.message)")
            if bad > 0 { #expect(answer.message.hasPrefix("stored \(req.timeseries.count - bad) of \(req.timeseries.count) series")) }
            let want = FleetBatch(identity: identity, series: batch)
            let got = captured.batches.withLock { $0.popLast() }
            if batch.isEmpty { continue }
            guard let got else { Issue.record("round \(round): fleet not told"); continue }
            #expect(got.groups.map { "\($0.name) \($0.region ?? "-") \($0.site ?? "-") \($0.samples) \($0.minT) \($0.maxT)" }
                    == want.groups.map { "\($0.name) \($0.region ?? "-") \($0.site ?? "-") \($0.samples) \($0.minT) \($0.maxT)" })
            #expect(got.observations.map { "\($0.slot) \($0.hash) \($0.samples) \(String(describing: $0.upValue)) \($0.upT)" }
                    == want.observations.map { "\($0.slot) \($0.hash) \($0.samples) \(String(describing: $0.upValue)) \($0.upT)" })
        }
        let x = try fast.querier(mint: .min, maxt: .max).select([])
        let y = try reference.querier(mint: .min, maxt: .max).select([])
        #expect(x.count == y.count && x.count > 20)
        #expect(captured.asBytes.withLock { $0 } > 100)
        for (p, q) in zip(x, y) {
            #expect(p.labels.pairs.map { Array($0.name.utf8) + [0] + Array($0.value.utf8) } == q.labels.pairs.map { Array($0.name.utf8) + [0] + Array($0.value.utf8) })
            #expect(p.samples.map(\.t) == q.samples.map(\.t) && p.samples.map(\.v.bitPattern) == q.samples.map(\.v.bitPattern), "\(p.labels)")
        }
        try fast.close()
        try reference.close()
    }

    /// Without a token every cluster named by a series is admitted, also when the series of
    /// several clusters come in runs and mix the fast path with `Labels`: a request touching a
    /// busy cluster (in a later run, behind one series without a `cluster` label) is refused
    /// with its name; without it, it is stored.
    @Test func noAuthAdmitsEveryClusterOfARequest() async throws {
        let d = try tempDir("admit")
        defer { try? FileManager.default.removeItem(atPath: d) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let db = try TSDB.open(directory: d, logger: .init(label: "t"))
        var limits = Admission.Limits()
        limits.maxInflightPerCluster = 1
        let admission = Admission(limits)
        let ingest = IngestService(tsdb: db, metrics: CollectorMetrics(), admission: admission, maxDecodedBytes: 1 << 24,
                                   maxFutureMs: 600_000, now: { now }, logger: .init(label: "t"), onAppended: { _, _, _ in })
        func series(_ cluster: String?, _ name: String, sorted: Bool = true) -> TimeSeries {
            var l = [Label("__name__", name)]
            if let cluster { l.append(Label("cluster", cluster)) }
            if !sorted { l.reverse() }  // unsorted: not the fast path
            return TimeSeries(labels: l, samples: [Sample(t: now - 1000, v: 1)])
        }
        let req = WriteRequest(timeseries: [series("a", "m1"), series("a", "m2"), series("a", "m3", sorted: false), series(nil, "m4"),
                                            series("busy-cluster", "m5"), series("busy-cluster", "m6"), series("a", "m7")])
        let body = WireEncoder.encodeCompressed(req)
        #expect(admission.enter(clusters: ["busy-cluster"]) == nil)
        let refused = await ingest.ingest(body: body, contentEncoding: "snappy", contentType: nil, identity: nil)
        #expect(refused.status == 429 && refused.message.contains("\"busy-cluster\""), "\(refused)")
        admission.leave(clusters: ["busy-cluster"])
        #expect(admission.enter(clusters: ["a"]) == nil)
        let refusedA = await ingest.ingest(body: body, contentEncoding: "snappy", contentType: nil, identity: nil)
        #expect(refusedA.status == 429 && refusedA.message.contains("\"a\""), "\(refusedA)")
        admission.leave(clusters: ["a"])
        let stored = await ingest.ingest(body: body, contentEncoding: "snappy", contentType: nil, identity: nil)
        #expect(stored.status == 204, "\(stored)")
        #expect(try db.querier(mint: .min, maxt: .max).select([]).count == 7)
    }
}
