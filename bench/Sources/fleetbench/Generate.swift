import Foundation
import RemoteWrite
import Storage

struct GenOptions {
    var clusters = 2000
    var steps = 20
    var intervalMs: Int64 = 15_000
    var samplesPerSeries = 1      // per request: 1 = live traffic, >1 = a backlog catching up
    var samplesPerRequest = 2000
    var endMs: Int64 = 0          // timestamp of the last step; 0 = now
    var seed: UInt64 = 42
    var out = ""
}

/// Writes `bodies.bin` (snappy+protobuf bodies back to back), `index.tsv` (round, offset,
/// length, samples per body) and `meta.txt`. A round holds every series' samples for
/// `samplesPerSeries` consecutive scrapes; the sender finishes a round before starting the next,
/// so no series ever sees its samples out of order, whatever the concurrency.
func generate(_ o: GenOptions) throws {
    let regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]
    let defs = (0..<o.clusters).map { clusterSeries(cluster: $0, regions: regions) }
    var states = (0..<o.clusters).map { ClusterState(seed: o.seed &+ UInt64($0) &* 1_000_003, defs: defs[$0]) }
    let endMs = o.endMs != 0 ? o.endMs : Int64(Date().timeIntervalSince1970 * 1000)
    let startMs = endMs - Int64(o.steps - 1) * o.intervalMs
    let seriesCount = defs.reduce(0) { $0 + $1.count }

    FileManager.default.createFile(atPath: o.out + "/bodies.bin", contents: nil)
    guard let bodies = FileHandle(forWritingAtPath: o.out + "/bodies.bin") else { throw BenchError("cannot write \(o.out)/bodies.bin") }
    var index = ""
    var offset = 0
    var totalSamples = 0
    var pending: [TimeSeries] = []
    var pendingSamples = 0
    var round = 0
    var jitter = Rng(s: o.seed ^ 0xABCDEF)

    func flush() {
        guard !pending.isEmpty else { return }
        let body = WireEncoder.encodeCompressed(WriteRequest(timeseries: pending))
        bodies.write(Data(body))
        index += "\(round)\t\(offset)\t\(body.count)\t\(pendingSamples)\n"
        offset += body.count
        totalSamples += pendingSamples
        pending.removeAll(keepingCapacity: true)
        pendingSamples = 0
    }

    var first = 0
    while first < o.steps {
        let k = min(o.samplesPerSeries, o.steps - first)
        for c in 0..<o.clusters {
            let d = defs[c]
            var matrix = [[Sample]](repeating: [], count: d.count)
            // Scrapes of one cluster start at its own phase, with a few ms of jitter, as real ones.
            let phase = Int64(c * 7919 % Int(o.intervalMs))
            for j in 0..<k {
                states[c].step(defs: d, intervalSec: Double(o.intervalMs) / 1000)
                let t = startMs + Int64(first + j) * o.intervalMs - phase + Int64(jitter.next() % 5)
                for i in 0..<d.count { matrix[i].append(Sample(t: t, v: states[c].values[i])) }
            }
            for i in 0..<d.count {
                pending.append(TimeSeries(labels: d[i].labels, samples: matrix[i]))
                pendingSamples += k
                if pendingSamples >= o.samplesPerRequest { flush() }
            }
        }
        flush()
        round += 1
        first += k
    }
    try bodies.close()
    try index.write(toFile: o.out + "/index.tsv", atomically: true, encoding: .utf8)
    let meta = """
        clusters=\(o.clusters)
        series=\(seriesCount)
        samples=\(totalSamples)
        requests=\(index.split(separator: "\n").count)
        rounds=\(round)
        bytes=\(offset)
        start_ms=\(startMs - o.intervalMs)
        end_ms=\(endMs + 5)
        interval_ms=\(o.intervalMs)

        """
    try meta.write(toFile: o.out + "/meta.txt", atomically: true, encoding: .utf8)
    print(meta, terminator: "")
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
