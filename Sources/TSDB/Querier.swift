import Storage

/// Reads blocks, the frozen set being persisted and the head, and merges them per series.
/// Precedence on equal timestamps: blocks by write order, then frozen, then head — the order
/// in which the data was first written.
struct TSDBQuerier: Querier {
    let db: TSDB
    let mint: Int64
    let maxt: Int64

    func select(_ matchers: [LabelMatcher]) throws -> [Series] {
        let snap = db.snapshot(matchers, mint: mint, maxt: maxt)
        var merged: [Labels: [Sample]] = [:]
        for b in snap.blocks {
            for ref in try b.postings(for: matchers) {
                let e = try b.series(ref)
                guard e.chunks.contains(where: { $0.maxT >= mint && $0.minT <= maxt }) else { continue }
                let s = try b.samples(e, mint: mint, maxt: maxt)
                if s.isEmpty { continue }
                if let prev = merged[e.labels] { merged[e.labels] = SampleMerge.merge(prev, s) } else { merged[e.labels] = s }
            }
        }
        for (labels, chunks) in snap.frozen + snap.head {
            let s = SampleMerge.decode(chunks, mint: mint, maxt: maxt)
            if s.isEmpty { continue }
            if let prev = merged[labels] { merged[labels] = SampleMerge.merge(prev, s) } else { merged[labels] = s }
        }
        return merged.map { Series(labels: $0.key, samples: $0.value) }.sorted { $0.labels < $1.labels }
    }

    func series(_ matchers: [LabelMatcher]) throws -> [Labels] {
        let snap = db.snapshot(matchers, mint: mint, maxt: maxt)
        var set = Set<Labels>()
        for b in snap.blocks {
            for ref in try b.postings(for: matchers) {
                let e = try b.series(ref)
                if e.chunks.contains(where: { $0.maxT >= mint && $0.minT <= maxt }) { set.insert(e.labels) }
            }
        }
        for (labels, chunks) in snap.frozen + snap.head where !chunks.isEmpty { set.insert(labels) }
        return set.sorted()
    }

    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] {
        // Without matchers, answer from the label indexes of everything overlapping the range,
        // as Prometheus does, instead of reading every series.
        if matchers.isEmpty { return db.labelIndexValues(nil, mint: mint, maxt: maxt) }
        var names = Set<String>()
        for l in try series(matchers) { for p in l { names.insert(p.name) } }
        return names.sorted()
    }

    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        if matchers.isEmpty { return db.labelIndexValues(name, mint: mint, maxt: maxt) }
        var values = Set<String>()
        for l in try series(matchers) { if let v = l[name] { values.insert(v) } }
        return values.sorted()
    }
}
