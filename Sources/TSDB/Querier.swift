import Storage

/// Reads blocks, the frozen set being persisted and the head, and merges them per series.
/// Precedence on equal timestamps: blocks by write order, then frozen, then head — the order
/// in which the data was first written.
struct TSDBQuerier: Querier {
    let db: TSDB
    let mint: Int64
    let maxt: Int64

    /// Where one series' samples are, still encoded: decoding waits until every source has been
    /// looked up, so it can run outside the head lock and on every core.
    enum Source {
        case block(Block, [Block.ChunkMeta])
        case memory([ChunkData], HeadChunkStore.Files)
    }

    /// Most series have one source; keeping it inline spares an array per series.
    struct Group {
        var labels: Labels
        var source: Source
        var more: [Source] = []
    }

    func select(_ matchers: [LabelMatcher]) throws -> [Series] {
        let groups = try self.groups(matchers)
        // Neighbouring series (one cluster's, in label order) share timestamp columns: each
        // worker keeps the ones it decoded.
        let out = try ParallelMap.run(groups.count, state: { TimestampColumnCache() }) { columns, i in
            Series(labels: groups[i].labels, samples: try decode(groups[i], columns: &columns))
        }
        // Chunk bounds can overlap the range with no sample inside it; rare, so checked first.
        return out.contains { $0.samples.isEmpty } ? out.filter { !$0.samples.isEmpty } : out
    }

    /// Matching series in label order, each with its sources in precedence order. Block series
    /// come in label order already (the writer enforces it), so sources are merged like sorted
    /// lists rather than hashed by label set and sorted afterwards.
    func groups(_ matchers: [LabelMatcher]) throws -> [Group] {
        let snap = db.snapshot(matchers, mint: mint, maxt: maxt)
        var lists: [[Group]] = []
        for b in snap.blocks {
            var l: [Group] = []
            for ref in try b.postings(for: matchers) {
                let e = try b.series(ref)
                let cs = e.chunks.filter { $0.maxT >= mint && $0.minT <= maxt }
                if !cs.isEmpty { l.append(Group(labels: e.labels, source: .block(b, cs))) }
            }
            if !l.isEmpty { lists.append(l) }
        }
        for mem in [snap.frozen, snap.head] where !mem.isEmpty {
            // Sorting indices, not the entries, moves no label sets or chunk lists around.
            var order = Array(mem.indices)
            mem.withUnsafeBufferPointer { m in order.sort { m[$0].0 < m[$1].0 } }
            lists.append(order.map { Group(labels: mem[$0].0, source: .memory(mem[$0].1, snap.files)) })
        }
        guard var acc = lists.first else { return [] }
        for l in lists.dropFirst() { acc = Self.merge(acc, l) }
        return acc
    }

    /// Two label-sorted lists into one; equal label sets join their sources, `a`'s first.
    static func merge(_ a: [Group], _ b: [Group]) -> [Group] {
        var out: [Group] = []
        out.reserveCapacity(Swift.max(a.count, b.count))
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i].labels < b[j].labels {
                out.append(a[i]); i += 1
            } else if b[j].labels < a[i].labels {
                out.append(b[j]); j += 1
            } else {
                var g = a[i]
                g.more.append(b[j].source)
                g.more += b[j].more
                out.append(g); i += 1; j += 1
            }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }

    /// One series' samples in [mint, maxt]. Sources that follow each other in time (the usual
    /// case: older blocks, then the head) are decoded straight into one array.
    func decode(_ g: Group, columns: inout TimestampColumnCache) throws -> [Sample] {
        var out: [Sample] = []
        func add(_ src: Source) throws {
            switch src {
            case .block(let b, let cs):
                if let last = out.last, let first = cs.first, first.minT <= last.t {
                    var s: [Sample] = []
                    try b.samples(cs, mint: mint, maxt: maxt, into: &s, columns: &columns)
                    out = SampleMerge.merge(out, s)
                } else {
                    try b.samples(cs, mint: mint, maxt: maxt, into: &out, columns: &columns)
                }
            case .memory(let cs, let files):
                let s = SampleMerge.decode(cs, mint: mint, maxt: maxt, files: files)
                out = out.isEmpty ? s : SampleMerge.merge(out, s)
            }
        }
        try add(g.source)
        for src in g.more { try add(src) }
        return out
    }

    func series(_ matchers: [LabelMatcher]) throws -> [Labels] {
        // Head series listed in range may hold no sample inside it (chunk bounds only), as before.
        try groups(matchers).map(\.labels)
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
