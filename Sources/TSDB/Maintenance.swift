import Storage
import DurableIO

extension TSDB {
    /// Head -> block when due, block compaction, retention, WAL truncation. The collector calls
    /// this every minute or so; tests call it directly.
    public func maintain() throws {
        try TSDBError.wrappingIO { try maintenance.withLock { _ in
            // Keep between half and one and a half block ranges before *now* in memory. Samples
            // ahead of the clock (only a store written before future samples were refused holds
            // them) simply stay in the head until their time comes.
            let c = alignDown(options.horizon(minus: options.blockRange / 2), options.blockRange)
            let cutoff: Int64? = head.withLock { h in h.mayHoldSamples(before: c) ? c : nil }
            if let cutoff { try persistHead(before: cutoff) }
            try compactBlocks()
            try applyRetention()
        } }
    }

    /// Forces the whole head into blocks now (for tests and shutdown-free persistence checks).
    public func flushHead() throws {
        try maintenance.withLock { _ in
            try persistHead(before: .max)
        }
    }

    /// Moves head data older than `cutoff` into blocks (one per block-range window), then
    /// rewrites the WAL so only what the head still holds remains in it.
    private func persistHead(before cutoff: Int64) throws {
        let (frozen, lastSegment) = try head.withLock { h -> ([FrozenSeries], Int) in
            let frozen = h.cut(before: cutoff)
            // Everything in the segments up to here is either in `frozen` or still in the head.
            let last = try wal.cut()
            shared.withLock { $0.frozen = frozen }
            return (frozen, last)
        }
        var writers: [Int64: BlockWriter] = [:]
        var newBlocks: [Block] = []
        do {
            for f in frozen {
                let samples = SampleMerge.decode(f.chunks, mint: .min, maxt: .max)
                var i = 0
                while i < samples.count {
                    let w = alignDown(samples[i].t, options.blockRange)
                    let end = w &+ options.blockRange
                    var j = i
                    while j < samples.count && (samples[j].t < end || end < w) { j += 1 }
                    let writer = try writers[w] ?? {
                        let id = ULID.make()
                        let seq = shared.withLock { s in defer { s.nextSeq += 1 }; return s.nextSeq }
                        let meta = BlockMeta(ulid: id, minTime: w, maxTime: end, compaction: .init(level: 1, sources: [id]), seq: seq)
                        let bw = try BlockWriter(parent: dir, meta: meta)
                        writers[w] = bw
                        return bw
                    }()
                    try writer.add(f.labels, Array(samples[i..<j]))
                    i = j
                }
            }
            for w in writers.keys.sorted() {
                newBlocks.append(try Block(dir: try writers[w]!.finish()))
            }
        } catch {
            for w in writers.values { w.abort() }
            for b in newBlocks { try? FS.removeAll(b.dir) }
            // Put the frozen data back so nothing is lost; the WAL still has it.
            head.withLock { h in
                h.reinsert(frozen)
                shared.withLock { $0.frozen = [] }
            }
            logger.error("writing head block failed", metadata: ["error": "\(error)"])
            throw error
        }
        let refs = head.withLock { h -> CheckpointRefs in
            shared.withLock { s in
                s.blocks.append(contentsOf: newBlocks)
                s.blocks.sort { ($0.meta.seq, $0.ulid) < ($1.meta.seq, $1.ulid) }
                s.frozen = []
            }
            return h.takeCheckpointRefs()
        }
        for b in newBlocks {
            logger.info("persisted head block", metadata: [
                "block": "\(b.ulid)", "mint": "\(b.meta.minTime)", "maxt": "\(b.meta.maxTime)",
                "series": "\(b.meta.stats.numSeries)", "samples": "\(b.meta.stats.numSamples)"])
        }
        do {
            try wal.checkpoint(upTo: lastSegment, liveRef: refs.liveRef, keepSample: { $0 >= cutoff })
        } catch {
            head.withLock { h in h.restoreCheckpointRefs(refs) }
            throw error
        }
    }

    /// Block spans for leveled compaction: blockRange × 3^k up to retention/10, as Prometheus
    /// (so retention can still drop old data in reasonably small pieces).
    var compactionRanges: [Int64] {
        var out = [options.blockRange]
        let limit = options.retention / 10
        while true {
            let (n, o) = out.last!.multipliedReportingOverflow(by: 3)
            if o || n > limit { break }
            out.append(n)
        }
        return out
    }

    /// Picks blocks to merge: overlapping groups first (late data, crash leftovers), then
    /// complete windows of the next larger range, like Prometheus' leveled compactor.
    func planCompaction(_ blocks: [Block]) -> [Block]? {
        let byTime = blocks.sorted { ($0.meta.minTime, $0.meta.maxTime) < ($1.meta.minTime, $1.meta.maxTime) }
        var group: [Block] = []
        var groupEnd = Int64.min
        for b in byTime {
            if !group.isEmpty && b.meta.minTime < groupEnd {
                group.append(b)
                groupEnd = max(groupEnd, b.meta.maxTime)
            } else {
                if group.count > 1 { return group }
                group = [b]
                groupEnd = b.meta.maxTime
            }
        }
        if group.count > 1 { return group }
        // Only windows that lie wholly in the past by the store's clock are complete.
        let newest = options.now()
        for r in compactionRanges.dropFirst() {
            var windows: [Int64: [Block]] = [:]
            for b in byTime {
                let w = alignDown(b.meta.minTime, r)
                if b.meta.maxTime <= w &+ r { windows[w, default: []].append(b) }
            }
            for w in windows.keys.sorted() {
                let g = windows[w]!
                if g.count > 1 && w &+ r <= newest { return g }
            }
        }
        return nil
    }

    private func compactBlocks() throws {
        while let group = planCompaction(shared.withLock { $0.blocks }) {
            try compact(group)
        }
    }

    /// Merges blocks into one. Per timestamp the block with the lowest `seq` wins, and the
    /// output takes that lowest `seq` so it keeps its place against other blocks.
    func compact(_ group: [Block]) throws {
        let inputs = group.sorted { ($0.meta.seq, $0.ulid) < ($1.meta.seq, $1.ulid) }
        var entries: [Labels: [(Int, Block.SeriesEntry)]] = [:]
        for (i, b) in inputs.enumerated() {
            for ref in try b.allPostings() {
                let e = try b.series(ref)
                entries[e.labels, default: []].append((i, e))
            }
        }
        let id = ULID.make()
        var sources: [String] = []
        for b in inputs { for s in b.meta.compaction.sources where !sources.contains(s) { sources.append(s) } }
        let meta = BlockMeta(
            ulid: id, minTime: inputs.map(\.meta.minTime).min()!, maxTime: inputs.map(\.meta.maxTime).max()!,
            compaction: .init(level: inputs.map(\.meta.compaction.level).max()! + 1, sources: sources),
            seq: inputs.map(\.meta.seq).min()!)
        let writer = try BlockWriter(parent: dir, meta: meta)
        let out: Block
        do {
            var columns = TimestampColumnCache()
            for labels in entries.keys.sorted() {
                var merged: [Sample] = []
                for (i, e) in entries[labels]! {
                    var s: [Sample] = []
                    try inputs[i].samples(e.chunks, mint: .min, maxt: .max, into: &s, columns: &columns)
                    merged = SampleMerge.merge(merged, s)
                }
                try writer.add(labels, merged)
            }
            out = try Block(dir: try writer.finish())
        } catch {
            writer.abort()
            throw error
        }
        let ids = Set(inputs.map(\.ulid))
        head.withLock { _ in
            shared.withLock { s in
                s.blocks.removeAll { ids.contains($0.ulid) }
                s.blocks.append(out)
                s.blocks.sort { ($0.meta.seq, $0.ulid) < ($1.meta.seq, $1.ulid) }
            }
        }
        counters.withLock { $0.compactions += 1 }
        logger.info("compacted blocks", metadata: [
            "inputs": "\(inputs.map(\.ulid))", "output": "\(id)", "mint": "\(meta.minTime)", "maxt": "\(meta.maxTime)"])
        for b in inputs { try FS.removeAll(b.dir) }
    }

    private func applyRetention() throws {
        let horizon = options.horizon(minus: options.retention)
        var doomed: [Block] = shared.withLock { s in
            s.blocks.filter { ($0.meta.stats.maxSampleTime ?? ($0.meta.maxTime &- 1)) < horizon }
        }
        if options.maxBytes > 0 {
            let remaining = shared.withLock { $0.blocks }.filter { b in !doomed.contains { $0 === b } }
                .sorted { ($0.meta.minTime, $0.meta.maxTime) < ($1.meta.minTime, $1.meta.maxTime) }
            var total = remaining.reduce(Int64(0)) { $0 + $1.sizeBytes }
            for b in remaining where total > options.maxBytes {
                doomed.append(b)
                total -= b.sizeBytes
            }
        }
        guard !doomed.isEmpty else { return }
        let ids = Set(doomed.map(\.ulid))
        head.withLock { _ in shared.withLock { s in s.blocks.removeAll { ids.contains($0.ulid) } } }
        counters.withLock { $0.retentionDeletedBlocks += doomed.count }
        for b in doomed {
            logger.info("deleting block past retention", metadata: ["block": "\(b.ulid)", "maxt": "\(b.meta.maxTime)", "bytes": "\(b.sizeBytes)"])
            try FS.removeAll(b.dir)
        }
    }
}
