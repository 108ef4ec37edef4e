import Storage

/// Gorilla chunk encoding (the XOR format), bit-compatible in spirit with Prometheus'
/// chunkenc/xor.go; bit I/O in BitStream.swift, timestamps in TimestampEncoding.swift, the
/// fast decode loop in ChunkDecoding.swift, shared with DecimalChunk:
/// a 2-byte big-endian sample count, then the first timestamp as a varint and the first
/// value as 64 raw bits, the second timestamp as a uvarint delta and an XOR value, and from
/// then on delta-of-delta timestamps in 14/17/20/64-bit buckets and XOR values that reuse
/// the previous leading/trailing-zero window when they fit.
///
/// Arithmetic on timestamps wraps, so any Int64 sequence (huge gaps included) round-trips.
struct XORChunk {
    static let maxSamples = Int(UInt16.max)

    /// Writer for one chunk. Value type: the head keeps one per series for the open chunk.
    struct Appender {
        // The head keeps one of these inline in every series, so the small fields come last and
        // pack together (52 bytes instead of 58 with an `Int` count).
        private(set) var w = BitWriter(bytes: [0, 0])
        private(set) var minT: Int64 = 0
        private(set) var maxT: Int64 = 0
        private var tDelta: UInt64 = 0
        private var vBits: UInt64 = 0
        /// At most `maxSamples` (the 2-byte header), so 16 bits hold it.
        private var n: UInt16 = 0
        private var leading: UInt8 = 0xff
        private var trailing: UInt8 = 0

        var count: Int { Int(n) }

        /// The most one sample can add: a 10-byte varint plus 64 value bits for the first one,
        /// at most 9 bytes of timestamp and 10 of value after that.
        static let maxSampleBytes = 20

        init() {}

        /// Reserves the expected final size up front: growing by doubling leaves slack and
        /// freed buffers behind for every one of millions of open chunks.
        init(expectedBytes: Int) {
            var b = [UInt8]()
            b.reserveCapacity(max(2, expectedBytes))
            b.append(0); b.append(0)
            w = BitWriter(bytes: b)
        }

        var bytes: [UInt8] { w.bytes }

        /// Appends a sample; returns false (and changes nothing) when `t` is not after the last
        /// timestamp or the chunk is full, because the encoding only holds increasing timestamps.
        @discardableResult
        mutating func append(_ t: Int64, _ v: Double) -> Bool {
            guard count < XORChunk.maxSamples else { return false }
            reserveForSample()
            let bits = v.bitPattern
            switch count {
            case 0:
                var tmp = ByteWriter()
                tmp.putVarint(t)
                for b in tmp.bytes { w.byte(b) }
                w.bits(bits, 64)
                minT = t
            case 1:
                guard t > maxT else { return false }
                let d = UInt64(bitPattern: t &- maxT)
                var tmp = ByteWriter()
                tmp.putUVarint(d)
                for b in tmp.bytes { w.byte(b) }
                writeValue(bits)
                tDelta = d
            default:
                guard t > maxT else { return false }
                let d = UInt64(bitPattern: t &- maxT)
                let dod = Int64(bitPattern: d &- tDelta)
                TimestampEncoding.writeDoD(dod, into: &w)
                writeValue(bits)
                tDelta = d
            }
            maxT = t
            vBits = bits
            n += 1
            w.bytes[0] = UInt8(n >> 8)
            w.bytes[1] = UInt8(n & 0xff)
            return true
        }

        /// Grows the buffer by a quarter (at least one sample's worst case) instead of letting
        /// `append` double it: an open chunk lives in every series, and doubling left up to half
        /// of each one unused (about a third of the head's heap in the ingest benchmark).
        /// The copies this adds are of a few hundred bytes, a few times per chunk.
        @inline(__always) private mutating func reserveForSample() {
            let have = w.bytes.capacity - w.bytes.count
            if have < Appender.maxSampleBytes {
                w.bytes.reserveCapacity(w.bytes.count + Swift.max(Appender.maxSampleBytes, w.bytes.count / 4))
            }
        }

        private mutating func writeValue(_ bits: UInt64) {
            let delta = bits ^ vBits
            if delta == 0 { w.bit(false); return }
            w.bit(true)
            var lead = UInt8(delta.leadingZeroBitCount)
            let trail = UInt8(delta.trailingZeroBitCount)
            if lead >= 32 { lead = 31 }  // 5 bits
            if leading != 0xff && lead >= leading && trail >= trailing {
                w.bit(false)
                w.bits(delta >> UInt64(trailing), 64 - Int(leading) - Int(trailing))
            } else {
                leading = lead
                trailing = trail
                w.bit(true)
                w.bits(UInt64(lead), 5)
                let sig = 64 - Int(lead) - Int(trail)
                w.bits(UInt64(sig & 63), 6)  // 64 is stored as 0
                w.bits(delta >> UInt64(trail), sig)
            }
        }
    }

    /// Decodes a chunk, the reference for the format (`decode` is the fast path).
    /// Any malformed input throws `ChunkDecodeError`, never a trap.
    struct Iterator {
        private var r: BitReader
        let total: Int
        private(set) var index = 0
        private(set) var t: Int64 = 0
        private(set) var vBits: UInt64 = 0
        private var tDelta: UInt64 = 0
        private var leading: UInt8 = 0
        private var trailing: UInt8 = 0

        init(_ bytes: [UInt8]) throws {
            guard bytes.count >= 2 else { throw ChunkDecodeError(sampleIndex: 0, reason: "chunk shorter than its header") }
            total = Int(bytes[0]) << 8 | Int(bytes[1])
            r = BitReader(bytes: bytes, startByte: 2)
        }

        private func fail(_ why: String) -> ChunkDecodeError { ChunkDecodeError(sampleIndex: index, reason: why) }

        private mutating func uvarintBytes() throws -> UInt64 {
            var x: UInt64 = 0
            var shift: UInt64 = 0
            for i in 0..<10 {
                guard let b = r.bits(8) else { throw fail("truncated varint") }
                if b < 0x80 {
                    if i == 9 && b > 1 { throw fail("varint overflow") }
                    return x | b << shift
                }
                x |= (b & 0x7f) << shift
                shift += 7
            }
            throw fail("varint overflow")
        }

        mutating func next() throws -> Sample? {
            guard index < total else { return nil }
            switch index {
            case 0:
                let u = try uvarintBytes()
                t = Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
                guard let v = r.bits(64) else { throw fail("truncated first value") }
                vBits = v
            case 1:
                tDelta = try uvarintBytes()
                let nt = t &+ Int64(bitPattern: tDelta)
                guard nt > t else { throw fail("non-increasing timestamp") }
                t = nt
                try readValue()
            default:
                guard let prefix = r.ones(limit: 4) else { throw fail("truncated timestamp") }
                var dod: Int64 = 0
                let sz = TimestampEncoding.dodBits(prefix)
                if sz > 0 {
                    guard let bits = r.bits(sz) else { throw fail("truncated timestamp") }
                    if sz == 64 {
                        dod = Int64(bitPattern: bits)
                    } else {
                        var d = Int64(bits)
                        if d > 1 << Int64(sz - 1) { d -= 1 << Int64(sz) }
                        dod = d
                    }
                }
                tDelta = tDelta &+ UInt64(bitPattern: dod)
                let nt = t &+ Int64(bitPattern: tDelta)
                guard nt > t else { throw fail("non-increasing timestamp") }
                t = nt
                try readValue()
            }
            index += 1
            return Sample(t: t, v: Double(bitPattern: vBits))
        }

        private mutating func readValue() throws {
            guard let nonzero = r.bit() else { throw fail("truncated value") }
            if !nonzero { return }
            guard let newWindow = r.bit() else { throw fail("truncated value") }
            if newWindow {
                guard let l = r.bits(5), let s = r.bits(6) else { throw fail("truncated value header") }
                var sig = Int(s)
                if sig == 0 { sig = 64 }
                guard Int(l) + sig <= 64 else { throw fail("invalid value window") }
                leading = UInt8(l)
                trailing = UInt8(64 - Int(l) - sig)
            }
            let sig = 64 - Int(leading) - Int(trailing)
            guard let bits = r.bits(sig) else { throw fail("truncated value bits") }
            vBits ^= sig == 0 ? 0 : bits << UInt64(trailing)
        }
    }

    /// All samples of an encoded chunk.
    static func decode(_ bytes: [UInt8]) throws -> [Sample] {
        var out: [Sample] = []
        try bytes.withUnsafeBytes { try decode($0, mint: .min, maxt: .max, into: &out) }
        return out
    }

    /// Appends, in order, the samples with `mint <= t <= maxt` and stops at the first sample
    /// after `maxt` (the rest of the chunk is not decoded). Reads the chunk in place, so block
    /// chunks decode straight from the memory map. Corrupt or truncated input throws
    /// `ChunkDecodeError` naming the sample; `out` then holds a prefix of the window.
    /// Same results and errors as `Iterator`, which stays the reference for the format.
    // Out of line: one copy, whose register allocation (the loop is register-bound) does not
    // depend on what the caller keeps live.
    @inline(never)
    static func decode(_ bytes: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        guard bytes.count >= 2 else { throw ChunkDecodeError(sampleIndex: 0, reason: "chunk shorter than its header") }
        try DoDBuckets.table.withUnsafeBufferPointer { buckets in
            var d = Decoder(BitStream(bytes, startByte: 2), buckets: buckets.baseAddress!)
            try InPlaceDecoding.decode(bytes, with: &d, mint: mint, maxt: maxt, into: &out)
        }
    }

    /// XOR decoding state, all in locals of `InPlaceDecoding.run` once inlined. The checks run in the
    /// order `Iterator` runs them, so both report the same error for the same bytes.
    struct Decoder: InPlaceDecoding.SampleDecoder {
        var s: BitStream
        var t: Int64 = 0
        private var tDelta: UInt64 = 0
        private var vBits: UInt64 = 0
        /// The value window: significant bits and trailing zeros (leading = 64 - sig - trailing).
        private var sig = 64
        private var trailing = 0
        private let buckets: UnsafePointer<UInt16>

        init(_ s: BitStream, buckets: UnsafePointer<UInt16>) {
            self.s = s
            self.buckets = buckets
        }

        @inline(__always) var sample: Sample { Sample(t: t, v: Double(bitPattern: vBits)) }

        mutating func head(_ i: Int) -> String? {
            if i == 0 {
                var x: UInt64 = 0
                if let why = s.uvarint(&x) { return why }
                t = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
                vBits = s.read(64)
                return s.consumed > s.endBits ? "truncated first value" : nil
            }
            if let why = s.uvarint(&tDelta) { return why }
            let nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            return value(checked: true)
        }

        @inline(__always) mutating func next(checked: Bool) -> String? {
            s.refill()
            s.timestampDoD(s.bucket(buckets, DoDBuckets.timestampRow), into: &tDelta)
            if checked && s.consumed > s.endBits { return "truncated timestamp" }
            let nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return "non-increasing timestamp" }
            t = nt
            return value(checked: checked)
        }

        /// '0' repeats the previous value, '10' + `sig` bits reuses the window, '11' + 5 bits
        /// leading zeros + 6 bits significant bits (0 meaning 64) + the bits opens a new one.
        @inline(__always) private mutating func value(checked: Bool) -> String? {
            checked ? valueChecked() : valueUnchecked()
        }

        /// `value` near the end of the chunk: every field is checked against the end, in the
        /// order `Iterator` reads them.
        @inline(__always) private mutating func valueChecked() -> String? {
            if s.cnt < 13 { s.refill() }
            let top2 = s.buf &>> 62
            if top2 < 2 {
                s.skip(1)
                return s.consumed > s.endBits ? "truncated value" : nil
            }
            if top2 == 2 {
                s.skip(2)
                if s.consumed > s.endBits { return "truncated value" }
            } else {
                // Both control bits are ones, so real data: only the header can be cut off.
                let l = Int(truncatingIfNeeded: (s.buf &>> 57) & 31)
                var w = Int(truncatingIfNeeded: (s.buf &>> 51) & 63)
                s.skip(13)
                if s.consumed > s.endBits { return "truncated value header" }
                if w == 0 { w = 64 }
                guard l &+ w <= 64 else { return "invalid value window" }
                sig = w
                trailing = 64 &- l &- w
            }
            // sig is in 1...64, trailing in 0...63.
            let bits = s.read(sig)
            if s.consumed > s.endBits { return "truncated value bits" }
            vBits ^= bits &<< trailing
            return nil
        }

        /// `value` where the chunk cannot end, so the only error is a bad window. Needs 13 bits
        /// in `buf` (after a timestamp there are at least 32).
        @inline(__always) private mutating func valueUnchecked() -> String? {
            if s.cnt < 13 { s.refill() }
            // The control bits come from `buf` as it is; the refill for the value bits goes
            // alongside instead of after them in the dependency chain.
            let head = s.buf
            s.refill()
            let top2 = head &>> 62
            if top2 < 2 {
                s.skip(1)
                return nil
            }
            if top2 == 2 {
                s.skip(2)
            } else {
                let l = Int(truncatingIfNeeded: (head &>> 57) & 31)
                var w = Int(truncatingIfNeeded: (head &>> 51) & 63)
                w = w == 0 ? 64 : w
                if l &+ w > 64 { return "invalid value window" }
                sig = w
                trailing = 64 &- l &- w
                s.skip(13)
            }
            // sig is in 1...64, trailing in 0...63.
            let bits = s.read(sig)
            vBits ^= bits &<< trailing
            return nil
        }
    }

    /// Encodes samples that are strictly increasing in time (callers dedupe first).
    static func encode<S: Sequence>(_ samples: S) -> [UInt8] where S.Element == Sample {
        var a = Appender()
        for s in samples { a.append(s.t, s.v) }
        return a.bytes
    }
}
