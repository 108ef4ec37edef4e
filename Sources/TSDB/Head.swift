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
/// the open in-order chunk, a small sorted buffer of late samples and the chunks that
/// buffer was flushed into.
final class MemSeries {
    let ref: HeadRef
    /// Interned (name, value) symbol ids, in label order (renumbered by symbol compaction).
    var labelSyms: [UInt32]
    var chunks: [ChunkData] = []
    var open: XORChunk.Appender? = nil
    var openEnd: Int64 = 0
    var lastT: Int64 = .min
    var ooo: [Sample] = []
    var oooChunks: [ChunkData] = []
    /// Late-sample chunk count right after the last merge (see `flushOOO`).
    var oooMerged: Int32 = 0

    static let samplesPerChunk = 120
    static let oooCapacity = 32

    init(ref: HeadRef, labelSyms: [UInt32]) {
        self.ref = ref
        self.labelSyms = labelSyms
    }

    var isEmpty: Bool { chunks.isEmpty && open == nil && ooo.isEmpty && oooChunks.isEmpty }
    var chunkCount: Int { chunks.count + (open == nil ? 0 : 1) + oooChunks.count + (ooo.isEmpty ? 0 : 1) }

    enum Outcome { case inOrder, outOfOrder, duplicate, conflict }

    func append(_ t: Int64, _ v: Double, blockRange: Int64, store: HeadChunkStore) -> Outcome {
        if t > lastT {
            if open == nil || open!.count >= MemSeries.samplesPerChunk || t >= openEnd {
                sealOpen(store)
                open = XORChunk.Appender(expectedBytes: (chunks.last.map { $0.decimal ? $0.length * 2 : $0.length } ?? 48) + 16)
                openEnd = alignDown(t, blockRange) &+ blockRange
            }
            open!.append(t, v)
            lastT = t
            return .inOrder
        }
        if let existing = lookup(t, store) {
            return existing.bitPattern == v.bitPattern ? .duplicate : .conflict
        }
        let i = ooo.partitionPoint { $0.t < t }
        ooo.insert(Sample(t: t, v: v), at: i)
        if ooo.count >= MemSeries.oooCapacity { flushOOO() }
        return .outOfOrder
    }

    func sealOpen(_ store: HeadChunkStore) {
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

    static func exact(_ b: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: b.count) { buf, n in
            _ = buf.initialize(from: b)
            n = b.count
        }
    }

    func flushOOO() {
        guard !ooo.isEmpty else { return }
        oooChunks.append(ChunkData(minT: ooo.first!.t, maxT: ooo.last!.t, data: XORChunk.encode(ooo)))
        ooo.removeAll(keepingCapacity: false)
        // Backlog from several senders interleaves, so flushed chunks overlap and every late
        // sample would have to decode all of them. Re-sorting into disjoint chunks whenever the
        // count doubles keeps lookups to one chunk at amortised O(n log n) cost.
        if oooChunks.count >= 2 * Int(oooMerged) + 8 { mergeOOO() }
    }

    func mergeOOO() {
        var all = oooChunks.flatMap(\.samples)
        all.sort { $0.t < $1.t }
        oooChunks = stride(from: 0, to: all.count, by: MemSeries.samplesPerChunk).map { i in
            let end = Swift.min(i + MemSeries.samplesPerChunk, all.count)
            return ChunkData(minT: all[i].t, maxT: all[end - 1].t, data: XORChunk.encode(all[i..<end]))
        }
        oooMerged = Int32(clamping: oooChunks.count)
    }

    /// The stored value at exactly `t`, if any.
    func lookup(_ t: Int64, _ store: HeadChunkStore) -> Double? {
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
        let j = ooo.partitionPoint { $0.t < t }
        if j < ooo.count, ooo[j].t == t { return ooo[j].v }
        for c in oooChunks where c.minT <= t && t <= c.maxT {
            if let v = MemSeries.find(t, in: c.data) { return v }
        }
        return nil
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
        for c in oooChunks where c.maxT >= mint && c.minT <= maxt { out.append(c) }
        if let f = ooo.first, let l = ooo.last, l.t >= mint, f.t <= maxt {
            out.append(ChunkData(minT: f.t, maxT: l.t, data: XORChunk.encode(ooo)))
        }
        return out
    }

    var hasOOO: Bool { !ooo.isEmpty || !oooChunks.isEmpty }

    /// Removes and returns the data before `cutoff`, re-encoding chunks that straddle it.
    func truncate(before cutoff: Int64, store: HeadChunkStore) -> [ChunkData] {
        var out: [ChunkData] = []
        chunks = chunks.map { c in
            guard c.minT < cutoff, c.disk != nil else { return c }
            defer { store.release(c) }
            return store.load(c)
        }
        func split(_ cs: [ChunkData]) -> [ChunkData] {
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
        chunks = split(chunks)
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
        oooChunks = split(oooChunks)
        oooMerged = Int32(clamping: oooChunks.count)
        let lo = ooo.filter { $0.t < cutoff }
        if let f = lo.first {
            out.append(ChunkData(minT: f.t, maxT: lo.last!.t, data: XORChunk.encode(lo)))
            ooo.removeAll { $0.t < cutoff }
        }
        return out
    }

    var minTime: Int64? {
        var m: Int64? = nil
        func see(_ t: Int64) { m = m.map { Swift.min($0, t) } ?? t }
        if let c = chunks.first { see(c.minT) }
        if let o = open, o.count > 0 { see(o.minT) }
        for c in oooChunks { see(c.minT) }
        if let f = ooo.first { see(f.t) }
        return m
    }

    var maxTime: Int64? {
        var m: Int64? = nil
        func see(_ t: Int64) { m = m.map { Swift.max($0, t) } ?? t }
        if let c = chunks.last { see(c.maxT) }
        if let o = open, o.count > 0 { see(o.maxT) }
        for c in oooChunks { see(c.maxT) }
        if let l = ooo.last { see(l.t) }
        return m
    }
}

/// Series frozen out of the head while they are being written to a block; queries still see them.
struct FrozenSeries: Sendable {
    var labels: Labels
    var chunks: [ChunkData]
}

/// Series by reference. References are dense (handed out in order), so an array beats a
/// hash map: one indexed load instead of hashing on every lookup.
struct SeriesTable {
    private var slots: [MemSeries?] = [nil]
    private(set) var count = 0

    subscript(r: HeadRef) -> MemSeries? { Int(r) < slots.count ? slots[Int(r)] : nil }

    /// Refuses refs that would blow the table up (a WAL written by something else).
    func canHold(_ r: HeadRef) -> Bool { Int(r) < slots.count + (1 << 24) }

    mutating func insert(_ s: MemSeries) {
        let i = Int(s.ref)
        if i >= slots.count { slots.append(contentsOf: repeatElement(nil, count: i - slots.count + 1)) }
        if slots[i] == nil { count += 1 }
        slots[i] = s
    }

    @discardableResult
    mutating func removeValue(forKey r: HeadRef) -> MemSeries? {
        guard let s = self[r] else { return nil }
        slots[Int(r)] = nil
        count -= 1
        return s
    }

    var values: LazyMapSequence<LazyFilterSequence<LazyMapSequence<[MemSeries?], MemSeries?>>, MemSeries> {
        slots.lazy.compactMap { $0 }
    }

    var keys: [HeadRef] { values.map(\.ref) }
}

/// Mutable head state; always accessed under the TSDB's head mutex.
final class HeadData: PostingsIndex {
    typealias Ref = HeadRef

    var series = SeriesTable()
    /// Label-set hash -> series; the rare hash collisions go to the side table.
    var byHash: [Int: MemSeries] = [:]
    var hashCollisions: [Int: [MemSeries]] = [:]
    var symbolIDs: [String: UInt32] = [:]
    var symbols: [String] = []
    var postingsMap: [UInt32: [UInt32: [HeadRef]]] = [:]
    let chunkStore: HeadChunkStore

    init(chunkDir: String?) { chunkStore = HeadChunkStore(dir: chunkDir) }
    var allRefs: [HeadRef] = []
    var nextRef: HeadRef = 1
    /// Newest sample time ever seen; defines the retention horizon for "too old".
    var maxT: Int64 = .min
    /// WAL series refs that replay mapped onto a different head ref (same labels logged twice,
    /// or a ref already taken); the next checkpoint rewrites them.
    var walAliases: [UInt64: HeadRef] = [:]
    /// Lower bound of sample times in the head (exact after a cut, may be stale-low otherwise).
    var minT: Int64 = .max

    func intern(_ s: String) -> UInt32 {
        if let id = symbolIDs[s] { return id }
        let id = UInt32(symbols.count)
        symbols.append(s)
        symbolIDs[s] = id
        return id
    }

    /// Per-process secret for `seriesHash`, so senders cannot craft label sets with equal
    /// hashes (they would pile up in `hashCollisions` and be scanned linearly).
    let hashSeed = UInt64.random(in: .min ... .max)

    /// The key of `byHash`. `Labels.hashValue` runs SipHash over every string and was ~4 % of
    /// ingest CPU; this multiply-fold hash reads eight bytes at a time. It never decides
    /// identity: equal hashes are always confirmed by comparing the full labels (`same`), and
    /// real collisions go to `hashCollisions`.
    func seriesHash(_ labels: Labels) -> Int {
        var h = hashSeed ^ UInt64(truncatingIfNeeded: labels.pairs.count)
        for l in labels.pairs {
            h = HeadData.absorb(l.name, h)
            h = HeadData.absorb(l.value, h)
        }
        return Int(truncatingIfNeeded: h)
    }

    @inline(__always) private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// Folds one string (its length first, so "ab","c" and "a","bc" differ) into `h`.
    @inline(__always) private static func absorb(_ s: String, _ h: UInt64) -> UInt64 {
        func bytes(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
            let n = b.count
            var h = mix(h ^ UInt64(truncatingIfNeeded: n) ^ 0xA076_1D64_78BD_642F, 0xE703_7ED1_A0B4_28DB)
            guard n > 0 else { return h }
            let raw = UnsafeRawPointer(b.baseAddress!)
            var i = 0
            while i + 8 <= n {
                h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0x8EBC_6AF0_9C88_C6E3)
                i += 8
            }
            if i < n {
                var w: UInt64 = 0, shift: UInt64 = 0
                while i < n { w |= UInt64(b[i]) << shift; shift += 8; i += 1 }
                h = mix(h ^ w, 0x5899_65CC_7537_4CC3)
            }
            return h
        }
        if let r = s.utf8.withContiguousStorageIfAvailable(bytes) { return r }
        var c = s
        return c.withUTF8(bytes)
    }

    func labels(of s: MemSeries) -> Labels {
        var pairs: [Label] = []
        pairs.reserveCapacity(s.labelSyms.count / 2)
        var i = 0
        while i + 1 < s.labelSyms.count {
            pairs.append(Label(symbols[Int(s.labelSyms[i])], symbols[Int(s.labelSyms[i + 1])]))
            i += 2
        }
        return Labels(sortedUnchecked: pairs)
    }

    // `labels.pairs` rather than `Labels` as a collection: Labels lives in another module, so
    // generic collection code over it (enumerated(), for-in) is not specialised and looks up
    // type metadata at run time on every call.
    private func same(_ s: MemSeries, _ labels: Labels) -> Bool {
        let pairs = labels.pairs
        guard s.labelSyms.count == pairs.count * 2 else { return false }
        for i in 0..<pairs.count {
            if symbols[Int(s.labelSyms[2 * i])] != pairs[i].name || symbols[Int(s.labelSyms[2 * i + 1])] != pairs[i].value { return false }
        }
        return true
    }

    func find(_ labels: Labels) -> MemSeries? {
        let h = seriesHash(labels)
        if let s = byHash[h], same(s, labels) { return s }
        for s in hashCollisions[h] ?? [] where same(s, labels) { return s }
        return nil
    }

    /// Creates a series; `ref` is given on WAL replay.
    func create(_ labels: Labels, ref: HeadRef? = nil) -> MemSeries {
        let r = ref.flatMap { series[$0] == nil && series.canHold($0) ? $0 : nil } ?? nextRef
        nextRef = max(nextRef, r &+ 1)
        var syms: [UInt32] = []
        syms.reserveCapacity(labels.pairs.count * 2)
        for l in labels.pairs { syms.append(intern(l.name)); syms.append(intern(l.value)) }
        let s = MemSeries(ref: r, labelSyms: syms)
        series.insert(s)
        let h = seriesHash(labels)
        if byHash[h] == nil { byHash[h] = s } else { hashCollisions[h, default: []].append(s) }
        var i = 0
        while i + 1 < syms.count {
            add(&postingsMap[syms[i], default: [:]][syms[i + 1], default: []], r)
            i += 2
        }
        add(&allRefs, r)
        return s
    }

    private func add(_ list: inout [HeadRef], _ r: HeadRef) {
        if let last = list.last, last > r { list.insert(r, at: list.partitionPoint { $0 < r }) } else { list.append(r) }
    }

    /// Drops series that hold no samples any more (after their data moved into a block).
    /// Each affected postings list is filtered once, whatever the number of dropped series.
    func gc(_ refs: [HeadRef]) {
        guard !refs.isEmpty else { return }
        var gone = Set<HeadRef>()
        gone.reserveCapacity(refs.count)
        var lists = Set<UInt64>()
        for r in refs {
            guard let s = series.removeValue(forKey: r) else { continue }
            gone.insert(r)
            let h = seriesHash(labels(of: s))
            if byHash[h] === s {
                if var c = hashCollisions[h], !c.isEmpty {
                    byHash[h] = c.removeFirst()
                    hashCollisions[h] = c.isEmpty ? nil : c
                } else {
                    byHash[h] = nil
                }
            } else if var c = hashCollisions[h] {
                c.removeAll { $0 === s }
                hashCollisions[h] = c.isEmpty ? nil : c
            }
            var i = 0
            while i + 1 < s.labelSyms.count {
                lists.insert(UInt64(s.labelSyms[i]) << 32 | UInt64(s.labelSyms[i + 1]))
                i += 2
            }
        }
        guard !gone.isEmpty else { return }
        for key in lists {
            let n = UInt32(key >> 32), v = UInt32(truncatingIfNeeded: key)
            guard var list = postingsMap[n]?[v] else { continue }
            postingsMap[n]![v] = nil  // drop the dictionary's reference so the filter runs in place
            list.removeAll { gone.contains($0) }
            if !list.isEmpty { postingsMap[n]![v] = list }
            if postingsMap[n]!.isEmpty { postingsMap[n] = nil }
        }
        allRefs.removeAll { gone.contains($0) }
    }

    /// Label values churn (pod names, container ids): once most interned strings belong to
    /// series that are gone, renumber the live ones so the table does not grow forever.
    func compactSymbols() {
        var used = [UInt32](repeating: UInt32.max, count: symbols.count)
        var newSymbols: [String] = []
        for s in series.values {
            for id in s.labelSyms where used[Int(id)] == UInt32.max {
                used[Int(id)] = UInt32(newSymbols.count)
                newSymbols.append(symbols[Int(id)])
            }
        }
        guard newSymbols.count * 2 < symbols.count else { return }
        for s in series.values { s.labelSyms = s.labelSyms.map { used[Int($0)] } }
        var newPostings: [UInt32: [UInt32: [HeadRef]]] = [:]
        newPostings.reserveCapacity(postingsMap.count)
        for (n, values) in postingsMap {
            var m: [UInt32: [HeadRef]] = [:]
            m.reserveCapacity(values.count)
            for (v, refs) in values { m[used[Int(v)]] = refs }
            newPostings[used[Int(n)]] = m
        }
        postingsMap = newPostings
        symbols = newSymbols
        symbolIDs = Dictionary(uniqueKeysWithValues: newSymbols.enumerated().map { ($0.element, UInt32($0.offset)) })
    }

    // MARK: PostingsIndex

    func allPostings() -> [HeadRef] { allRefs }

    func values(of name: String) -> [String] {
        guard let n = symbolIDs[name], let m = postingsMap[n] else { return [] }
        return m.keys.map { symbols[Int($0)] }
    }

    func postings(_ name: String, _ value: String) -> [HeadRef] {
        guard let n = symbolIDs[name], let v = symbolIDs[value] else { return [] }
        return postingsMap[n]?[v] ?? []
    }
}
