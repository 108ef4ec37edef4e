import Glibc

/// A table from byte strings to refs, the bytes kept in one arena. The scrape processor has two:
/// a series' raw `name{labels}` bytes → its ref (-1: dropped by relabeling), and its final
/// labels, encoded for remote write, → the ref (entry k is ref k). Open addressing on `ScrapeProcessor.rawSeriesHash`, which is already well mixed,
/// so a lookup is one masked index and a byte compare. A `[UInt64: [CacheEntry]]` dictionary
/// hashed every key again with SipHash and kept an array per key; the lookup runs for every
/// scraped sample (docs/benchmarks.md, "Edge agent, issue 15: CPU per sample").
struct SeriesCache: Sendable {
    /// 24 bytes: the edge keeps two of these per series of every target.
    struct Entry: Sendable {
        var hash: UInt64
        /// The series' bytes: `bytes[offset ..< offset + length]`.
        var offset: UInt32
        var length: UInt32
        private var ref32: Int32
        private var used32: Int32

        init(hash: UInt64, offset: UInt32, length: UInt32, ref: Int, lastUsed: Int) {
            self.hash = hash
            self.offset = offset
            self.length = length
            ref32 = Int32(ref)
            used32 = Int32(truncatingIfNeeded: lastUsed)
        }

        /// Refs index the label store, which holds fewer than 2^31 entries (`insert`), or are -1.
        var ref: Int {
            get { Int(ref32) }
            set { ref32 = Int32(newValue) }
        }

        /// The raw cache: the iteration a dropped series was last seen, modulo 2^32 (compaction
        /// forgets it after a few, so the age below is exact). The label store leaves it 0.
        var lastUsed: Int {
            get { Int(used32) }
            set { used32 = Int32(truncatingIfNeeded: newValue) }
        }

        /// Iterations since `lastUsed`, at `iteration`.
        func age(at iteration: Int) -> Int { Int(Int32(truncatingIfNeeded: iteration) &- used32) }
    }

    private(set) var entries: [Entry] = []
    /// Every entry's raw bytes, one after another. An array per entry was a malloc'd block of its
    /// own (array header, malloc header and rounding: ~56 bytes a series on top of the bytes), and
    /// the edge keeps one entry per series of every target.
    private var bytes: [UInt8] = []
    /// Indexes into `entries`, -1 for an empty slot; the count is a power of two, at most half full.
    private var slots: [Int32] = []

    init() {}

    /// The index of the entry for `raw`, if any.
    func find(_ raw: UnsafeRawBufferPointer, hash h: UInt64) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        return bytes.withUnsafeBytes { arena in
            while true {
                let e = Int(slots[i])
                if e < 0 { return nil }
                let entry = entries[e]
                if entry.hash == h && Int(entry.length) == raw.count
                    && (raw.count == 0 || memcmp(arena.baseAddress! + Int(entry.offset), raw.baseAddress!, raw.count) == 0) {
                    return e
                }
                i = (i + 1) & mask
            }
        }
    }

    subscript(_ index: Int) -> Entry {
        get { entries[index] }
        set { entries[index] = newValue }
    }

    /// All entries' bytes; entry e's are `arena[e.offset ..< e.offset + e.length]`.
    var arena: [UInt8] { bytes }

    /// The bytes an entry was inserted with.
    func raw(_ index: Int) -> ArraySlice<UInt8> {
        let e = entries[index]
        return bytes[Int(e.offset) ..< Int(e.offset) + Int(e.length)]
    }

    /// Adds `raw` → `ref`, unless the table already holds 4 GiB of bytes or 2^31 entries. Then
    /// the raw cache looks those series up the slow way at every scrape (correct, only slower),
    /// and the label store fails the scrape.
    @discardableResult
    mutating func insert(hash: UInt64, raw: UnsafeRawBufferPointer, ref: Int, lastUsed: Int) -> Bool {
        guard let offset = UInt32(exactly: bytes.count), UInt32(exactly: bytes.count + raw.count) != nil,
              entries.count < Int(Int32.max) else { return false }
        if (entries.count + 1) * 2 > slots.count { rebuild(capacity: max(64, slots.count * 2)) }
        bytes.append(contentsOf: raw)
        entries.append(Entry(hash: hash, offset: offset, length: UInt32(raw.count), ref: ref, lastUsed: lastUsed))
        place(entries.count - 1)
        return true
    }

    /// Keeps the entries `transform` returns (with their new ref and lastUsed), in order; their
    /// bytes move into a new arena, so a forgotten series' bytes go with it.
    mutating func compact(_ transform: (Entry) -> Entry?) {
        var kept: [Entry] = []
        kept.reserveCapacity(entries.count)
        for e in entries {
            if let t = transform(e) { kept.append(t) }
        }
        // Nothing forgotten and little slack: the arena and the slots stay (the indexes and
        // hashes are the same), so a target without churn does not copy its arena every time.
        if kept.count == entries.count && bytes.capacity - bytes.count <= bytes.count / 8 {
            entries = kept
            return
        }
        // Sized exactly: the arena then stays without the slack of appending until new series come.
        var size = 0
        for e in kept { size += Int(e.length) }
        var arena: [UInt8] = []
        arena.reserveCapacity(size)
        for k in kept.indices {
            let e = kept[k]  // its offset is still the old arena's
            kept[k].offset = UInt32(arena.count)  // at most the old arena's size, which fit
            arena.append(contentsOf: bytes[Int(e.offset) ..< Int(e.offset) + Int(e.length)])
        }
        entries = kept
        bytes = arena
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
