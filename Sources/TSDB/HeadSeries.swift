import Storage

/// An encoded chunk with its time bounds, as handed out of the head (arrays are copy-on-write,
/// so handing one out costs a reference count, not a copy).
struct ChunkData: Sendable {
    var minT: Int64
    var maxT: Int64
    var data: [UInt8]
    /// `DecimalChunk` encoding instead of XOR (sealed head chunks that shrink with it).
    var decimal = false
    /// Set when the bytes were moved to the head chunk files (`data` is then empty).
    var disk: HeadChunkStore.Ref? = nil

    var length: Int { disk.map { Int($0.length) } ?? data.count }

    init(minT: Int64, maxT: Int64, data: [UInt8], decimal: Bool = false) {
        self.minT = minT
        self.maxT = maxT
        self.data = data
        self.decimal = decimal
    }

    /// Head chunks are produced in-process, so a decode failure cannot happen; should it,
    /// the chunk reads as empty rather than trapping.
    var samples: [Sample] {
        (try? (decimal ? DecimalChunk.decode(data) : XORChunk.decode(data))) ?? []
    }
}

typealias HeadRef = UInt32

/// Floor division so negative timestamps land in the right block-range window.
@inline(__always) func alignDown(_ t: Int64, _ r: Int64) -> Int64 {
    let q = t / r
    return (t % r != 0 && t < 0) ? (q - 1) * r : q * r
}

/// One series in the head. Samples live only in encoded chunks: sealed in-order chunks,
/// the open in-order chunk and, once a late sample arrived, `LateSamples` (a small sorted
/// buffer of late samples and the chunks that buffer was flushed into).
///
/// Its sample state is private to this file: it changes only through `append` (the appender and
/// WAL replay) and `truncate` (a head cut), both called by `Head` under the head lock, as is
/// every change of `syms`. Invariants: the in-order chunks (sealed, then open) hold strictly
/// increasing times up to `lastT`; a sample at or before `lastT` goes to `late` only after
/// `lookup` found nothing stored at its time, so no timestamp is ever stored twice and the first
/// write wins.
///
/// There is one instance per active series, so its size is the head's size: the fields are
/// ordered so that the 4-byte `ref` fills the open appender's tail padding (104 bytes, a
/// 112-byte malloc chunk, where the earlier layout took 160), the open chunk's end is computed
/// from its first time instead of stored, and the rarely used late-sample state is one optional
/// reference.
final class MemSeries {
    /// Where its interned (name, value) symbol ids sit in the head's `LabelSymbolStore`; only
    /// `Head` sets it (creating the series, rebuilding the store).
    var syms: SymbolSpan
    private var chunks: [ChunkData] = []
    private var open: XORChunk.Appender? = nil
    let ref: HeadRef
    private var lastT: Int64 = .min
    private var late: LateSamples? = nil

    static let samplesPerChunk = 120
    static let oooCapacity = LateSamples.capacity

    init(ref: HeadRef, syms: SymbolSpan = .empty) {
        self.ref = ref
        self.syms = syms
    }

    /// Sealed in-order chunks as they are stored (tests look at their encoding and residence).
    var sealedChunks: [ChunkData] { chunks }

    var isEmpty: Bool { chunks.isEmpty && open == nil && (late?.isEmpty ?? true) }
    var chunkCount: Int { chunks.count + (open == nil ? 0 : 1) + (late?.chunkCount ?? 0) }

    enum Outcome { case inOrder, outOfOrder, duplicate, conflict }

    func append(_ t: Int64, _ v: Double, blockRange: Int64, store: HeadChunkStore) -> Outcome {
        if t > lastT {
            // The open chunk is cut at the end of its first sample's block-range window.
            if open == nil || open!.count >= MemSeries.samplesPerChunk || t >= alignDown(open!.minT, blockRange) &+ blockRange {
                sealOpen(store)
                open = XORChunk.Appender(expectedBytes: (chunks.last.map { $0.decimal ? $0.length * 2 : $0.length } ?? 48) + 16)
            }
            open!.append(t, v)
            lastT = t
            return .inOrder
        }
        if let existing = lookup(t, store) {
            return existing.bitPattern == v.bitPattern ? .duplicate : .conflict
        }
        if late == nil { late = LateSamples() }
        late!.insert(t, v)
        return .outOfOrder
    }

    private func sealOpen(_ store: HeadChunkStore) {
        defer { if let last = chunks.last, last.disk == nil { chunks[chunks.count - 1] = store.offload(last) } }
        if let o = open, o.count > 0 {
            // Copy to an exactly sized buffer: the appender's array has growth slack.
            let b = o.bytes
            // Most series hold exact decimals (integers, a few digits); re-encoding a full chunk
            // once at seal time often halves what stays in memory until the next head cut.
            if o.count >= 8, let dec = DecimalChunk.encode(ChunkData(minT: o.minT, maxT: o.maxT, data: b).samples),
               dec.count < b.count {
                chunks.append(ChunkData(minT: o.minT, maxT: o.maxT, data: MemSeries.exact(dec), decimal: true))
            } else {
                chunks.append(ChunkData(minT: o.minT, maxT: o.maxT, data: MemSeries.exact(b)))
            }
        }
        open = nil
    }

    private static func exact(_ b: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: b.count) { buf, n in
            _ = buf.initialize(from: b)
            n = b.count
        }
    }

    /// The stored value at exactly `t`, if any.
    private func lookup(_ t: Int64, _ store: HeadChunkStore) -> Double? {
        // In-order and late data interleave in time, so a miss in one place proves nothing.
        if let o = open, o.count > 0, t >= o.minT, t <= o.maxT, let v = MemSeries.find(t, in: o.bytes) { return v }
        let i = chunks.partitionPoint { $0.maxT < t }
        if i < chunks.count, chunks[i].minT <= t {
            let c = store.load(chunks[i])
            if c.decimal {
                if let s = c.samples.first(where: { $0.t == t }) { return s.v }
            } else if let v = MemSeries.find(t, in: c.data) {
                return v
            }
        }
        return late?.lookup(t)
    }

    static func find(_ t: Int64, in data: [UInt8]) -> Double? {
        guard var it = try? XORChunk.Iterator(data) else { return nil }
        while let s = try? it.next() {
            if s.t == t { return s.v }
            if s.t > t { return nil }
        }
        return nil
    }

    /// Every chunk (the late-sample buffer encoded on the fly) overlapping [mint, maxt]. Chunks
    /// moved to disk stay references (`disk`) for `SampleMerge.decode` to read from the mapping.
    func chunks(mint: Int64, maxt: Int64) -> [ChunkData] {
        var out: [ChunkData] = []
        for c in chunks where c.maxT >= mint && c.minT <= maxt { out.append(c) }
        if let o = open, o.count > 0, o.maxT >= mint, o.minT <= maxt {
            out.append(ChunkData(minT: o.minT, maxT: o.maxT, data: o.bytes))
        }
        late?.chunks(mint: mint, maxt: maxt, into: &out)
        return out
    }

    /// Removes and returns the data before `cutoff`, re-encoding chunks that straddle it.
    func truncate(before cutoff: Int64, store: HeadChunkStore) -> [ChunkData] {
        var out: [ChunkData] = []
        chunks = chunks.map { c in
            guard c.minT < cutoff, c.disk != nil else { return c }
            defer { store.release(c) }
            return store.load(c)
        }
        func split(_ cs: [ChunkData], _ out: inout [ChunkData]) -> [ChunkData] {
            var keep: [ChunkData] = []
            for c in cs {
                if c.maxT < cutoff { out.append(c); continue }
                if c.minT >= cutoff { keep.append(c); continue }
                let all = c.samples
                let lo = all.filter { $0.t < cutoff }, hi = all.filter { $0.t >= cutoff }
                if let f = lo.first { out.append(ChunkData(minT: f.t, maxT: lo.last!.t, data: XORChunk.encode(lo))) }
                if let f = hi.first { keep.append(ChunkData(minT: f.t, maxT: hi.last!.t, data: XORChunk.encode(hi))) }
            }
            return keep
        }
        chunks = split(chunks, &out)
        if let o = open, o.count > 0, o.minT < cutoff {
            if o.maxT < cutoff {
                out.append(ChunkData(minT: o.minT, maxT: o.maxT, data: o.bytes))
                open = nil
            } else {
                let all = (try? XORChunk.decode(o.bytes)) ?? []
                let lo = all.filter { $0.t < cutoff }
                if let f = lo.first { out.append(ChunkData(minT: f.t, maxT: lo.last!.t, data: XORChunk.encode(lo))) }
                var a = XORChunk.Appender()
                for s in all where s.t >= cutoff { a.append(s.t, s.v) }
                open = a
            }
        }
        if let l = late {
            l.truncate(before: cutoff, into: &out, split: split)
            if l.isEmpty { late = nil }
        }
        return out
    }

    var minTime: Int64? { timeBound(earliest: true) }
    var maxTime: Int64? { timeBound(earliest: false) }

    /// The earliest or the latest sample time held, nil for none. The in-order chunks and the
    /// pending out-of-order samples are in time order (only their first or last one can hold it);
    /// the merged out-of-order chunks are not.
    private func timeBound(earliest: Bool) -> Int64? {
        var m: Int64? = nil
        func see(_ t: Int64) { m = m.map { earliest ? Swift.min($0, t) : Swift.max($0, t) } ?? t }
        if let c = earliest ? chunks.first : chunks.last { see(earliest ? c.minT : c.maxT) }
        if let o = open, o.count > 0 { see(earliest ? o.minT : o.maxT) }
        late?.see(earliest: earliest, see)
        return m
    }
}
