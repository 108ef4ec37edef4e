/// The head's label-hash -> series map: open addressing with linear probing over one array of
/// (hash, series) slots.
///
/// Why not `[Int: MemSeries]`: its key is already a well-mixed 64-bit hash (`SeriesHasher`), but
/// `Dictionary` runs it through `Hasher` (SipHash) again on every lookup, and keeps keys and
/// values in separate arrays (two cache misses per probe of a table far larger than the cache).
/// Here the slot index is the hash's top bits after one multiply (Fibonacci hashing, so hashes
/// masked to a few bits in tests still spread) and the key sits next to its series.
///
/// One series per hash: like the dictionary it replaces, colliding series are the head's
/// business (`Head.hashCollisions`). Deletion shifts the following run back (no tombstones), so
/// lookups never slow down as series churn. At most 3/4 full, as `Dictionary`, so memory stays
/// the same: 16 bytes a slot.
struct SeriesByHash {
    private struct Slot {
        var hash: Int
        var series: MemSeries?
    }

    private var slots: [Slot]
    /// 64 - log2(slots.count): the multiply's top bits are the index.
    private var shift: UInt64
    private(set) var count = 0

    init() {
        slots = Array(repeating: Slot(hash: 0, series: nil), count: 16)
        shift = 60
    }

    @inline(__always) private func home(_ h: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(h)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `h`, or the empty slot that ends its run.
    @inline(__always) private func position(_ h: Int) -> (index: Int, found: Bool) {
        let m = slots.count - 1
        var i = home(h)
        return slots.withUnsafeBufferPointer { s in
            while true {
                guard s[i].series != nil else { return (i, false) }
                if s[i].hash == h { return (i, true) }
                i = (i + 1) & m
            }
        }
    }

    /// nil assigns remove the entry.
    subscript(h: Int) -> MemSeries? {
        get {
            let p = position(h)
            return p.found ? slots[p.index].series : nil
        }
        set {
            let p = position(h)
            if let newValue {
                slots[p.index] = Slot(hash: h, series: newValue)
                if !p.found {
                    count += 1
                    if count * 4 > slots.count * 3 { grow() }
                }
            } else if p.found {
                remove(at: p.index)
            }
        }
    }

    /// Backward-shift deletion: moves each later entry of the run into the hole when the hole
    /// lies between its home and where it sits, so every entry stays reachable from its home.
    private mutating func remove(at index: Int) {
        let m = slots.count - 1
        var hole = index
        var i = (index + 1) & m
        while let s = slots[i].series {
            let h = home(slots[i].hash)
            // Distance from home to i, and to the hole, going forward around the table.
            if (i - h) & m >= (i - hole) & m {
                slots[hole] = Slot(hash: slots[i].hash, series: s)
                hole = i
            }
            i = (i + 1) & m
        }
        slots[hole] = Slot(hash: 0, series: nil)
        count -= 1
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(hash: 0, series: nil), count: old.count * 2)
        shift -= 1
        for s in old where s.series != nil {
            slots[position(s.hash).index] = s
        }
    }
}
