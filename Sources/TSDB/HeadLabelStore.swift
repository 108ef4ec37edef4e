/// Where one series' label symbol ids sit in the head's `LabelSymbolStore`: 8 bytes inside
/// `MemSeries` instead of an array of its own (a 32-byte header plus malloc's overhead and
/// rounding per series).
struct SymbolSpan: Equatable {
    /// Page index << `LabelSymbolStore.pageShift` | first unit within the page.
    fileprivate(set) var at: UInt32
    /// Number of ids; the top bit is set when the ids take two units each (some id ≥ 65,536).
    fileprivate(set) var bits: UInt32

    static let empty = SymbolSpan(at: 0, bits: 0)

    var count: Int { Int(bits & 0x7fff_ffff) }
    var wide: Bool { bits & 0x8000_0000 != 0 }
}

/// One series' symbol ids, readable only inside `LabelSymbolStore.withIDs`.
struct SymbolIDs {
    fileprivate let units: UnsafeBufferPointer<UInt16>
    let count: Int
    fileprivate let wide: Bool

    @inline(__always) subscript(i: Int) -> UInt32 {
        wide ? UInt32(units[2 * i]) | UInt32(units[2 * i + 1]) << 16 : UInt32(units[i])
    }
}

/// Every head series' interned label ids, (name, value) in label order, in shared pages of
/// 16-bit units. A series takes one unit per id while all its ids are below 65,536 (the usual
/// case: compaction keeps the symbol table dense) and two otherwise, so its labels cost
/// 2 bytes per id here instead of 4 plus an array per series.
///
/// Pages are fixed-size and never grow past their capacity, so adding a series never copies the
/// others; a span never crosses a page (a span larger than a page gets a page of its own).
/// Removing a series only counts its units as dead: the head rebuilds the store (`rebuilt`) once
/// they are a fair share of it, and when symbol compaction renumbers the ids. Like the rest of
/// the head it is used under the head lock only.
struct LabelSymbolStore {
    static let pageShift = 14
    /// 16,384 units: a 32 KB page, small enough that the unused tail of the last one is noise.
    static let pageUnits = 1 << pageShift

    private var pages: [[UInt16]] = []
    /// Units held by live spans and by removed ones (until the next rebuild).
    private(set) var liveUnits = 0
    private(set) var deadUnits = 0

    init() {}

    static func units(_ s: SymbolSpan) -> Int { s.wide ? 2 * s.count : s.count }

    mutating func add(_ ids: UnsafeBufferPointer<UInt32>) -> SymbolSpan {
        guard !ids.isEmpty else { return .empty }
        let wide = ids.contains { $0 > UInt32(UInt16.max) }
        let n = wide ? 2 * ids.count : ids.count
        if pages.isEmpty || pages[pages.count - 1].count + n > Self.pageUnits {
            precondition(pages.count < 1 << (32 - Self.pageShift), "label symbol store full")
            var page: [UInt16] = []
            page.reserveCapacity(max(n, Self.pageUnits))
            pages.append(page)
        }
        let p = pages.count - 1
        let start = pages[p].count
        if wide {
            for id in ids { pages[p].append(UInt16(truncatingIfNeeded: id)); pages[p].append(UInt16(id >> 16)) }
        } else {
            for id in ids { pages[p].append(UInt16(truncatingIfNeeded: id)) }
        }
        liveUnits += n
        // A page of its own (n > pageUnits) starts at 0, so the start always fits the low bits.
        return SymbolSpan(at: UInt32(p) << Self.pageShift | UInt32(start), bits: UInt32(ids.count) | (wide ? 0x8000_0000 : 0))
    }

    mutating func add(_ ids: [UInt32]) -> SymbolSpan { ids.withUnsafeBufferPointer { add($0) } }

    /// The span's units stay in their page until the next rebuild.
    mutating func remove(_ s: SymbolSpan) {
        let n = Self.units(s)
        liveUnits -= n
        deadUnits += n
    }

    /// Whether removed spans hold enough of the store to be worth a rebuild (a quarter of the
    /// live units, and more than a page).
    var isSparse: Bool { deadUnits > Self.pageUnits && deadUnits > liveUnits / 4 }

    @inline(__always)
    func withIDs<R>(_ s: SymbolSpan, _ body: (SymbolIDs) throws -> R) rethrows -> R {
        guard s.count > 0 else { return try body(SymbolIDs(units: UnsafeBufferPointer(start: nil, count: 0), count: 0, wide: false)) }
        let p = Int(s.at >> Self.pageShift), start = Int(s.at & UInt32(Self.pageUnits - 1))
        return try pages[p].withUnsafeBufferPointer { b in
            try body(SymbolIDs(units: UnsafeBufferPointer(rebasing: b[start..<start + Self.units(s)]), count: s.count, wide: s.wide))
        }
    }

    func ids(_ s: SymbolSpan) -> [UInt32] {
        withIDs(s) { ids in (0..<ids.count).map { ids[$0] } }
    }

    /// Adds the ids of `s` as held in `old`, mapped through `map` (`map[old] == new`; nil keeps
    /// them): rebuilding the store after removals or a symbol renumbering. `scratch` is reused.
    mutating func add(_ s: SymbolSpan, of old: LabelSymbolStore, map: [UInt32]?, scratch: inout [UInt32]) -> SymbolSpan {
        scratch.removeAll(keepingCapacity: true)
        old.withIDs(s) { ids in
            for k in 0..<ids.count { let id = ids[k]; scratch.append(map?[Int(id)] ?? id) }
        }
        return add(scratch)
    }
}
