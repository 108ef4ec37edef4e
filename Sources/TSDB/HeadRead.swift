import Storage

/// Reading the head: called under the head lock, they copy out what a query needs (label sets and
/// chunk lists, arrays shared copy-on-write) so decoding runs after the lock is released.
extension Head {
    /// The head's part of a query snapshot: every series matching `matchers` with its chunks
    /// overlapping [mint, maxt]. Sealed chunks moved to disk stay references, read through
    /// `chunkFilesForQuery()` taken under the same lock.
    func chunks(matching matchers: [LabelMatcher], mint: Int64, maxt: Int64) -> [(Labels, [ChunkData])] {
        var out: [(Labels, [ChunkData])] = []
        let refs = (try? postings(for: matchers)) ?? []
        for r in refs {
            guard let s = seriesByRef(r) else { continue }
            let cs = s.chunks(mint: mint, maxt: maxt)
            if !cs.isEmpty { out.append((labels(of: s), cs)) }
        }
        return out
    }

    /// False when the head surely holds nothing before `t` (its lower bound may be stale-low, so
    /// true does not promise that a cut finds anything).
    func mayHoldSamples(before t: Int64) -> Bool { minT < t }

    /// Label names (`name == nil`) or the values of one label, if the head's time bounds overlap
    /// [mint, maxt] (by bounds only, as for blocks).
    func indexValues(_ name: String?, mint: Int64, maxt: Int64, into out: inout Set<String>) {
        guard minT <= maxt && maxT >= mint else { return }
        if let name { out.formUnion(values(of: name)) } else { out.formUnion(labelNames()) }
    }

    /// Chunks in memory and on disk over all series (open chunks and late-sample buffers count).
    var chunkCount: Int { allSeries.reduce(0) { $0 + $1.chunkCount } }

    /// /api/v1/status/tsdb over the series matching `matchers` (a user's scope), or over the
    /// whole head without matchers. With matchers, everything is counted from those series'
    /// labels, so nothing outside the scope — not even a label value — shows.
    /// Over the series matching any one of `alternatives` (a union scope), each counted once;
    /// everything when there are none or one is empty.
    func status(limit: Int, anyOf alternatives: [[LabelMatcher]], blockCount: Int) -> TSDBStatus {
        if alternatives.isEmpty || alternatives.contains(where: \.isEmpty) { return status(limit: limit, blockCount: blockCount) }
        return scopedStatus(limit: limit, anyOf: alternatives, blockCount: blockCount)
    }

    private func scopedStatus(limit: Int, anyOf alternatives: [[LabelMatcher]], blockCount: Int) -> TSDBStatus {
        var refSet = Set<HeadRef>()
        for alt in alternatives { refSet.formUnion((try? postings(for: alt)) ?? []) }
        let refs = refSet.sorted()
        var chunks = 0, minT = Int64.max, maxT = Int64.min
        var byMetric: [String: Int] = [:], pairs: [String: Int] = [:], memory: [String: Int] = [:]
        var values: [String: Set<String>] = [:]
        for r in refs {
            guard let s = seriesByRef(r) else { continue }
            chunks += s.chunkCount
            if let m = s.minTime { minT = min(minT, m) }
            if let m = s.maxTime { maxT = max(maxT, m) }
            for l in labels(of: s) {
                if l.name == Labels.metricName { byMetric[l.value, default: 0] += 1 }
                pairs[l.name + "=" + l.value, default: 0] += 1
                memory[l.name, default: 0] += l.value.utf8.count
                values[l.name, default: []].insert(l.value)
            }
        }
        func top(_ xs: [String: Int]) -> [(name: String, value: Int)] {
            Array(xs.map { (name: $0.key, value: $0.value) }
                .sorted { $0.value != $1.value ? $0.value > $1.value : $0.name < $1.name }.prefix(max(0, limit)))
        }
        return TSDBStatus(
            headSeries: refs.count, headChunks: chunks,
            minTime: minT == .max ? 0 : minT, maxTime: maxT == .min ? 0 : maxT,
            blockCount: blockCount,
            seriesCountByMetricName: top(byMetric), labelValueCountByLabelName: top(values.mapValues(\.count)),
            memoryInBytesByLabelName: top(memory), seriesCountByLabelValuePair: top(pairs))
    }

    private func status(limit: Int, blockCount: Int) -> TSDBStatus {
        var chunks = 0
        var minT = Int64.max
        var maxT = Int64.min
        for s in allSeries {
            chunks += s.chunkCount
            if let m = s.minTime { minT = min(minT, m) }
            if let m = s.maxTime { maxT = max(maxT, m) }
        }
        func top(_ xs: [(name: String, value: Int)]) -> [(name: String, value: Int)] {
            Array(xs.sorted { $0.value != $1.value ? $0.value > $1.value : $0.name < $1.name }.prefix(max(0, limit)))
        }
        var byMetric: [(name: String, value: Int)] = []
        var valueCount: [(name: String, value: Int)] = []
        var memory: [(name: String, value: Int)] = []
        var pairs: [(name: String, value: Int)] = []
        forEachLabelName { name, values in
            if name == Labels.metricName { byMetric = values.map { ($0.value, $0.series) } }
            valueCount.append((name, values.count))
            var bytes = 0
            for (value, n) in values {
                bytes += value.utf8.count * n
                pairs.append((name + "=" + value, n))
            }
            memory.append((name, bytes))
        }
        return TSDBStatus(
            headSeries: seriesCount, headChunks: chunks,
            minTime: minT == .max ? 0 : minT, maxTime: maxT == .min ? 0 : maxT,
            blockCount: blockCount,
            seriesCountByMetricName: top(byMetric), labelValueCountByLabelName: top(valueCount),
            memoryInBytesByLabelName: top(memory), seriesCountByLabelValuePair: top(pairs))
    }
}
