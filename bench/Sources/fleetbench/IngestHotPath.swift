import Foundation
import Logging
import RemoteWrite
import Storage
import TSDB

/// Micro benchmark of the ingest hot path without HTTP: snappy decompress + WireDecoder +
/// SeriesValidator (its byte fast path, as the collector) + TSDB.append (WAL + head) of pre-generated 2,000-sample requests of the
/// workload's label sets. Prints CPU-ns per sample (process CPU time, so the WAL's fsync thread
/// counts too).
func ingestHotPath(clusters: Int, scrapes: Int) throws {
    let regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]
    var all: [[Label]] = []
    for c in 0..<clusters { all.append(contentsOf: clusterSeries(cluster: c, regions: regions).map(\.labels)) }
    // Pre-generate snappy bodies, scrape by scrape.
    var bodies: [[[UInt8]]] = []
    var x: UInt64 = 42
    // Scrapes ending now: fixed timestamps fall behind the TSDB's retention (measured from its
    // clock) and would all be refused as too old, leaving nothing of the append path to measure.
    let t0 = (Int64(Date().timeIntervalSince1970 * 1000) / 15_000 - Int64(scrapes)) * 15_000
    for sc in 0..<scrapes {
        var reqs: [[UInt8]] = []
        let t = t0 + Int64(sc) * 15_000
        var i = 0
        while i < all.count {
            let end = min(i + 2000, all.count)
            var ts: [TimeSeries] = []
            for j in i..<end {
                x = x &* 6364136223846793005 &+ 1442695040888963407
                let v = Double((x >> 40) % 100_000) / 100 + Double(sc * 10)
                ts.append(TimeSeries(labels: all[j], samples: [Sample(t: t, v: v)]))
            }
            reqs.append(WireEncoder.encodeCompressed(WriteRequest(timeseries: ts)))
            i = end
        }
        bodies.append(reqs)
    }

    let validator = SeriesValidator()

    func cpuNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    let dir = "/tmp/ingest-hotpath-data-\(getpid())"
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let db = try TSDB.open(directory: dir, logger: logger)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var decodeNs: UInt64 = 0, appendNs: UInt64 = 0
    var firstNs: UInt64 = 0, firstSamples = 0, steadyNs: UInt64 = 0, steadySamples = 0, accepted = 0
    for (sc, reqs) in bodies.enumerated() {
        let c0 = cpuNanos()
        var n = 0
        for body in reqs {
            let a = cpuNanos()
            // As the collector's IngestService (without auth: no injected labels): series whose
            // labels are plainly valid reach the head as bytes, the rest go through `validate`.
            var bytes = try Snappy.decompress(body)
            let req = try RawWriteRequest.decode(bytes)
            let injection = validator.injection(cluster: nil, bound: [], into: &bytes)!
            var ranges: [UInt32] = []
            ranges.reserveCapacity(req.labels.count)
            var batch: [AppendSeries] = []
            batch.reserveCapacity(req.series.count)
            for (i, raw) in req.series.enumerated() {
                let first = UInt32(ranges.count / 4)
                if validator.plainLabels(req, i, injection: injection, bytes: bytes, into: &ranges) {
                    batch.append(AppendSeries(span: .init(first: first, count: UInt32(ranges.count / 4) - first), samples: raw.samples))
                    n += raw.samples.count
                } else if case .success(let l) = validator.validate(req.timeSeries(i, in: bytes), cluster: nil) {
                    batch.append(AppendSeries(labels: l, samples: raw.samples))
                    n += raw.samples.count
                }
            }
            let labelBytes = LabelBytes(bytes: bytes, ranges: ranges)
            let b = cpuNanos()
            accepted += try blocking { try await db.append(batch, labelBytes: labelBytes) }.accepted
            let c = cpuNanos()
            decodeNs += b - a; appendNs += c - b
        }
        let dt = cpuNanos() - c0
        if sc == 0 { firstNs = dt; firstSamples = n } else { steadyNs += dt; steadySamples += n }
    }
    try db.close()
    let total = firstSamples + steadySamples
    print("clusters=\(clusters) scrapes=\(scrapes) samples=\(total) accepted=\(accepted)")
    print("first scrape (new series): \(firstNs / UInt64(firstSamples)) CPU-ns/sample")
    print("steady scrapes:            \(steadyNs / UInt64(max(1, steadySamples))) CPU-ns/sample")
    print("  decode+validate \(decodeNs / UInt64(total)) ns/sample, append \(appendNs / UInt64(total)) ns/sample (all scrapes)")
}

/// Runs async work to completion from this synchronous command-line tool.
func blocking<T>(_ body: @escaping () async throws -> T) throws -> T {
    let sem = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, any Error>!
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        sem.signal()
    }
    sem.wait()
    return try result.get()
}
