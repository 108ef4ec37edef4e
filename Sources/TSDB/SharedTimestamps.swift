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
        var tmin = UInt64.max, tmax: UInt64 = 0
        var prev: Int64?
        for x in samples {
            if let p = prev {
                let d = UInt64(bitPattern: x.t &- p)
                tmin = Swift.min(tmin, d)
                tmax = Swift.max(tmax, d)
            }
            prev = x.t
        }
        let twidth = PackedChunk.bitWidth(tmax &- tmin)
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

    /// Replaces `out` with the column's timestamps (as samples with value 0). The count is the
    /// header's (at most 65,535, so at most 1 MiB however the record was damaged).
    static func decode(_ bytes: UnsafeRawBufferPointer, into out: inout [Sample]) throws {
        out.removeAll(keepingCapacity: true)
        guard bytes.count >= 2 else { throw ChunkDecodeError(sampleIndex: 0, reason: "timestamp record shorter than its header") }
        let total = Int(bytes[0]) << 8 | Int(bytes[1])
        var d = Decoder(s: BitStream(bytes, startByte: 2))
        try InPlaceDecoding.decode(bytes, with: &d, mint: .min, maxt: .max, into: &out, count: total)
        guard out.count == total, total >= 2 else { throw ChunkDecodeError(sampleIndex: out.count, reason: "timestamp record has \(out.count) of \(total) samples") }
    }

    struct Decoder: InPlaceDecoding.SampleDecoder {
        var s: BitStream
        var t: Int64 = 0
        private var tmin: UInt64 = 0
        private var twidth = 0

        init(s: BitStream) { self.s = s }

        @inline(__always) var sample: Sample { Sample(t: t, v: 0) }

        mutating func head(_ i: Int) -> String? {
            if i == 1 { return next(checked: true) }
            var x: UInt64 = 0
            if let why = s.uvarint(&x) { return why }
            t = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
            if let why = s.uvarint(&tmin) { return why }
            twidth = Int(s.read(8))
            if s.consumed > s.endBits { return "truncated header" }
            return twidth <= 64 ? nil : "bad timestamp width \(twidth)"
        }

        @inline(__always) mutating func next(checked: Bool) -> String? {
            let td = twidth == 0 ? 0 : s.read(twidth)
            if checked && s.consumed > s.endBits { return "truncated timestamp" }
            let nt = t &+ Int64(bitPattern: tmin &+ td)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            return nil
        }
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
        var ref: UInt64 = 0
        var shift: UInt64 = 0
        var i = 3
        while i < bytes.count && i < 13 {
            let b = UInt64(bytes[i])
            ref |= (b & 0x7f) << shift
            if b < 0x80 { return ref }
            shift += 7
            i += 1
        }
        throw ChunkDecodeError(sampleIndex: 0, reason: "bad timestamp column reference")
    }

    /// Appends the samples in [mint, maxt]; `timestamps` is the decoded column.
    static func decode(_ bytes: UnsafeRawBufferPointer, timestamps: [Sample], mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        let scale = try DecimalChunk.Scale(bytes, chunk: "shared-timestamp")
        let total = Int(bytes[0]) << 8 | Int(bytes[1])
        guard total == timestamps.count else {
            throw ChunkDecodeError(sampleIndex: 0, reason: "\(total) values for a column of \(timestamps.count) timestamps")
        }
        try timestamps.withUnsafeBufferPointer { ts in
            var d = Decoder(BitStream(bytes, startByte: 3), scale: scale, ts: ts)
            try InPlaceDecoding.decode(bytes, with: &d, mint: mint, maxt: maxt, into: &out, count: total)
        }
    }

    struct Decoder: InPlaceDecoding.SampleDecoder {
        var s: BitStream
        var t: Int64 = 0
        private var i = 0
        private var m: Int64 = 0
        private var dmin: Int64 = 0
        private var shift: UInt64 = 0
        private var width = 0
        private let scale: DecimalChunk.Scale
        private let ts: UnsafeBufferPointer<Sample>

        init(_ s: BitStream, scale: DecimalChunk.Scale, ts: UnsafeBufferPointer<Sample>) {
            self.s = s
            self.scale = scale
            self.ts = ts
        }

        @inline(__always) var sample: Sample { Sample(t: t, v: scale.value(m)) }

        mutating func head(_ k: Int) -> String? {
            var x: UInt64 = 0
            if k == 0 {
                if let why = s.uvarint(&x) { return why }   // the column's offset, resolved by the reader
                if let why = s.uvarint(&x) { return why }
                m = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
                t = ts[0].t
                return nil
            }
            if let why = s.uvarint(&x) { return why }
            dmin = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
            shift = s.read(8)
            width = Int(s.read(8))
            if s.consumed > s.endBits { return "truncated header" }
            guard shift < 64, width <= 64 else { return "bad shift \(shift) or width \(width)" }
            return next(checked: true)
        }

        // `count:` made the decoder stop at the column's length, so `i` stays within `ts`.
        @inline(__always) mutating func next(checked: Bool) -> String? {
            let v = width == 0 ? 0 : s.read(width)
            if checked && s.consumed > s.endBits { return "truncated value" }
            m = m &+ dmin &+ Int64(bitPattern: v &<< shift)
            i &+= 1
            t = ts[i].t
            return nil
        }
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
