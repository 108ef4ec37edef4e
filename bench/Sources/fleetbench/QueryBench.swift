import Foundation
import Logging
import PromQL
import Storage
import TSDB

/// Wraps the TSDB to add up the time its queriers spend selecting, so a query's latency splits
/// into storage (index lookups, chunk decoding, merging) and evaluation.
final class TimedStorage: Queryable, @unchecked Sendable {
    let inner: any Queryable
    var selectNanos: UInt64 = 0
    var selected = (series: 0, samples: 0)
    init(_ inner: any Queryable) { self.inner = inner }
    func querier(mint: Int64, maxt: Int64) throws -> any Querier { TimedQuerier(owner: self, inner: try inner.querier(mint: mint, maxt: maxt)) }
}

struct TimedQuerier: Querier, @unchecked Sendable {
    let owner: TimedStorage
    let inner: any Querier
    func select(_ matchers: [LabelMatcher]) throws -> [Series] {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = try inner.select(matchers)
        owner.selectNanos += DispatchTime.now().uptimeNanoseconds - t0
        owner.selected.series += r.count
        for s in r { owner.selected.samples += s.samples.count }
        return r
    }
    func series(_ m: [LabelMatcher]) throws -> [Labels] { try inner.series(m) }
    func labelNames(_ m: [LabelMatcher]) throws -> [String] { try inner.labelNames(m) }
    func labelValues(_ n: String, _ m: [LabelMatcher]) throws -> [String] { try inner.labelValues(n, m) }
}

func queryBench(dir: String, query: String, time: Int64?, start: Int64?, end: Int64?, step: Int64?, runs: Int) throws {
    // As the collector does at start (see CollectorCLI): keep freed heap between queries.
    _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
    _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 20)
    var logger = Logger(label: "fleetbench")
    logger.logLevel = .warning
    let db = try TSDB.open(directory: dir, logger: logger)
    defer { try? db.close() }
    let engine = Engine()
    var totals: [Double] = [], selects: [Double] = [], cpus: [Double] = []
    func cpuMs() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000
    }
    var shape = ""
    for run in 0...runs {  // run 0 warms up
        let ts = TimedStorage(db)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let c0 = cpuMs()
        let v = try blocking { () async throws -> QueryValue in
            if let time { return try await engine.instantQuery(query, at: time * 1000, storage: ts) }
            guard let start, let end, let step else { throw PromQLError(.badData, "query needs --time or --start/--end/--step") }
            return try await engine.rangeQuery(query, start: start * 1000, end: end * 1000, step: step * 1000, storage: ts)
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let cpu = cpuMs() - c0
        if run == 0 {
            switch v {
            case .matrix(let m): shape = "\(m.count) series, \(m.reduce(0) { $0 + $1.samples.count }) points"
            case .vector(let x): shape = "\(x.count) elements"
            default: shape = "scalar/string"
            }
            shape += "; selected \(ts.selected.series) series, \(ts.selected.samples) samples"
            continue
        }
        totals.append(ms)
        cpus.append(cpu)
        selects.append(Double(ts.selectNanos) / 1e6)
    }
    func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
    let t = median(totals), s = median(selects)
    print(String(format: "%8.1f ms total  %8.1f ms select  %8.1f ms eval  %8.1f ms CPU   %@", t, s, t - s, median(cpus), shape))
}

@_silgen_name("mallopt") func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
