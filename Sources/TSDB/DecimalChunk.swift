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

    /// Appends the samples with t >= `mint`, stopping after `maxt` (the rest of the chunk is
    /// not decoded), so queries do not build a second array per chunk. On a throw, `out` may
    /// hold a prefix of the chunk's samples.
    static func decode(_ data: [UInt8], mint: Int64 = .min, maxt: Int64, into out: inout [Sample]) throws {
        typealias Err = XORChunk.Iterator.DecodeError
        guard data.count >= 3 else { throw Err(sampleIndex: 0, reason: "decimal chunk shorter than its header") }
        let total = Int(data[0]) << 8 | Int(data[1])
        let e = Int(data[2])
        guard e <= maxExponent else { throw Err(sampleIndex: 0, reason: "decimal exponent \(e) out of range") }
        let p = powers[e]
        var r = XORChunk.BitReader(bytes: data, startByte: 3)
        func uvarint(_ i: Int) throws -> UInt64 {
            var x: UInt64 = 0, shift: UInt64 = 0
            for k in 0..<10 {
                guard let b = r.bits(8) else { throw Err(sampleIndex: i, reason: "truncated varint") }
                if b < 0x80 {
                    if k == 9 && b > 1 { throw Err(sampleIndex: i, reason: "varint overflow") }
                    return x | b << shift
                }
                x |= (b & 0x7f) << shift
                shift += 7
            }
            throw Err(sampleIndex: i, reason: "varint overflow")
        }
        func varint(_ i: Int) throws -> Int64 {
            let u = try uvarint(i)
            return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
        }
        func prefix(_ i: Int) throws -> Int {
            guard let n = r.ones(limit: 4) else { throw Err(sampleIndex: i, reason: "truncated sample") }
            return n
        }
        if out.capacity - out.count < total { out.reserveCapacity(Swift.max(out.count + total, out.capacity * 2)) }
        var t: Int64 = 0, tDelta: UInt64 = 0, m: Int64 = 0, mDelta: Int64 = 0
        for i in 0..<total {
            switch i {
            case 0:
                t = try varint(i)
                m = try varint(i)
            case 1:
                tDelta = try uvarint(i)
                mDelta = try varint(i)
                let nt = t &+ Int64(bitPattern: tDelta)
                guard nt > t else { throw Err(sampleIndex: i, reason: "non-increasing timestamp") }
                t = nt
                m = m &+ mDelta
            default:
                let tp = try prefix(i)
                var dod: Int64 = 0
                let tsz = XORChunk.Iterator.dodBits(tp)
                if tsz > 0 {
                    guard let bits = r.bits(tsz) else { throw Err(sampleIndex: i, reason: "truncated timestamp") }
                    if tsz == 64 { dod = Int64(bitPattern: bits) } else {
                        var d = Int64(bits)
                        if d > 1 << Int64(tsz - 1) { d -= 1 << Int64(tsz) }
                        dod = d
                    }
                }
                tDelta = tDelta &+ UInt64(bitPattern: dod)
                let nt = t &+ Int64(bitPattern: tDelta)
                guard nt > t else { throw Err(sampleIndex: i, reason: "non-increasing timestamp") }
                t = nt
                let mp = try prefix(i)
                let msz = mp == 4 ? 64 : mp == 0 ? 0 : 4 << mp  // 0, 8, 16, 32, 64
                var mdod: Int64 = 0
                if msz > 0 {
                    guard let bits = r.bits(msz) else { throw Err(sampleIndex: i, reason: "truncated value") }
                    if msz == 64 { mdod = Int64(bitPattern: bits) } else {
                        var d = Int64(bits)
                        if d >= 1 << Int64(msz - 1) { d -= 1 << Int64(msz) }
                        mdod = d
                    }
                }
                mDelta = mDelta &+ mdod
                m = m &+ mDelta
            }
            if t > maxt { return }
            if t >= mint { out.append(Sample(t: t, v: Double(m) / p)) }
        }
    }
}
