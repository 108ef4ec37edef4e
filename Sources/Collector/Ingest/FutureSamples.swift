import Storage

/// Samples refused because they lie beyond `ingest.max_future`, per cluster: an edge device
/// whose clock runs ahead (no RTC, no NTP yet). Only those samples are refused; the rest of
/// their series and of the request are stored.
struct FutureSamples {
    struct PerCluster {
        var samples = 0
        var series = 0
        var aheadMs: Int64 = 0
        var example: Labels
    }
    private(set) var byCluster: [String: PerCluster] = [:]

    mutating func add(cluster: String, series: Labels, samples: Int, aheadMs: Int64) {
        var e = byCluster[cluster] ?? PerCluster(example: series)
        e.samples += samples
        e.series += 1
        if aheadMs > e.aheadMs { e.aheadMs = aheadMs; e.example = series }
        byCluster[cluster] = e
    }

    /// One line per cluster, at most 10 (a proxy's request may carry thousands of clusters).
    func problems(limitMs: Int64) -> [String] {
        let sorted = byCluster.sorted { $0.key < $1.key }
        var out = sorted.prefix(10).map { c, e in
            "\(e.samples) samples of \(e.series) series from cluster \"\(c)\" rejected (future): up to \(formatDuration(ms: e.aheadMs)) ahead of the collector's clock, e.g. \(e.example), limit ingest.max_future \(formatDuration(ms: limitMs)); fix the clock of that cluster (NTP)"
        }
        if sorted.count > 10 { out.append("and future samples from \(sorted.count - 10) more clusters") }
        return out
    }
}

/// `100y12d`, `3h5m`, `1m30s`, `250ms`: the two largest units, rounded to the second one, as
/// people read durations.
func formatDuration(ms: Int64) -> String {
    if ms < 1000 { return "\(max(ms, 0))ms" }
    let units: [(String, Int64)] = [("y", 365 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
    var rest = ms
    if let first = units.firstIndex(where: { ms >= $0.1 }) {
        let step = units[min(first + 1, units.count - 1)].1
        rest = (ms / step + (ms % step >= step / 2 ? 1 : 0)) * step
    }
    var parts: [String] = []
    for (u, size) in units where parts.count < 2 && (rest >= size || !parts.isEmpty) {
        if rest >= size { parts.append("\(rest / size)\(u)") }
        rest %= size
        if parts.isEmpty { continue }
        if rest == 0 { break }
    }
    return parts.joined()
}
