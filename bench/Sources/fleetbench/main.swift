import Foundation
import Logging
import TSDB

/// fleetbench gen  --out DIR [--clusters N] [--steps S] [--samples-per-series K] [--samples-per-request R]
///                 [--interval-ms MS] [--end-ms MS] [--seed N]
/// fleetbench send --dir DIR --url http://127.0.0.1:PORT/api/v1/write [--concurrency C] [--rounds N] [--first-round K]
///                 (prints p50/p99/max request latency too)
/// fleetbench flush-tsdb --dir COLLECTOR_DATA_DIR/tsdb   (collector must be stopped)
/// fleetbench replay --dir TSDB_DIR                       (times TSDB.open: blocks + WAL replay)
/// fleetbench wal-first-format --dir TSDB_DIR             (rewrites its WAL in the uncompressed format)
/// fleetbench ingest-hotpath [--clusters 200] [--scrapes 12]   (decode + validate + TSDB append, no HTTP)
/// fleetbench query --dir COLLECTOR_DATA_DIR/tsdb --query Q (--time S | --start S --end S --step S) [--runs N]
///                 (collector must be stopped; in-process latency with the time spent in storage apart)
/// fleetbench login-storm --port P --token T --dir LOAD_DIR [--attackers 16] [--seconds 20] [--interval-ms 20] [--spread 0|1]
///                 (wrong-password logins against a running collector; /-/healthy and ingest latency meanwhile)
let usage = "usage: fleetbench gen --out DIR [...] | send --dir DIR --url URL [--concurrency C] | flush-tsdb --dir DIR | replay --dir DIR | wal-first-format --dir DIR | ingest-hotpath | query --dir DIR --query Q ..."

func options(_ args: ArraySlice<String>) throws -> [String: String] {
    var o: [String: String] = [:]
    var it = args.makeIterator()
    while let a = it.next() {
        guard a.hasPrefix("--"), let v = it.next() else { throw BenchError("unexpected argument \(a); \(usage)") }
        o[String(a.dropFirst(2))] = v
    }
    return o
}

do {
    let args = CommandLine.arguments
    guard args.count >= 2 else { throw BenchError(usage) }
    let o = try options(args.dropFirst(2))
    func int(_ k: String, _ d: Int) throws -> Int {
        guard let s = o[k] else { return d }
        guard let v = Int(s) else { throw BenchError("--\(k) \(s): not an integer") }
        return v
    }
    switch args[1] {
    case "gen":
        var g = GenOptions()
        guard let out = o["out"] else { throw BenchError("gen needs --out DIR") }
        g.out = out
        g.clusters = try int("clusters", g.clusters)
        g.steps = try int("steps", g.steps)
        g.samplesPerSeries = try int("samples-per-series", g.samplesPerSeries)
        g.samplesPerRequest = try int("samples-per-request", g.samplesPerRequest)
        g.intervalMs = Int64(try int("interval-ms", Int(g.intervalMs)))
        g.endMs = Int64(try int("end-ms", 0))
        g.seed = UInt64(try int("seed", Int(g.seed)))
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try generate(g)
    case "send":
        guard let dir = o["dir"], let url = o["url"] else { throw BenchError("send needs --dir and --url") }
        try send(dir: dir, url: url, concurrency: try int("concurrency", 8), rounds: try int("rounds", 0),
                 firstRound: try int("first-round", 0))
    case "flush-tsdb":
        guard let dir = o["dir"] else { throw BenchError("flush-tsdb needs --dir") }
        var logger = Logger(label: "fleetbench")
        logger.logLevel = .warning
        let db = try TSDB.open(directory: dir, logger: logger)
        try db.flushHead()
        try db.close()
        print("flushed head of \(dir) into blocks")
    case "replay":
        // Times TSDB.open of a stopped store: block loading and WAL replay.
        guard let dir = o["dir"] else { throw BenchError("replay needs --dir") }
        var logger = Logger(label: "fleetbench")
        logger.logLevel = .warning
        let c0 = clock(), t0 = DispatchTime.now().uptimeNanoseconds
        let db = try TSDB.open(directory: dir, logger: logger)
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let cpu = Double(clock() - c0) / 1e6  // CLOCKS_PER_SEC, fixed by POSIX
        print(String(format: "open_s=%.3f cpu_s=%.3f head_series=%d head_chunks=%d", secs, cpu, db.metrics.headSeries, db.metrics.headChunks))
        try db.close()
    case "wal-first-format":
        guard let dir = o["dir"] else { throw BenchError("wal-first-format needs --dir") }
        try TSDB.rewriteWALInFirstFormat(directory: dir)
    case "ingest-hotpath":
        try ingestHotPath(clusters: try int("clusters", 200), scrapes: try int("scrapes", 12))
    case "login-storm":
        guard let dir = o["dir"], let token = o["token"] else { throw BenchError("login-storm needs --port, --token and --dir") }
        try loginStorm(port: try int("port", 0), token: token, dir: dir, attackers: try int("attackers", 16),
                       seconds: Double(try int("seconds", 20)), intervalMs: try int("interval-ms", 20), spread: try int("spread", 0) != 0)
    case "query":
        guard let dir = o["dir"], let q = o["query"] else { throw BenchError("query needs --dir and --query") }
        try queryBench(dir: dir, query: q, time: o["time"].flatMap(Int64.init), start: o["start"].flatMap(Int64.init),
                       end: o["end"].flatMap(Int64.init), step: o["step"].flatMap(Int64.init), runs: max(1, try int("runs", 5)))
    default:
        throw BenchError(usage)
    }
} catch {
    FileHandle.standardError.write("fleetbench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
