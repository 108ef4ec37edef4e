import Storage

/// Block-only chunk encoding for exact decimals whose mantissa moves by varying amounts every
/// sample (counters at a varying rate, random-walk gauges, values quantised to 4096 bytes):
/// mantissa deltas as offsets from the chunk's smallest delta, shifted by their common
/// trailing zero bits and packed in one fixed width (frame of reference, as VictoriaMetrics
/// and Lemire's FastPFor pack integers). A delta-of-delta bucket spends 19 or 36 bits where the
/// deltas vary over a range of 2^11 or 2^20; this spends 11 or 20, and 13 instead of 36 for
/// gauges in steps of 4096.
///
/// ```
/// u16 BE count (≥ 2) | u8 form << 7 | exponent e   (as DecimalChunk: v = m / 10^e or m × (1 / 10^e))
/// sample 0: t varint, m varint (byte-wise in the bit stream)
/// sample 1: t−t0 uvarint, dmin varint, shift u8 (< 64), width u8 (1…64), then its value field
/// sample n: timestamp delta-of-delta as TimestampEncoding, then its value field
/// value field of sample i ≥ 1: ((mᵢ − mᵢ₋₁) − dmin) >> shift in `width` bits
/// ```
/// The width is at least 1, so a sample takes at least two bits, as `InPlaceDecoding` assumes.
/// The block writer keeps whichever of XOR, decimal and packed is smallest: a counter reset
/// in a chunk widens every field, so such a chunk stays decimal.
enum PackedChunk {
    static func encode<C: Collection>(_ samples: C, header: UInt8, ms: [Int64]) -> [UInt8]? where C.Element == Sample {
        guard ms.count >= 2, ms.count == samples.count else { return nil }
        var dmin = Int64.max, dmax = Int64.min
        for i in 1..<ms.count {
            let d = ms[i] &- ms[i - 1]
            dmin = Swift.min(dmin, d)
            dmax = Swift.max(dmax, d)
        }
        var bits: UInt64 = 0
        for i in 1..<ms.count { bits |= UInt64(bitPattern: (ms[i] &- ms[i - 1]) &- dmin) }
        let shift = bits == 0 ? 0 : bits.trailingZeroBitCount
        let span = UInt64(bitPattern: dmax &- dmin) >> UInt64(shift)
        let width = Swift.max(1, 64 - span.leadingZeroBitCount)

        var w = BitWriter(bytes: [UInt8(samples.count >> 8), UInt8(samples.count & 0xff), header])
        func bytes(_ b: ByteWriter) { for x in b.bytes { w.byte(x) } }
        var prevT: Int64 = 0, tDelta: UInt64 = 0
        for (i, s) in samples.enumerated() {
            switch i {
            case 0:
                var b = ByteWriter(); b.putVarint(s.t); b.putVarint(ms[0]); bytes(b)
            case 1:
                tDelta = UInt64(bitPattern: s.t &- prevT)
                var b = ByteWriter(); b.putUVarint(tDelta); b.putVarint(dmin); b.putByte(UInt8(shift)); b.putByte(UInt8(width)); bytes(b)
            default:
                let d = UInt64(bitPattern: s.t &- prevT)
                TimestampEncoding.writeDoD(Int64(bitPattern: d &- tDelta), into: &w)
                tDelta = d
            }
            if i > 0 { w.bits(UInt64(bitPattern: (ms[i] &- ms[i - 1]) &- dmin) >> UInt64(shift), width) }
            prevT = s.t
        }
        return w.bytes
    }

    static func decode(_ data: [UInt8]) throws -> [Sample] {
        var out: [Sample] = []
        try data.withUnsafeBytes { try decode($0, mint: .min, maxt: .max, into: &out) }
        return out
    }

    /// As `DecimalChunk.decode`: in place, stopping after `maxt`, `ChunkDecodeError` on damage.
    @inline(never)
    static func decode(_ bytes: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        let scale = try DecimalChunk.Scale(bytes, chunk: "packed")
        try DoDBuckets.table.withUnsafeBufferPointer { buckets in
            var d = Decoder(BitStream(bytes, startByte: 3), scale: scale, buckets: buckets.baseAddress!)
            try InPlaceDecoding.decode(bytes, with: &d, mint: mint, maxt: maxt, into: &out)
        }
    }

    struct Decoder: InPlaceDecoding.SampleDecoder {
        var s: BitStream
        var t: Int64 = 0
        private var tDelta: UInt64 = 0
        private var m: Int64 = 0
        private var dmin: Int64 = 0
        private var shift: UInt64 = 0
        private var width = 1
        private let scale: DecimalChunk.Scale
        private let buckets: UnsafePointer<UInt16>

        init(_ s: BitStream, scale: DecimalChunk.Scale, buckets: UnsafePointer<UInt16>) {
            self.s = s
            self.scale = scale
            self.buckets = buckets
        }

        @inline(__always) var sample: Sample { Sample(t: t, v: scale.value(m)) }

        mutating func head(_ i: Int) -> String? {
            var x: UInt64 = 0
            if i == 0 { return s.firstSample(&t, &m) }
            if let why = s.uvarint(&tDelta) { return why }
            if let why = s.uvarint(&x) { return why }
            dmin = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
            shift = s.read(8)
            width = Int(s.read(8))
            if s.consumed > s.endBits { return "truncated header" }
            guard shift < 64, width >= 1, width <= 64 else { return "bad shift \(shift) or width \(width)" }
            let nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            let v = s.read(width)
            if s.consumed > s.endBits { return "truncated value" }
            m = m &+ dmin &+ Int64(bitPattern: v &<< shift)
            return nil
        }

        @inline(__always) mutating func next(checked: Bool) -> String? {
            s.refill()
            let before = s.consumed
            let b = s.bucket(buckets, DoDBuckets.timestampRow)
            s.timestampDoD(b, into: &tDelta)
            if checked && s.consumed > s.endBits {
                return before &+ b.prefix > s.endBits ? "truncated sample" : "truncated timestamp"
            }
            let nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            let v = s.read(width)
            if checked && s.consumed > s.endBits { return "truncated value" }
            m = m &+ dmin &+ Int64(bitPattern: v &<< shift)
            return nil
        }
    }
}
