import Storage

/// Block-only chunk encoding for series whose values are exact decimals (counters, byte
/// gauges, percentages with a few digits), in the spirit of VictoriaMetrics' decimal
/// conversion: every value is `m / 10^e` with an integer mantissa `m`, and mantissas are
/// stored as delta-of-delta in variable-width buckets, like timestamps.
///
/// ```
/// u16 BE count | u8 exponent e |
/// sample 0: t varint, m varint (byte-wise in the bit stream)
/// sample 1: t−t0 uvarint, m−m0 varint
/// sample n: timestamp delta-of-delta exactly as XORChunk;
///           mantissa delta-of-delta: '0' | '10'+8 bits | '110'+16 | '1110'+32 | '1111'+64
/// ```
/// `encode` returns nil unless every value round-trips bit for bit through `m / 10^e`, so NaN,
/// ±Inf, stale markers and −0 always stay in XOR chunks.
enum DecimalChunk {
    static let maxExponent = 12
    static let powers: [Double] = (0...maxExponent).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    @inline(__always) static func mantissa(_ v: Double, _ p: Double) -> Int64? {
        guard v.isFinite else { return nil }
        let x = (v * p).rounded()
        guard abs(x) < 9.0e15 else { return nil }
        let m = Int64(x)
        return (Double(m) / p).bitPattern == v.bitPattern ? m : nil
    }

    static func encode<C: Collection>(_ samples: C) -> [UInt8]? where C.Element == Sample {
        guard !samples.isEmpty, samples.count <= XORChunk.maxSamples else { return nil }
        var exp = -1
        var ms: [Int64] = []
        ms.reserveCapacity(samples.count)
        for e in 0...maxExponent {
            ms.removeAll(keepingCapacity: true)
            let p = powers[e]
            for s in samples {
                guard let m = mantissa(s.v, p) else { break }
                ms.append(m)
            }
            if ms.count == samples.count { exp = e; break }
        }
        guard exp >= 0 else { return nil }

        var w = XORChunk.BitWriter(bytes: [UInt8(samples.count >> 8), UInt8(samples.count & 0xff), UInt8(exp)])
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
                if dod == 0 {
                    w.bit(false)
                } else if XORChunk.Appender.fits(dod, 14) {
                    w.bits(0b10, 2); w.bits(UInt64(bitPattern: dod), 14)
                } else if XORChunk.Appender.fits(dod, 17) {
                    w.bits(0b110, 3); w.bits(UInt64(bitPattern: dod), 17)
                } else if XORChunk.Appender.fits(dod, 20) {
                    w.bits(0b1110, 4); w.bits(UInt64(bitPattern: dod), 20)
                } else {
                    w.bits(0b1111, 4); w.bits(UInt64(bitPattern: dod), 64)
                }
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
    /// `XORChunk.Iterator.DecodeError` naming the sample; `out` then holds a prefix of the window.
    static func decode(_ bytes: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        typealias Err = XORChunk.Iterator.DecodeError
        guard bytes.count >= 3 else { throw Err(sampleIndex: 0, reason: "decimal chunk shorter than its header") }
        let e = Int(bytes[2])
        guard e <= maxExponent else { throw Err(sampleIndex: 0, reason: "decimal exponent \(e) out of range") }
        let p = powers[e]
        try XORChunk.BitPeeker.decodeInPlace(bytes, into: &out) { r, total, room, dst, written in
            decodeSamples(r, total: total, room: room, divisor: p, mint: mint, maxt: maxt, dst: dst, written: &written)
        }
    }

    /// The decoding loop, all state in locals; errors are returned (with the reasons the
    /// format has always given) so the common path carries no error plumbing.
    private static func decodeSamples(_ r: XORChunk.BitPeeker, total: Int, room: Int, divisor p: Double, mint: Int64, maxt: Int64,
                                      dst: UnsafeMutablePointer<Sample>, written: inout Int) -> XORChunk.Iterator.DecodeError? {
        typealias Err = XORChunk.Iterator.DecodeError
        let end = r.endBits
        var bp = 24
        var n = 0
        defer { written = n }
        var x: UInt64 = 0
        if let why = r.uvarint(&bp, &x) { return Err(sampleIndex: 0, reason: why) }
        var t = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
        if let why = r.uvarint(&bp, &x) { return Err(sampleIndex: 0, reason: why) }
        var m = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
        if t > maxt { return nil }
        if t >= mint { dst[n] = Sample(t: t, v: Double(m) / p); n += 1 }
        if room < 2 { return room < total ? Err(sampleIndex: room, reason: "sample count exceeds the chunk's size") : nil }

        var tDelta: UInt64 = 0
        if let why = r.uvarint(&bp, &tDelta) { return Err(sampleIndex: 1, reason: why) }
        if let why = r.uvarint(&bp, &x) { return Err(sampleIndex: 1, reason: why) }
        var mDelta = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
        var nt = t &+ Int64(bitPattern: tDelta)
        guard nt > t else { return Err(sampleIndex: 1, reason: "non-increasing timestamp") }
        t = nt
        m &+= mDelta
        if t > maxt { return nil }
        if t >= mint { dst[n] = Sample(t: t, v: Double(m) / p); n += 1 }

        var i = 2
        while i < room {
            // Bucket prefixes' one-bits are real data (padding past the end reads as zeros), so
            // a prefix is complete when its length fits.
            var w = r.peek(bp)
            if w >> 63 == 0 {
                bp &+= 1
                if bp > end { return Err(sampleIndex: i, reason: "truncated sample") }
            } else {
                let k = Swift.min((~w).leadingZeroBitCount, 4)
                var dod: Int64
                if k < 4 {
                    if bp &+ k &+ 1 > end { return Err(sampleIndex: i, reason: "truncated sample") }
                    let sz = 11 &+ 3 &* k  // 14, 17, 20
                    dod = Int64(bitPattern: (w &<< UInt64(k &+ 1)) &>> UInt64(64 &- sz))
                    if dod > 1 &<< Int64(sz &- 1) { dod &-= 1 &<< Int64(sz) }
                    bp &+= k &+ 1 &+ sz
                } else {
                    if bp &+ 4 > end { return Err(sampleIndex: i, reason: "truncated sample") }
                    dod = Int64(bitPattern: r.peek(bp &+ 4))
                    bp &+= 68
                }
                if bp > end { return Err(sampleIndex: i, reason: "truncated timestamp") }
                tDelta &+= UInt64(bitPattern: dod)
            }
            nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return Err(sampleIndex: i, reason: "non-increasing timestamp") }
            t = nt

            w = r.peek(bp)
            if w >> 63 == 0 {
                bp &+= 1
                if bp > end { return Err(sampleIndex: i, reason: "truncated sample") }
            } else {
                // '10' +8 bits, '110' +16, '1110' +32, '1111' +64, two's complement.
                let k = Swift.min((~w).leadingZeroBitCount, 4)
                var mdod: Int64
                if k < 4 {
                    if bp &+ k &+ 1 > end { return Err(sampleIndex: i, reason: "truncated sample") }
                    let sz = 4 &<< k  // 8, 16, 32
                    mdod = Int64(bitPattern: w &<< UInt64(k &+ 1)) &>> Int64(64 &- sz)
                    bp &+= k &+ 1 &+ sz
                } else {
                    if bp &+ 4 > end { return Err(sampleIndex: i, reason: "truncated sample") }
                    mdod = Int64(bitPattern: r.peek(bp &+ 4))
                    bp &+= 68
                }
                if bp > end { return Err(sampleIndex: i, reason: "truncated value") }
                mDelta &+= mdod
            }
            m &+= mDelta
            if t > maxt { return nil }
            if t >= mint { dst[n] = Sample(t: t, v: Double(m) / p); n &+= 1 }
            i &+= 1
        }
        return room < total ? Err(sampleIndex: room, reason: "sample count exceeds the chunk's size") : nil
    }
}
