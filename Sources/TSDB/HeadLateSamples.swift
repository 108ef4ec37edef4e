import Storage

/// One series' out-of-order samples: a small sorted buffer and the chunks it was flushed into.
///
/// Few series ever receive a late sample, so `MemSeries` holds this only once one arrives
/// (an optional reference, 8 bytes, instead of two arrays and a counter in every series).
/// Like `MemSeries`, it is changed only under the head lock.
final class LateSamples {
    private(set) var pending: [Sample] = []
    private(set) var chunks: [ChunkData] = []
    /// Chunk count right after the last merge (see `flush`).
    private var merged: Int32 = 0

    static let capacity = 32

    var isEmpty: Bool { pending.isEmpty && chunks.isEmpty }
    var chunkCount: Int { chunks.count + (pending.isEmpty ? 0 : 1) }

    /// Adds a sample whose time is not stored yet (the caller looked it up).
    func insert(_ t: Int64, _ v: Double) {
        let i = pending.partitionPoint { $0.t < t }
        pending.insert(Sample(t: t, v: v), at: i)
        if pending.count >= LateSamples.capacity { flush() }
    }

    private func flush() {
        guard !pending.isEmpty else { return }
        chunks.append(ChunkData(minT: pending.first!.t, maxT: pending.last!.t, data: XORChunk.encode(pending)))
        pending.removeAll(keepingCapacity: false)
        // Backlog from several senders interleaves, so flushed chunks overlap and every late
        // sample would have to decode all of them. Re-sorting into disjoint chunks whenever the
        // count doubles keeps lookups to one chunk at amortised O(n log n) cost.
        if chunks.count >= 2 * Int(merged) + 8 { merge() }
    }

    private func merge() {
        var all = chunks.flatMap(\.samples)
        all.sort { $0.t < $1.t }
        chunks = stride(from: 0, to: all.count, by: MemSeries.samplesPerChunk).map { i in
            let end = Swift.min(i + MemSeries.samplesPerChunk, all.count)
            return ChunkData(minT: all[i].t, maxT: all[end - 1].t, data: XORChunk.encode(all[i..<end]))
        }
        merged = Int32(clamping: chunks.count)
    }

    /// The value stored at exactly `t`, if any.
    func lookup(_ t: Int64) -> Double? {
        let j = pending.partitionPoint { $0.t < t }
        if j < pending.count, pending[j].t == t { return pending[j].v }
        for c in chunks where c.minT <= t && t <= c.maxT {
            if let v = MemSeries.find(t, in: c.data) { return v }
        }
        return nil
    }

    /// Chunks overlapping [mint, maxt], the pending buffer encoded on the fly.
    func chunks(mint: Int64, maxt: Int64, into out: inout [ChunkData]) {
        for c in chunks where c.maxT >= mint && c.minT <= maxt { out.append(c) }
        if let f = pending.first, let l = pending.last, l.t >= mint, f.t <= maxt {
            out.append(ChunkData(minT: f.t, maxT: l.t, data: XORChunk.encode(pending)))
        }
    }

    /// Moves the data before `cutoff` to `out`; `split` re-encodes chunks that straddle it.
    func truncate(before cutoff: Int64, into out: inout [ChunkData], split: ([ChunkData], inout [ChunkData]) -> [ChunkData]) {
        chunks = split(chunks, &out)
        merged = Int32(clamping: chunks.count)
        let lo = pending.filter { $0.t < cutoff }
        if let f = lo.first {
            out.append(ChunkData(minT: f.t, maxT: lo.last!.t, data: XORChunk.encode(lo)))
            pending.removeAll { $0.t < cutoff }
        }
    }

    /// The earliest or latest time held: the pending buffer is sorted, the merged chunks are not.
    func see(earliest: Bool, _ see: (Int64) -> Void) {
        for c in chunks { see(earliest ? c.minT : c.maxT) }
        if let s = earliest ? pending.first : pending.last { see(s.t) }
    }
}
