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
/// sample 0: t varint, m varint, tmin uvarint, twidth u8 (1…64)   (byte-wise in the bit stream)
/// sample 1: dmin varint, shift u8 (< 64), width u8 (1…64), then its fields
/// fields of sample i ≥ 1: (tᵢ − tᵢ₋₁) − tmin in `twidth` bits, ((mᵢ − mᵢ₋₁) − dmin) >> shift in `width` bits
/// ```
/// Both widths are at least 1, so a sample takes at least two bits, as `InPlaceDecoding` assumes.
/// The block writer keeps whichever of XOR, decimal and packed is smallest: a counter reset
/// in a chunk widens every field, so such a chunk stays decimal.
enum PackedChunk {
    static func encode<C: Collection>(_ samples: C, header: UInt8, ms: [Int64]) -> [UInt8]? where C.Element == Sample {
        guard ms.count >= 2, ms.count == samples.count else { return nil }
        let f = Frame(ms)
        let (dmin, shift, width) = (f.dmin, f.shift, Swift.max(1, f.width))

        // Timestamps the same way: scrape jitter of a few ms makes nearly every delta-of-delta
        // non-zero, 16 bits each in the XOR chunk's buckets, where 15 000 ± 8 ms packs in 5.
        let (tmin, tw) = timeFrame(samples)
        let twidth = Swift.max(1, tw)

        var w = BitWriter(bytes: [UInt8(samples.count >> 8), UInt8(samples.count & 0xff), header])
        func bytes(_ b: ByteWriter) { for x in b.bytes { w.byte(x) } }
        var prevT: Int64 = 0
        for (i, s) in samples.enumerated() {
            switch i {
            case 0:
                var b = ByteWriter(); b.putVarint(s.t); b.putVarint(ms[0]); b.putUVarint(tmin); b.putByte(UInt8(twidth)); bytes(b)
            case 1:
                var b = ByteWriter(); b.putVarint(dmin); b.putByte(UInt8(shift)); b.putByte(UInt8(width)); bytes(b)
            default:
                break
            }
            if i > 0 {
                w.bits(UInt64(bitPattern: s.t &- prevT) &- tmin, twidth)
                w.bits(UInt64(bitPattern: (ms[i] &- ms[i - 1]) &- dmin) >> UInt64(shift), width)
            }
            prevT = s.t
        }
        return w.bytes
    }

    /// The time deltas' frame of reference: the smallest delta and the width of the largest
    /// offset from it (0 if all deltas are equal). Also the shared timestamp columns'.
    static func timeFrame<C: Collection>(_ samples: C) -> (tmin: UInt64, width: Int) where C.Element == Sample {
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
        return (tmin, bitWidth(tmax &- tmin))
    }

    /// Bits that hold `span` (0 for 0).
    @inline(__always) static func bitWidth(_ span: UInt64) -> Int { 64 - span.leadingZeroBitCount }

    /// The mantissa deltas' frame of reference: the smallest delta, the trailing zero bits all
    /// offsets share, and the width of the largest offset after that shift (0 if all are equal).
    struct Frame {
        var dmin = Int64.max
        var shift = 0
        var width = 0

        init(_ ms: [Int64]) {
            var dmax = Int64.min
            for i in 1..<ms.count {
                let d = ms[i] &- ms[i - 1]
                dmin = Swift.min(dmin, d)
                dmax = Swift.max(dmax, d)
            }
            var bits: UInt64 = 0
            for i in 1..<ms.count { bits |= UInt64(bitPattern: (ms[i] &- ms[i - 1]) &- dmin) }
            shift = bits == 0 ? 0 : bits.trailingZeroBitCount
            width = PackedChunk.bitWidth(UInt64(bitPattern: dmax &- dmin) >> UInt64(shift))
        }
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
        var d = Decoder(BitStream(bytes, startByte: 3), scale: scale)
        try InPlaceDecoding.decode(bytes, with: &d, mint: mint, maxt: maxt, into: &out)
    }

    /// Sample 0 reads at most 31 bytes and sample 1 at most 28 (16 of them fields), within the
    /// 40 bytes `InPlaceDecoding` lets a sample read before it switches to the padded copy.
    struct Decoder: InPlaceDecoding.SampleDecoder {
        var s: BitStream
        var t: Int64 = 0
        private var m: Int64 = 0
        private var tmin: UInt64 = 0
        private var twidth = 1
        private var dmin: Int64 = 0
        private var shift: UInt64 = 0
        private var width = 1
        private let scale: DecimalChunk.Scale

        init(_ s: BitStream, scale: DecimalChunk.Scale) {
            self.s = s
            self.scale = scale
        }

        @inline(__always) var sample: Sample { Sample(t: t, v: scale.value(m)) }

        mutating func head(_ i: Int) -> String? {
            if i == 0 {
                if let why = s.firstSample(&t, &m) { return why }
                if let why = s.uvarint(&tmin) { return why }
                twidth = Int(s.read(8))
                if s.consumed > s.endBits { return "truncated header" }
                guard twidth >= 1, twidth <= 64 else { return "bad timestamp width \(twidth)" }
                return nil
            }
            var x: UInt64 = 0
            if let why = s.uvarint(&x) { return why }
            dmin = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
            shift = s.read(8)
            width = Int(s.read(8))
            if s.consumed > s.endBits { return "truncated header" }
            guard shift < 64, width >= 1, width <= 64 else { return "bad shift \(shift) or width \(width)" }
            return next(checked: true)
        }

        @inline(__always) mutating func next(checked: Bool) -> String? {
            let before = s.consumed
            let td = s.read(twidth)
            if checked && s.consumed > s.endBits { return before >= s.endBits ? "truncated sample" : "truncated timestamp" }
            let nt = t &+ Int64(bitPattern: tmin &+ td)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            let v = s.read(width)
            if checked && s.consumed > s.endBits { return "truncated value" }
            m = m &+ dmin &+ Int64(bitPattern: v &<< shift)
            return nil
        }
    }
}
