import Storage

/// Block-only: one timestamp column shared by the chunks of every series scraped together.
///
/// A scrape stamps all the series of a target with one timestamp, so in a block the 150-odd
/// series of one cluster's scrapes carry the same timestamp column, and in packed chunks that
/// column was about a quarter of the bytes (4 of ~15 bits a sample with a few ms of scrape
/// jitter). The block writer keeps each column once, as a record of its own in the chunks file,
/// and chunks whose column it has seen before refer to it by offset and hold only their values.
/// The first chunk with a column stays self-contained (most columns are never seen twice in
/// blocks of data that is not scraped), so sharing costs nothing where it does not pay.
///
/// Timestamp record (encoding 4):
/// ```
/// u16 BE count (≥ 2) | t0 varint | tmin uvarint | twidth u8 (0…64) | (tᵢ − tᵢ₋₁) − tmin in twidth bits, i ≥ 1
/// ```
/// Values with a shared column (encoding 5), the packed chunk's value fields without its own:
/// ```
/// u16 BE count | u8 form << 7 | exponent e | timestamp record offset uvarint | m0 varint |
/// dmin varint | shift u8 (< 64) | width u8 (0…64) | ((mᵢ − mᵢ₋₁) − dmin) >> shift in width bits, i ≥ 1
/// ```
/// Width 0 (every delta equal: constant gauges, counters at a steady rate) stores no bits at all.
/// Readers check that the record is a timestamp record with a good checksum and the same count.
enum TimestampColumn {
    static func encode<C: Collection>(_ samples: C) -> [UInt8]? where C.Element == Sample {
        guard samples.count >= 2, samples.count <= XORChunk.maxSamples else { return nil }
        let (tmin, twidth) = PackedChunk.timeFrame(samples)
        var b = ByteWriter()
        b.putByte(UInt8(samples.count >> 8)); b.putByte(UInt8(samples.count & 0xff))
        b.putVarint(samples.first!.t); b.putUVarint(tmin); b.putByte(UInt8(twidth))
        var w = BitWriter(bytes: b.bytes)
        var p = samples.first!.t
        for x in samples.dropFirst() {
            if twidth > 0 { w.bits(UInt64(bitPattern: x.t &- p) &- tmin, twidth) }
            p = x.t
        }
        return w.bytes
    }
}

/// Encoding 5: a packed chunk's values over a shared `TimestampColumn` (see there).
enum SharedTimestampChunk {
    static func encode(header: UInt8, ms: [Int64], column ref: UInt64) -> [UInt8] {
        let f = PackedChunk.Frame(ms)
        var b = ByteWriter()
        b.putByte(UInt8(ms.count >> 8)); b.putByte(UInt8(ms.count & 0xff)); b.putByte(header)
        b.putUVarint(ref); b.putVarint(ms[0]); b.putVarint(f.dmin); b.putByte(UInt8(f.shift)); b.putByte(UInt8(f.width))
        var w = BitWriter(bytes: b.bytes)
        if f.width > 0 {
            for i in 1..<ms.count { w.bits(UInt64(bitPattern: (ms[i] &- ms[i - 1]) &- f.dmin) >> UInt64(f.shift), f.width) }
        }
        return w.bytes
    }

    /// The offset of the timestamp record a chunk refers to (the uvarint after the 3-byte header).
    static func columnRef(_ bytes: UnsafeRawBufferPointer) throws -> UInt64 {
        var v = ByteCursor(bytes)
        v.at = 3
        guard let ref = v.uvarint() else { throw ChunkDecodeError(sampleIndex: 0, reason: "bad timestamp column reference") }
        return ref
    }

    /// Appends the samples in [mint, maxt]: the values of the chunk `bytes` over `ts`, its
    /// decoded timestamp column (checked by `TimestampColumn.decode`: strictly increasing).
    /// The header is parsed with bounds checks and the value area is checked to hold `count − 1`
    /// fields before any is read; the fields are then read from a zero-padded copy (a few hundred
    /// bytes on the stack), so the loop has no checks left. Values before `mint` are still
    /// summed (each is a delta on the one before) but not written.
    static func decode(_ bytes: UnsafeRawBufferPointer, timestamps ts: [Int64], mint: Int64, maxt: Int64,
                       into out: inout [Sample]) throws {
        func fail(_ i: Int, _ why: String) -> ChunkDecodeError { ChunkDecodeError(sampleIndex: i, reason: why) }
        let scale = try DecimalChunk.Scale(bytes, chunk: "shared-timestamp")
        var v = ByteCursor(bytes)
        v.at = 3
        guard let count = v.u16At0(), v.uvarint() != nil, let m0 = v.varint(), let dmin = v.varint(),
              let shift = v.byte(), let width = v.byte(), shift < 64, width <= 64 else {
            throw fail(0, "bad shared-timestamp chunk header")
        }
        guard count == ts.count, count >= 2 else { throw fail(0, "\(count) values for a column of \(ts.count) timestamps") }
        let vBytes = ((count - 1) * Int(width) + 7) / 8
        guard v.left >= vBytes else { throw fail(1 + v.left * 8 / Swift.max(1, Int(width)), "truncated value") }
        let lo = ts.firstIndex(atLeast: mint), hi = ts.firstIndex(atLeast: maxt == .max ? maxt : maxt + 1, from: lo)
        guard lo < hi else { return }

        // Written through a pointer into placeholders: cheaper than an append per sample.
        let start = out.count
        out.append(contentsOf: repeatElement(Sample(t: 0, v: 0), count: hi - lo))
        withUnsafeTemporaryAllocation(byteCount: vBytes + 16, alignment: 8) { pad in
            pad.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[v.at..<(v.at + vBytes)]))
            // What the last loads read past the fields (never used, but initialised).
            UnsafeMutableRawBufferPointer(rebasing: pad[vBytes...]).initializeMemory(as: UInt8.self, repeating: 0)
            var vs = BitStream(UnsafeRawBufferPointer(pad), startByte: 0)
            let w = Int(width), sh = UInt64(shift)
            ts.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    let dst = o.baseAddress! + start
                    var m = m0, i = 0
                    while true {
                        if i >= lo { dst[i &- lo] = Sample(t: t[i], v: scale.value(m)) }
                        i &+= 1
                        if i == hi { break }
                        m = m &+ dmin &+ Int64(bitPattern: (w == 0 ? 0 : vs.read(w)) &<< sh)
                    }
                }
            }
        }
    }
}

extension TimestampColumn {
    /// Decodes a timestamp record into `ts` (replacing what it held): header and field area
    /// bounds-checked before any field is read, timestamps checked to be strictly increasing.
    static func decode(_ column: UnsafeRawBufferPointer, into ts: inout [Int64]) throws {
        func fail(_ i: Int, _ why: String) -> ChunkDecodeError { ChunkDecodeError(sampleIndex: i, reason: why) }
        var c = ByteCursor(column)
        guard let count = c.u16(), let t0 = c.varint(), let tmin = c.uvarint(), let twidth = c.byte(), twidth <= 64 else {
            throw fail(0, "bad timestamp column header")
        }
        guard count >= 2 else { throw fail(0, "timestamp column of \(count) timestamps") }
        let tBytes = ((count - 1) * Int(twidth) + 7) / 8
        guard c.left >= tBytes else { throw fail(1 + c.left * 8 / Swift.max(1, Int(twidth)), "truncated timestamp") }
        ts.removeAll(keepingCapacity: true)
        ts.append(contentsOf: repeatElement(0, count: count))
        let error = withUnsafeTemporaryAllocation(byteCount: tBytes + 16, alignment: 8) { pad -> ChunkDecodeError? in
            pad.copyMemory(from: UnsafeRawBufferPointer(rebasing: column[c.at..<(c.at + tBytes)]))
            UnsafeMutableRawBufferPointer(rebasing: pad[tBytes...]).initializeMemory(as: UInt8.self, repeating: 0)
            var bits = BitStream(UnsafeRawBufferPointer(pad), startByte: 0)
            let w = Int(twidth)
            return ts.withUnsafeMutableBufferPointer { out in
                var t = t0
                out[0] = t
                for i in 1..<count {
                    let nt = t &+ Int64(bitPattern: tmin &+ (w == 0 ? 0 : bits.read(w)))
                    guard nt > t else { return fail(i, "non-increasing timestamp") }
                    t = nt
                    out[i] = t
                }
                return nil
            }
        }
        if let error { throw error }
    }
}

private extension Array where Element == Int64 {
    /// The first index from `from` on whose value is ≥ `x` (the array is sorted), or `count`.
    func firstIndex(atLeast x: Int64, from: Int = 0) -> Int {
        var lo = from, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Bounds-checked reads of the byte-wise headers.
private struct ByteCursor {
    let b: UnsafeRawBufferPointer
    var at = 0
    init(_ b: UnsafeRawBufferPointer) { self.b = b }
    var left: Int { b.count - at }
    mutating func byte() -> UInt8? {
        guard at < b.count else { return nil }
        defer { at += 1 }
        return b[at]
    }
    mutating func u16() -> Int? {
        guard let h = byte(), let l = byte() else { return nil }
        return Int(h) << 8 | Int(l)
    }
    func u16At0() -> Int? { b.count >= 2 ? Int(b[0]) << 8 | Int(b[1]) : nil }
    mutating func uvarint() -> UInt64? {
        var x: UInt64 = 0
        for k in 0..<10 {
            guard let c = byte() else { return nil }
            if k == 9 && c > 1 { return nil }
            x |= UInt64(c & 0x7f) << UInt64(7 * k)
            if c < 0x80 { return x }
        }
        return nil
    }
    mutating func varint() -> Int64? {
        uvarint().map { Int64(bitPattern: $0 >> 1) ^ -Int64(bitPattern: $0 & 1) }
    }
}

/// Decoded timestamp columns, so the ~150 series of a scrape group that share a column decode
/// it once per reader instead of once each. One per reader or worker (no lock); entries are
/// keyed by block identity and record offset, which is only sound while the blocks met stay
/// open, i.e. for one query or one compaction. Bounded: past `limit` columns it starts afresh.
struct TimestampColumnCache {
    private struct Key: Hashable {
        let block: ObjectIdentifier
        let at: UInt64
    }
    private var columns: [Key: [Int64]] = [:]
    private let limit: Int

    init(limit: Int = 4096) { self.limit = limit }

    var count: Int { columns.count }

    /// The decoded column at `at` in `block`; `record` gives its checked record on a miss.
    mutating func timestamps(_ block: Block, at: UInt64, record: () throws -> UnsafeRawBufferPointer) throws -> [Int64] {
        let key = Key(block: ObjectIdentifier(block), at: at)
        if let ts = columns[key] { return ts }
        var ts: [Int64] = []
        try TimestampColumn.decode(try record(), into: &ts)
        if columns.count >= limit { columns.removeAll(keepingCapacity: true) }
        columns[key] = ts
        return ts
    }
}

/// The block writer's memory of the columns it has met. Keyed by the encoded record, which
/// is exact (no hash collisions to get wrong) and about a bit per sample of the column.
/// Bounded: past `limit` columns a block stops sharing new ones (and stays correct).
struct TimestampColumns {
    enum State: Equatable {
        /// First meeting: the chunk stays self-contained, the column is remembered.
        case unseen
        /// Met once before: write the record now, then refer to it.
        case seenOnce
        case written(at: UInt64)
    }

    private var known: [[UInt8]: UInt64] = [:]
    private static let seenOnceMark = UInt64.max
    let limit: Int

    init(limit: Int = 1 << 20) { self.limit = limit }

    mutating func meet(_ column: [UInt8]) -> State {
        if let v = known[column] { return v == Self.seenOnceMark ? .seenOnce : .written(at: v) }
        if known.count < limit { known[column] = Self.seenOnceMark }
        return .unseen
    }

    mutating func written(_ column: [UInt8], at ref: UInt64) { known[column] = ref }
}
