import Glibc

/// The scrape cache's table: a series' raw `name{labels}` bytes → its ref (-1: dropped by
/// relabeling). Open addressing on `ScrapeProcessor.rawSeriesHash`, which is already well mixed,
/// so a lookup is one masked index and a byte compare. A `[UInt64: [CacheEntry]]` dictionary
/// hashed every key again with SipHash and kept an array per key; the lookup runs for every
/// scraped sample (docs/benchmarks.md, "Edge agent, issue 15: CPU per sample").
struct SeriesCache: Sendable {
    struct Entry: Sendable {
        var hash: UInt64
        var raw: [UInt8]
        var ref: Int
        /// The iteration a dropped series was last seen (compaction forgets it after a while).
        var lastUsed: Int
    }

    private(set) var entries: [Entry] = []
    /// Indexes into `entries`, -1 for an empty slot; the count is a power of two, at most half full.
    private var slots: [Int32] = []

    init() {}

    /// The index of the entry for `raw`, if any.
    func find(_ raw: UnsafeRawBufferPointer, hash h: UInt64) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            if entries[e].hash == h && entries[e].raw.count == raw.count {
                let same = entries[e].raw.withUnsafeBytes { raw.count == 0 || memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }
                if same { return e }
            }
            i = (i + 1) & mask
        }
    }

    subscript(_ index: Int) -> Entry {
        get { entries[index] }
        set { entries[index] = newValue }
    }

    mutating func insert(_ entry: Entry) {
        if (entries.count + 1) * 2 > slots.count { rebuild(capacity: max(64, slots.count * 2)) }
        entries.append(entry)
        place(entries.count - 1)
    }

    /// Keeps the entries `transform` returns (with their new contents), in order.
    mutating func compact(_ transform: (Entry) -> Entry?) {
        entries = entries.compactMap(transform)
        var capacity = 64
        while entries.count * 2 > capacity { capacity *= 2 }
        rebuild(capacity: capacity)
    }

    private mutating func rebuild(capacity: Int) {
        slots = [Int32](repeating: -1, count: capacity)
        for e in entries.indices { place(e) }
    }

    private mutating func place(_ e: Int) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: entries[e].hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(e)
    }
}
