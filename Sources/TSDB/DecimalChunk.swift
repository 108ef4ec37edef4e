import Storage

/// Block-only chunk encoding for series whose values are exact decimals (counters, byte
/// gauges, percentages with a few digits), in the spirit of VictoriaMetrics' decimal
/// conversion: every value is `m / 10^e` with an integer mantissa `m`, and mantissas are
/// stored as delta-of-delta in variable-width buckets, like timestamps.
///
/// ```
/// u16 BE count | u8 form << 7 | exponent e |
/// sample 0: t varint, m varint (byte-wise in the bit stream)
/// sample 1: t−t0 uvarint, m−m0 varint
/// sample n: timestamp delta-of-delta as TimestampEncoding (the XOR chunk's);
///           mantissa delta-of-delta: '0' | '10'+8 bits | '110'+16 | '1110'+32 | '1111'+64
/// ```
/// Form 0: every value is `m / 10^e` (how exporters divide: ticks / 100, ns / 1e9); form 1:
/// `m × (1 / 10^e)` (how others multiply: ms × 0.001, or round to a quantum `(v / q).rounded() × q`).
/// The two differ in the last bit for about one value in seven, so a chunk of the second kind
/// would otherwise stay XOR. `encode` returns nil unless every value round-trips bit for bit
/// through one of them, so NaN, ±Inf, stale markers and −0 always stay in XOR chunks.
enum DecimalChunk {
    static let maxExponent = 12
    static let powers: [Double] = (0...maxExponent).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }
    /// The doubles nearest to 10^-e (1 / 10^e is correctly rounded): what `× 0.01` multiplies by.
    static let inversePowers: [Double] = powers.map { 1 / $0 }
    /// Bit of the exponent byte that selects form 1.
    static let multiplyForm: UInt8 = 0x80

    @inline(__always) static func mantissa(_ v: Double, _ e: Int, multiply: Bool) -> Int64? {
        guard v.isFinite else { return nil }
        let x = (v * powers[e]).rounded()
        guard abs(x) < 9.0e15 else { return nil }
        let m = Int64(x)
        let back = multiply ? Double(m) * inversePowers[e] : Double(m) / powers[e]
        return back.bitPattern == v.bitPattern ? m : nil
    }

    /// The form-and-exponent byte and the mantissas, if every value is an exact decimal of one
    /// form: division first, smallest exponent first (multiplying by 10^0 is dividing by it).
    static func mantissas<C: Collection>(_ samples: C) -> (header: UInt8, ms: [Int64])? where C.Element == Sample {
        guard !samples.isEmpty, samples.count <= XORChunk.maxSamples else { return nil }
        var ms: [Int64] = []
        ms.reserveCapacity(samples.count)
        for multiply in [false, true] {
            for e in (multiply ? 1 : 0)...maxExponent {
                ms.removeAll(keepingCapacity: true)
                for s in samples {
                    guard let m = mantissa(s.v, e, multiply: multiply) else { break }
                    ms.append(m)
                }
                if ms.count == samples.count { return (UInt8(e) | (multiply ? multiplyForm : 0), ms) }
            }
        }
        return nil
    }

    static func encode<C: Collection>(_ samples: C) -> [UInt8]? where C.Element == Sample {
        guard let (header, ms) = mantissas(samples) else { return nil }
        return encode(samples, header: header, ms: ms)
    }

    static func encode<C: Collection>(_ samples: C, header: UInt8, ms: [Int64]) -> [UInt8] where C.Element == Sample {
        var w = BitWriter(bytes: [UInt8(samples.count >> 8), UInt8(samples.count & 0xff), header])
        func bytes(_ b: ByteWriter) { for x in b.bytes { w.byte(x) } }
        var prevT: Int64 = 0, tDelta: UInt64 = 0
        var prevM: Int64 = 0, mDelta: Int64 = 0
        for (i, s) in samples.enumerated() {
            let m = ms[i]
            switch i {
            case 0:
                var b = ByteWriter(); b.putVarint(s.t); b.putVarint(m); bytes(b)
            case 1:
                tDelta = UInt64(bitPattern: s.t &- prevT)
                mDelta = m &- prevM
                var b = ByteWriter(); b.putUVarint(tDelta); b.putVarint(mDelta); bytes(b)
            default:
                let d = UInt64(bitPattern: s.t &- prevT)
                let dod = Int64(bitPattern: d &- tDelta)
                TimestampEncoding.writeDoD(dod, into: &w)
                tDelta = d
                let md = m &- prevM
                let mdod = md &- mDelta
                if mdod == 0 {
                    w.bit(false)
                } else if signedFits(mdod, 8) {
                    w.bits(0b10, 2); w.bits(UInt64(bitPattern: mdod), 8)
                } else if signedFits(mdod, 16) {
                    w.bits(0b110, 3); w.bits(UInt64(bitPattern: mdod), 16)
                } else if signedFits(mdod, 32) {
                    w.bits(0b1110, 4); w.bits(UInt64(bitPattern: mdod), 32)
                } else {
                    w.bits(0b1111, 4); w.bits(UInt64(bitPattern: mdod), 64)
                }
                mDelta = md
            }
            prevT = s.t
            prevM = m
        }
        return w.bytes
    }

    /// Two's complement range of n bits.
    @inline(__always) static func signedFits(_ x: Int64, _ n: Int) -> Bool {
        x >= -(1 << Int64(n - 1)) && x < 1 << Int64(n - 1)
    }

    static func decode(_ data: [UInt8]) throws -> [Sample] {
        var out: [Sample] = []
        try decode(data, maxt: .max, into: &out)
        return out
    }

    static func decode(_ data: [UInt8], mint: Int64 = .min, maxt: Int64, into out: inout [Sample]) throws {
        try data.withUnsafeBytes { try decode($0, mint: mint, maxt: maxt, into: &out) }
    }

    /// Appends the samples with `mint <= t <= maxt`, stopping at the first sample after `maxt`
    /// (the rest of the chunk is not decoded), reading the chunk in place so block chunks decode
    /// straight from the memory map. Corrupt or truncated input throws
    /// `ChunkDecodeError` naming the sample; `out` then holds a prefix of the window.
    // Out of line for the reason given at `XORChunk.decode`.
    @inline(never)
    static func decode(_ bytes: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        let scale = try Scale(bytes, chunk: "decimal")
        try DoDBuckets.table.withUnsafeBufferPointer { buckets in
            var d = Decoder(BitStream(bytes, startByte: 3), scale: scale, buckets: buckets.baseAddress!)
            try InPlaceDecoding.decode(bytes, with: &d, mint: mint, maxt: maxt, into: &out)
        }
    }

    /// How mantissas become values, from the form-and-exponent byte of a decimal or packed chunk.
    struct Scale {
        let p: Double
        let q: Double
        let multiply: Bool

        init(_ bytes: UnsafeRawBufferPointer, chunk: String) throws {
            guard bytes.count >= 3 else { throw ChunkDecodeError(sampleIndex: 0, reason: "\(chunk) chunk shorter than its header") }
            let e = Int(bytes[2] & ~DecimalChunk.multiplyForm)
            guard e <= DecimalChunk.maxExponent else { throw ChunkDecodeError(sampleIndex: 0, reason: "decimal exponent \(e) out of range") }
            p = DecimalChunk.powers[e]
            q = DecimalChunk.inversePowers[e]
            multiply = bytes[2] & DecimalChunk.multiplyForm != 0
        }

        // The branch is the same for every sample of a chunk, so it is always predicted.
        @inline(__always) func value(_ m: Int64) -> Double { multiply ? Double(m) * q : Double(m) / p }
    }

    /// Decoding state, all in locals of `InPlaceDecoding.run` once inlined. Errors carry the
    /// reasons the format has always given, checked in the same order.
    struct Decoder: InPlaceDecoding.SampleDecoder {
        var s: BitStream
        var t: Int64 = 0
        private var tDelta: UInt64 = 0
        private var m: Int64 = 0
        private var mDelta: Int64 = 0
        private let scale: Scale
        private let buckets: UnsafePointer<UInt16>

        init(_ s: BitStream, scale: Scale, buckets: UnsafePointer<UInt16>) {
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
            mDelta = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
            let nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            m &+= mDelta
            return nil
        }

        /// Bucket prefixes' one-bits are real data (bits past the end read as zeros), so when a
        /// field runs past the end, its prefix was cut off iff the prefix's last bit (the '0',
        /// or the fourth '1') lies past the end too.
        @inline(__always) mutating func next(checked: Bool) -> String? {
            s.refill()
            var before = s.consumed
            var b = s.bucket(buckets, DoDBuckets.timestampRow)
            s.timestampDoD(b, into: &tDelta)
            if checked && s.consumed > s.endBits {
                return before &+ b.prefix > s.endBits ? "truncated sample" : "truncated timestamp"
            }
            let nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt

            // '0' | '10'+8 bits | '110'+16 | '1110'+32 | '1111'+64, two's complement; the small
            // buckets without branches.
            if s.cnt < 36 { s.refill() }
            before = s.consumed
            b = s.bucket(buckets, DoDBuckets.mantissaRow)
            let mdod: Int64
            if b.width == 64 {
                s.skip(4)
                mdod = Int64(bitPattern: s.read(64))
            } else {
                // As for timestamps, shifting by 1 then 63 - width keeps width 0 in range.
                let v = (Int64(bitPattern: s.buf &<< b.prefix) &>> 1) &>> (63 &- b.width)
                mdod = b.width == 0 ? 0 : v
                s.skip(b.prefix &+ b.width)
            }
            if checked && s.consumed > s.endBits {
                return before &+ b.prefix > s.endBits ? "truncated sample" : "truncated value"
            }
            mDelta &+= mdod
            m &+= mDelta
            return nil
        }
    }
}

extension BitStream {
    /// Sample 0 of decimal and packed chunks: t and m as byte-wise zig-zag varints.
    mutating func firstSample(_ t: inout Int64, _ m: inout Int64) -> String? {
        var x: UInt64 = 0
        if let why = uvarint(&x) { return why }
        t = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
        if let why = uvarint(&x) { return why }
        m = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
        return nil
    }
}
