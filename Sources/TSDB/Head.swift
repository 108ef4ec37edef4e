import Storage

/// The in-memory head: every series not yet cut into a block, found by labels, by reference and
/// by label pair. Prometheus splits its head by verb and so does this one:
///
/// - `Head.swift` (here): the state and the only code that changes the index (`create`, `gc`,
///   `compactSymbols`, `cut`) or lets a sample into a series (`append(_:_:to:)`);
/// - `HeadAppend.swift`: the appender (a batch, logged to the WAL before the head changes);
/// - `HeadRead.swift`: series and chunks for queries, label indexes, status;
/// - `HeadWAL.swift`: WAL replay into the head, the records the appender logs, checkpoint refs;
/// - `HeadSeries.swift`: one series' chunks (`MemSeries`, its state private there too).
///
/// Invariants, all kept by the methods in this file:
/// - a series is in `series` (by ref), in `byHash` or `hashCollisions` (by label hash), in
///   `allRefs` and in the postings list of each of its label pairs, or in none of them: `create`
///   and `gc` change all four together. Postings lists and `allRefs` are sorted.
/// - every symbol id in a series' span of `labelStore` and in `postingsMap` indexes `symbols`,
///   and `symbolIDs` is its inverse; `compactSymbols` renumbers all of them at once. A live
///   series' span is counted live in `labelStore`, a dropped one's dead (`gc`), until a rebuild.
/// - `nextRef` is above every ref in use and every ref WAL replay has seen, so a new series never
///   takes a ref that the log still uses for other labels.
/// - `minT` is at or below every sample time in the head (exact after a cut), `maxT` at or above
///   every sample time ever added (it never goes down).
///
/// Not thread-safe: the TSDB holds it in a mutex and every call happens under that lock.
final class Head: PostingsIndex {
    typealias Ref = HeadRef

    private var series = SeriesTable()
    /// Label-set hash -> series; the rare hash collisions go to the side table.
    private var byHash = SeriesByHash()
    private var hashCollisions: [Int: [MemSeries]] = [:]
    private var symbolIDs: [String: UInt32] = [:]
    private var symbols: [String] = []
    /// Every series' label symbol ids, in shared pages (`MemSeries.syms` says where).
    private var labelStore = LabelSymbolStore()
    private var postingsMap: [UInt32: [UInt32: [HeadRef]]] = [:]
    private var allRefs: [HeadRef] = []
    private var nextRef: HeadRef = 1
    /// Newest sample time ever seen.
    private(set) var maxT: Int64
    /// Lower bound of sample times in the head (exact after a cut, may be stale-low otherwise).
    private(set) var minT: Int64 = .max
    private let chunkStore: HeadChunkStore
    private let hasher: SeriesHasher
    /// In-order chunks are cut at the end of each block-range window.
    let blockRange: Int64
    /// Series the appender found by guessing their ref (`find(_:_:guess:)`), for tests.
    var seriesFoundByGuess = 0
    /// WAL refs that replay mapped onto other head refs; only `HeadWAL.swift` reads or changes them.
    var walRefs = HeadWALRefs()

    /// `maxT` starts at the newest sample already in blocks.
    init(chunkDir: String?, blockRange: Int64, maxT: Int64 = .min, hasher: SeriesHasher = SeriesHasher()) {
        chunkStore = HeadChunkStore(dir: chunkDir)
        self.hasher = hasher
        self.blockRange = blockRange
        self.maxT = maxT
    }

    var seriesCount: Int { series.count }
    var allSeries: some Sequence<MemSeries> { series.values }
    func seriesByRef(_ r: HeadRef) -> MemSeries? { series[r] }
    var symbolCount: Int { symbols.count }
    var chunkFileCount: Int { chunkStore.fileCount }

    /// The head chunk files mapped, for a query to read sealed chunks after the lock is released.
    func chunkFilesForQuery() -> HeadChunkStore.Files { chunkStore.filesForQuery() }

    /// The one way a sample enters a series (the appender, replay, a failed cut putting data
    /// back). Callers widen the time bounds with `widenBounds`, once per batch.
    @inline(__always)
    func append(_ t: Int64, _ v: Double, to s: MemSeries) -> MemSeries.Outcome {
        s.append(t, v, blockRange: blockRange, store: chunkStore)
    }

    func widenBounds(min lo: Int64, max hi: Int64) {
        if lo < minT { minT = lo }
        if hi > maxT { maxT = hi }
    }

    /// Replay saw WAL refs up to `top`: new series must start above them.
    func reserveRefs(through top: UInt64) {
        if top < UInt64(HeadRef.max) { nextRef = max(nextRef, HeadRef(top) + 1) }
    }

    private func intern(_ s: String) -> UInt32 {
        if let id = symbolIDs[s] { return id }
        let id = UInt32(symbols.count)
        symbols.append(s)
        symbolIDs[s] = id
        return id
    }

    func labels(of s: MemSeries) -> Labels {
        labelStore.withIDs(s.syms) { ids in
            var pairs: [Label] = []
            pairs.reserveCapacity(ids.count / 2)
            var i = 0
            while i + 1 < ids.count {
                pairs.append(Label(symbols[Int(ids[i])], symbols[Int(ids[i + 1])]))
                i += 2
            }
            return Labels(sortedUnchecked: pairs)
        }
    }

    /// The series' symbol ids as stored (tests compare them with what was interned).
    func labelSymbolIDs(of s: MemSeries) -> [UInt32] { labelStore.ids(s.syms) }

    // `labels.pairs` rather than `Labels` as a collection: Labels lives in another module, so
    // generic collection code over it (enumerated(), for-in) is not specialised and looks up
    // type metadata at run time on every call.
    private func same(_ s: MemSeries, _ labels: Labels) -> Bool {
        let pairs = labels.pairs
        guard s.syms.count == pairs.count * 2 else { return false }
        return labelStore.withIDs(s.syms) { ids in
            for i in 0..<pairs.count {
                if symbols[Int(ids[2 * i])] != pairs[i].name || symbols[Int(ids[2 * i + 1])] != pairs[i].value { return false }
            }
            return true
        }
    }

    func find(_ labels: Labels) -> MemSeries? {
        let h = hasher.hash(labels)
        if let s = byHash[h], same(s, labels) { return s }
        for s in hashCollisions[h] ?? [] where same(s, labels) { return s }
        return nil
    }

    /// The series whose stored labels are exactly the bytes of `span`, when it is the first one
    /// `find(_:)` would compare for those labels (`byHash`); nil otherwise, and then `find(_:)` on
    /// the built `Labels` decides. Only a byte-equal first candidate is taken because `find(_:)`
    /// compares `String`s, which are equal for canonically equivalent but different bytes: taking
    /// a later byte-equal candidate could pick another series than it would.
    func find(_ lb: LabelBytes, _ span: LabelBytes.Span) -> MemSeries? {
        guard let s = byHash[hasher.hash(lb, span)], stores(s, lb, span) else { return nil }
        return s
    }

    /// The series with ref `r`, when its stored labels are exactly the bytes of `span` and no
    /// hash collision exists: then `find(_:_:)` would return this same series (the only one under
    /// the bytes' hash), so the hash and the `byHash` probe can be skipped. Edge scrapers send
    /// the same series in the same order every scrape and a batch's new series get consecutive
    /// refs, so the caller guesses the previous series' ref + 1 (`HeadAppend.swift`). Nothing is
    /// remembered between calls: a series dropped by `gc` is no longer in `series`, so a guess
    /// can miss but never return a stale series.
    func find(_ lb: LabelBytes, _ span: LabelBytes.Span, guess r: HeadRef) -> MemSeries? {
        guard hashCollisions.isEmpty, let s = series[r], stores(s, lb, span) else { return nil }
        return s
    }

    /// Whether `s`'s stored labels are exactly the bytes of `span`. Unsafe buffers for the whole
    /// loop: indexing the arrays (and copying each `String` out of `symbols`) cost a
    /// retain/release and a bounds check per label string.
    private func stores(_ s: MemSeries, _ lb: LabelBytes, _ span: LabelBytes.Span) -> Bool {
        guard s.syms.count == Int(span.count) * 2 else { return false }
        return lb.bytes.withUnsafeBufferPointer { b in
            lb.ranges.withUnsafeBufferPointer { r in
                symbols.withUnsafeBufferPointer { table in
                    labelStore.withIDs(s.syms) { ids in
                        var k = Int(span.first) * 4
                        for i in 0..<ids.count {
                            let part = UnsafeBufferPointer(rebasing: b[Int(r[k])..<Int(r[k]) + Int(r[k + 1])])
                            k += 2
                            guard LabelBytes.equal(table[Int(ids[i])], part) else { return false }
                        }
                        return true
                    }
                }
            }
        }
    }

    /// Creates a series; `ref` is given on WAL replay.
    func create(_ labels: Labels, ref: HeadRef? = nil) -> MemSeries {
        let r = ref.flatMap { series[$0] == nil && series.canHold($0) ? $0 : nil } ?? nextRef
        nextRef = max(nextRef, r &+ 1)
        var syms: [UInt32] = []
        syms.reserveCapacity(labels.pairs.count * 2)
        for l in labels.pairs { syms.append(intern(l.name)); syms.append(intern(l.value)) }
        let s = MemSeries(ref: r, syms: labelStore.add(syms))
        series.insert(s)
        let h = hasher.hash(labels)
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
        // Grow by a quarter, not by doubling as `append` would: these lists hold about seven
        // refs per series, and doubling left half of that unused in the ingest benchmark.
        if list.count == list.capacity { list.reserveCapacity(list.count + list.count / 4 + 2) }
        if let last = list.last, last > r { list.insert(r, at: list.partitionPoint { $0 < r }) } else { list.append(r) }
    }

    /// Drops series: those a cut left empty, or those an append created before its WAL write
    /// failed. Each affected postings list is filtered once, whatever the number of series.
    func gc(_ refs: [HeadRef]) {
        guard !refs.isEmpty else { return }
        var gone = Set<HeadRef>()
        gone.reserveCapacity(refs.count)
        var lists = Set<UInt64>()
        for r in refs {
            guard let s = series.removeValue(forKey: r) else { continue }
            gone.insert(r)
            let h = hasher.hash(labels(of: s))
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
            labelStore.withIDs(s.syms) { ids in
                var i = 0
                while i + 1 < ids.count {
                    lists.insert(UInt64(ids[i]) << 32 | UInt64(ids[i + 1]))
                    i += 2
                }
            }
            labelStore.remove(s.syms)
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
        if labelStore.isSparse { rebuildLabelStore(map: nil) }
    }

    /// Copies every live series' ids into a fresh store (mapped through `map`, `map[old] == new`,
    /// when symbols are renumbered), leaving out the units of dropped series.
    private func rebuildLabelStore(map: [UInt32]?) {
        var fresh = LabelSymbolStore()
        var scratch: [UInt32] = []
        for s in series.values { s.syms = fresh.add(s.syms, of: labelStore, map: map, scratch: &scratch) }
        labelStore = fresh
    }

    /// Label values churn (pod names, container ids): once most interned strings belong to
    /// series that are gone, renumber the live ones so the table does not grow forever.
    private func compactSymbols() {
        var used = [UInt32](repeating: UInt32.max, count: symbols.count)
        var newSymbols: [String] = []
        for s in series.values {
            labelStore.withIDs(s.syms) { ids in
                for i in 0..<ids.count where used[Int(ids[i])] == UInt32.max {
                    used[Int(ids[i])] = UInt32(newSymbols.count)
                    newSymbols.append(symbols[Int(ids[i])])
                }
            }
        }
        guard newSymbols.count * 2 < symbols.count else { return }
        rebuildLabelStore(map: used)
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

    /// Label names, and per name its values with the number of series holding each pair.
    func forEachLabelName(_ body: (_ name: String, _ values: [(value: String, series: Int)]) -> Void) {
        for (n, values) in postingsMap {
            body(symbols[Int(n)], values.map { (symbols[Int($0.key)], $0.value.count) })
        }
    }

    func labelNames() -> [String] { postingsMap.keys.map { symbols[Int($0)] } }

    /// Takes the data before `cutoff` out of every series (re-encoding chunks that straddle it),
    /// drops series left empty and recomputes `minT`. Returns it sorted by labels for the block
    /// writer; queries see it meanwhile as the TSDB's frozen set.
    func cut(before cutoff: Int64) -> [FrozenSeries] {
        var frozen: [FrozenSeries] = []
        var empty: [HeadRef] = []
        for s in series.values {
            let cs = s.truncate(before: cutoff, store: chunkStore)
            if !cs.isEmpty { frozen.append(FrozenSeries(labels: labels(of: s), chunks: cs)) }
            if s.isEmpty { empty.append(s.ref) }
        }
        gc(empty)
        compactSymbols()
        minT = series.values.reduce(Int64.max) { min($0, $1.minTime ?? .max) }
        frozen.sort { $0.labels < $1.labels }
        return frozen
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
