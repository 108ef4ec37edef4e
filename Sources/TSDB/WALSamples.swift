/// The body of a compressed samples record (`WALRecordType.samplesV2`), before the codec:
/// samples grouped into runs of one series, stored as three columns so that each column's
/// regularity (the same scrape time in every series, refs counting up, a series' values moving
/// little from one sample to the next) becomes repeated bytes for the compressor.
///
/// ```
/// nRuns uvarint | len(R) uvarint | len(T) uvarint | R | T | V
/// R, per run: ref − previous run's ref varint, count − 1 uvarint, mode u8,
///             shift u8 (decimal modes with count > 1 only)
/// T, per run: t0 − previous run's t0 varint; t1 − t0 varint; then (tᵢ − tᵢ₋₁) − (tᵢ₋₁ − tᵢ₋₂) varint
/// V, per run: decimal modes: m0 varint, then (mᵢ − mᵢ₋₁) >> shift varint
///             raw mode: v0 u64 LE, then per value x = bits(vᵢ) ^ bits(vᵢ₋₁) as
///             u8 (leading zero bytes << 4 | trailing zero bytes) and the bytes between,
///             least significant first; 0x88 alone for x = 0
/// mode: e (0…12): vᵢ = mᵢ / 10^e;  0x40 | e: vᵢ = mᵢ × (1 / 10^e);  0x80: raw bits
/// ```
/// Decimal modes are chosen only when every value of the run round-trips bit for bit, so NaN,
/// stale markers, ±Inf and −0 go raw. Arithmetic on t and m wraps, so any Int64 round-trips.
enum WALSamples {
    static let rawMode: UInt8 = 0x80
    static let multiply: UInt8 = 0x40
    static let zeroXOR: UInt8 = 0x88

    // MARK: Encoding

    struct Encoder {
        private var runs = ByteWriter()
        private var times = ByteWriter()
        private var values = ByteWriter()
        private var nRuns = 0
        private var prevRef: UInt64 = 0
        private var prevT0: Int64 = 0
        // The run being collected.
        private var ref: UInt64 = 0
        private var ts: [Int64] = []
        private var vs: [Double] = []
        private var ms: [Int64] = []

        init(capacity: Int = 0) {
            values = ByteWriter(capacity: capacity * 3)
            ts.reserveCapacity(64)
            vs.reserveCapacity(64)
        }

        var isEmpty: Bool { nRuns == 0 && ts.isEmpty }

        mutating func add(_ ref: UInt64, _ t: Int64, _ v: Double) {
            if ref != self.ref || ts.isEmpty { flushRun(); self.ref = ref }
            ts.append(t)
            vs.append(v)
        }

        /// The record's payload: `codec u8 | body`.
        mutating func finish() -> [UInt8] {
            flushRun()
            var w = ByteWriter(capacity: runs.count + times.count + values.count + 16)
            w.putUVarint(UInt64(nRuns))
            w.putUVarint(UInt64(runs.count))
            w.putUVarint(UInt64(times.count))
            w.putBytes(runs.bytes)
            w.putBytes(times.bytes)
            w.putBytes(values.bytes)
            return WALCodec.pack(w.bytes)
        }

        private mutating func flushRun() {
            guard !ts.isEmpty else { return }
            nRuns += 1
            runs.putVarint(Int64(bitPattern: ref &- prevRef))
            prevRef = ref
            runs.putUVarint(UInt64(ts.count - 1))

            times.putVarint(ts[0] &- prevT0)
            prevT0 = ts[0]
            if ts.count > 1 {
                var d = ts[1] &- ts[0]
                times.putVarint(d)
                for i in 2..<ts.count {
                    let nd = ts[i] &- ts[i - 1]
                    times.putVarint(nd &- d)
                    d = nd
                }
            }

            if let mode = decimalMode() {
                runs.putByte(mode)
                var shift = 0
                if ms.count > 1 {
                    var bits: Int64 = 0
                    for i in 1..<ms.count { bits |= ms[i] &- ms[i - 1] }
                    shift = bits == 0 ? 0 : bits.trailingZeroBitCount
                    runs.putByte(UInt8(shift))
                }
                values.putVarint(ms[0])
                for i in ms.indices.dropFirst() { values.putVarint((ms[i] &- ms[i - 1]) >> shift) }
            } else {
                runs.putByte(WALSamples.rawMode)
                var prev = vs[0].bitPattern
                values.putLE64(prev)
                for v in vs.dropFirst() {
                    let x = v.bitPattern ^ prev
                    prev = v.bitPattern
                    if x == 0 { values.putByte(WALSamples.zeroXOR); continue }
                    let lead = x.leadingZeroBitCount / 8, trail = x.trailingZeroBitCount / 8
                    values.putByte(UInt8(lead << 4 | trail))
                    var y = x >> (8 * trail)
                    for _ in 0..<(8 - lead - trail) { values.putByte(UInt8(truncatingIfNeeded: y)); y >>= 8 }
                }
            }
            ts.removeAll(keepingCapacity: true)
            vs.removeAll(keepingCapacity: true)
        }

        /// The smallest exponent, division form first (how exporters compute decimals), under
        /// which every value of the run is an exact decimal; fills `ms`.
        private mutating func decimalMode() -> UInt8? {
            for e in 0...DecimalChunk.maxExponent {
                if fill(e, multiply: false) { return UInt8(e) }
            }
            for e in 1...DecimalChunk.maxExponent {
                if fill(e, multiply: true) { return WALSamples.multiply | UInt8(e) }
            }
            return nil
        }

        private mutating func fill(_ e: Int, multiply: Bool) -> Bool {
            ms.removeAll(keepingCapacity: true)
            for v in vs {
                guard let m = DecimalChunk.mantissa(v, e, multiply: multiply) else { return false }
                ms.append(m)
            }
            return true
        }
    }

    // MARK: Decoding

    /// Decodes a body (after the codec); every inconsistency is a `TSDBError.corruption` naming
    /// `file` and the offset of the record, with the position inside the body in the reason.
    static func decode(_ body: [UInt8], file: String, offset: Int) throws -> [(ref: UInt64, t: Int64, v: Double)] {
        do {
            return try body.withUnsafeBytes { raw in try decode(raw) }
        } catch let TSDBError.corruption(_, at, why) {
            throw TSDBError.corruption(file: file, offset: offset, reason: "samples record, decoded byte \(at): \(why)")
        }
    }

    private static func decode(_ raw: UnsafeRawBufferPointer) throws -> [(ref: UInt64, t: Int64, v: Double)] {
        var h = ByteReader(raw, file: "")
        let nRuns = try h.count(limit: raw.count)
        let lenR = try h.count(limit: h.remaining)
        let lenT = try h.count(limit: h.remaining - lenR)
        var r = ByteReader(raw, file: "", start: h.pos, end: h.pos + lenR)
        var tr = ByteReader(raw, file: "", start: h.pos + lenR, end: h.pos + lenR + lenT)
        var vr = ByteReader(raw, file: "", start: h.pos + lenR + lenT)
        var out: [(ref: UInt64, t: Int64, v: Double)] = []
        // Every value takes at least one byte of V, which bounds what a damaged count can allocate.
        out.reserveCapacity(min(vr.remaining, 1 << 20))
        var ref: UInt64 = 0, t0: Int64 = 0
        for _ in 0..<nRuns {
            ref = ref &+ UInt64(bitPattern: try r.varint())
            let count = try r.count(limit: vr.remaining - 1) + 1
            let mode = try r.byte()
            t0 = t0 &+ (try tr.varint())
            var t = t0, d: Int64 = 0
            func nextT(_ i: Int) throws -> Int64 {
                if i == 0 { return t0 }
                let x = try tr.varint()
                d = i == 1 ? x : d &+ x
                t = t &+ d
                return t
            }
            if mode == rawMode {
                var bits = try vr.le64()
                out.append((ref, try nextT(0), Double(bitPattern: bits)))
                for i in 1..<count {
                    let c = try vr.byte()
                    if c != zeroXOR {
                        let lead = Int(c >> 4), trail = Int(c & 0x0f)
                        guard lead + trail <= 7 else { throw vr.fail("bad XOR control byte \(c)") }
                        var x: UInt64 = 0
                        for k in 0..<(8 - lead - trail) { x |= UInt64(try vr.byte()) << (8 * k) }
                        bits ^= x << (8 * trail)
                    }
                    out.append((ref, try nextT(i), Double(bitPattern: bits)))
                }
            } else {
                let e = Int(mode & ~multiply)
                guard mode & ~(multiply | 0x0f) == 0, e <= DecimalChunk.maxExponent else { throw r.fail("bad value mode \(mode)") }
                let shift = count > 1 ? Int(try r.byte()) : 0
                guard shift < 64 else { throw r.fail("bad shift \(shift)") }
                let p = DecimalChunk.powers[e], q = DecimalChunk.inversePowers[e], mul = mode & multiply != 0
                var m = try vr.varint()
                for i in 0..<count {
                    if i > 0 { m = m &+ ((try vr.varint()) << shift) }
                    out.append((ref, try nextT(i), mul ? Double(m) * q : Double(m) / p))
                }
            }
        }
        guard r.isAtEnd, tr.isAtEnd, vr.isAtEnd else { throw h.fail("trailing bytes after \(nRuns) runs") }
        return out
    }
}
