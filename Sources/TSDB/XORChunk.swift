import Storage

/// Gorilla chunk encoding, bit-compatible in spirit with Prometheus' chunkenc/xor.go:
/// a 2-byte big-endian sample count, then the first timestamp as a varint and the first
/// value as 64 raw bits, the second timestamp as a uvarint delta and an XOR value, and from
/// then on delta-of-delta timestamps in 14/17/20/64-bit buckets and XOR values that reuse
/// the previous leading/trailing-zero window when they fit.
///
/// Arithmetic on timestamps wraps, so any Int64 sequence (huge gaps included) round-trips.
struct XORChunk {
    static let maxSamples = Int(UInt16.max)

    /// Bits written MSB first into bytes; `free` is the number of unused low bits in the last byte.
    struct BitWriter {
        var bytes: [UInt8]
        var free: Int = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        @inline(__always) mutating func bit(_ b: Bool) {
            if free == 0 { bytes.append(0); free = 8 }
            if b { bytes[bytes.count - 1] |= 1 << UInt8(free - 1) }
            free -= 1
        }

        @inline(__always) mutating func byte(_ b: UInt8) {
            if free == 0 { bytes.append(b); return }
            bytes[bytes.count - 1] |= b >> UInt8(8 - free)
            bytes.append(b << UInt8(free))
        }

        /// Writes the low `n` bits of `u` (n in 0...64).
        /// Fills the free bits of the last byte, then whole bytes, then the rest: at most
        /// nine steps for 64 bits.
        mutating func bits(_ u: UInt64, _ n: Int) {
            var n = n
            while n > 0 {
                if free == 0 { bytes.append(0); free = 8 }
                let take = Swift.min(free, n)
                let part = UInt8(truncatingIfNeeded: (u >> UInt64(n - take)) & ((1 << UInt64(take)) - 1))
                bytes[bytes.count - 1] |= part << UInt8(free - take)
                free -= take
                n -= take
            }
        }
    }

    /// Reads the stream 64 bits at a time, as Prometheus' bstreamReader does: `buf` holds the
    /// next `valid` unread bits in its low bits (MSB first) and is refilled with one big-endian
    /// 8-byte load, or byte by byte for the last < 8 bytes so nothing past the end is read.
    /// The hot path (`bits`/`bit` while `valid` suffices) is shifts on a register; the array is
    /// touched only by a refill, through an unsafe buffer, after an explicit bounds check.
    /// Returns nil when the chunk ends before `n` bits (the state is then unspecified:
    /// callers stop at the first nil).
    struct BitReader {
        let bytes: [UInt8]
        /// Index of the first byte not yet loaded into `buf`.
        private var next: Int
        private var buf: UInt64 = 0
        private var valid: Int = 0

        init(bytes: [UInt8], startByte: Int) {
            self.bytes = bytes
            next = Swift.min(Swift.max(startByte, 0), bytes.count)
        }

        /// Mask of the low `n` bits, n in 0...64.
        @inline(__always) static func mask(_ n: Int) -> UInt64 { n == 0 ? 0 : UInt64.max &>> UInt64(64 - n) }

        /// Replaces `buf` with the next up to 64 bits; false at the end of the chunk.
        @inline(__always) private mutating func refill() -> Bool {
            let left = bytes.count - next
            if left <= 0 { return false }
            let start = next
            if left >= 8 {
                buf = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
                next += 8
                valid = 64
            } else {
                buf = bytes.withUnsafeBufferPointer { p in
                    var x: UInt64 = 0
                    for i in start..<start + left { x = x &<< 8 | UInt64(p[i]) }
                    return x
                }
                next += left
                valid = left * 8
            }
            return true
        }

        @inline(__always) mutating func bit() -> Bool? {
            if valid == 0 { guard refill() else { return nil } }
            valid -= 1
            return (buf &>> UInt64(valid)) & 1 == 1
        }

        /// Counts one-bits up to the first zero or `limit` ones (limit in 1...8), consuming
        /// them and the zero: the '0' / '10' / '110' / '1110' / '1111' bucket prefixes.
        @inline(__always) mutating func ones(limit: Int) -> Int? {
            if valid >= limit {
                let field = (buf &>> UInt64(valid - limit)) &<< UInt64(64 - limit)
                let k = Swift.min((~field).leadingZeroBitCount, limit)
                valid -= k == limit ? limit : k + 1
                return k
            }
            var k = 0
            while k < limit {
                guard let b = bit() else { return nil }
                if !b { break }
                k += 1
            }
            return k
        }

        /// Reads `n` bits (n in 0...64) as an unsigned integer.
        @inline(__always) mutating func bits(_ n: Int) -> UInt64? {
            guard n >= 0 && n <= 64 else { return nil }
            if n <= valid {
                valid -= n
                return (buf >> UInt64(valid)) & Self.mask(n)
            }
            return bitsAcrossRefill(n)
        }

        /// `n` > `valid`: the rest of `buf` becomes the high part, the next word the low part.
        private mutating func bitsAcrossRefill(_ n: Int) -> UInt64? {
            let high = buf & Self.mask(valid)
            let need = n - valid
            valid = 0
            guard refill(), need <= valid else { return nil }
            valid -= need
            let low = (buf >> UInt64(valid)) & Self.mask(need)
            // need is in 1...64; a shift by 64 yields 0 (and `high` is then 0 anyway).
            return (high << UInt64(need)) | low
        }
    }

    /// Writer for one chunk. Value type: the head keeps one per series for the open chunk.
    struct Appender {
        private(set) var w = BitWriter(bytes: [0, 0])
        private(set) var count = 0
        private(set) var minT: Int64 = 0
        private(set) var maxT: Int64 = 0
        private var tDelta: UInt64 = 0
        private var vBits: UInt64 = 0
        private var leading: UInt8 = 0xff
        private var trailing: UInt8 = 0

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
                if dod == 0 {
                    w.bit(false)
                } else if Self.fits(dod, 14) {
                    w.bits(0b10, 2); w.bits(UInt64(bitPattern: dod), 14)
                } else if Self.fits(dod, 17) {
                    w.bits(0b110, 3); w.bits(UInt64(bitPattern: dod), 17)
                } else if Self.fits(dod, 20) {
                    w.bits(0b1110, 4); w.bits(UInt64(bitPattern: dod), 20)
                } else {
                    w.bits(0b1111, 4); w.bits(UInt64(bitPattern: dod), 64)
                }
                writeValue(bits)
                tDelta = d
            }
            maxT = t
            vBits = bits
            count += 1
            w.bytes[0] = UInt8(count >> 8)
            w.bytes[1] = UInt8(count & 0xff)
            return true
        }

        /// Same ranges as Prometheus' bitRange: (-2^(n-1), 2^(n-1)].
        @inline(__always) static func fits(_ x: Int64, _ n: Int) -> Bool {
            -((1 << Int64(n - 1)) - 1) <= x && x <= 1 << Int64(n - 1)
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

    /// Decodes a chunk. Any malformed input throws `DecodeError`, never a trap.
    struct Iterator {
        struct DecodeError: Error { let sampleIndex: Int; let reason: String }

        private var r: BitReader
        let total: Int
        private(set) var index = 0
        private(set) var t: Int64 = 0
        private(set) var vBits: UInt64 = 0
        private var tDelta: UInt64 = 0
        private var leading: UInt8 = 0
        private var trailing: UInt8 = 0

        init(_ bytes: [UInt8]) throws {
            guard bytes.count >= 2 else { throw DecodeError(sampleIndex: 0, reason: "chunk shorter than its header") }
            total = Int(bytes[0]) << 8 | Int(bytes[1])
            r = BitReader(bytes: bytes, startByte: 2)
        }

        /// Width of a timestamp delta-of-delta after a prefix of `ones` one-bits (0...4).
        @inline(__always) static func dodBits(_ ones: Int) -> Int {
            switch ones {
            case 0: 0
            case 1: 14
            case 2: 17
            case 3: 20
            default: 64
            }
        }

        private func fail(_ why: String) -> DecodeError { DecodeError(sampleIndex: index, reason: why) }

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
                let sz = Self.dodBits(prefix)
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
    /// `Iterator.DecodeError` naming the sample; `out` then holds a prefix of the window.
    /// Same results and errors as `Iterator`, which stays the reference for the format.
    static func decode(_ bytes: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        guard bytes.count >= 2 else { throw Iterator.DecodeError(sampleIndex: 0, reason: "chunk shorter than its header") }
        try BitPeeker.decodeInPlace(bytes, into: &out) { r, total, room, dst, written in
            decodeSamples(r, total: total, room: room, mint: mint, maxt: maxt, dst: dst, written: &written)
        }
    }

    /// The XOR decoding loop: all state in locals, one or two peeks per sample, errors
    /// returned rather than thrown so the common path carries no error plumbing.
    private static func decodeSamples(_ r: BitPeeker, total: Int, room: Int, mint: Int64, maxt: Int64,
                                      dst: UnsafeMutablePointer<Sample>, written: inout Int) -> Iterator.DecodeError? {
        typealias Err = Iterator.DecodeError
        let end = r.endBits
        var bp = 16
        var n = 0
        defer { written = n }
        var x: UInt64 = 0
        if let why = r.uvarint(&bp, &x) { return Err(sampleIndex: 0, reason: why) }
        var t = Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)
        var vBits = r.peek(bp)
        bp += 64
        if bp > end { return Err(sampleIndex: 0, reason: "truncated first value") }
        if t > maxt { return nil }
        if t >= mint { dst[n] = Sample(t: t, v: Double(bitPattern: vBits)); n += 1 }
        if room < 2 { return room < total ? Err(sampleIndex: room, reason: "sample count exceeds the chunk's size") : nil }

        var tDelta: UInt64 = 0
        if let why = r.uvarint(&bp, &tDelta) { return Err(sampleIndex: 1, reason: why) }
        var nt = t &+ Int64(bitPattern: tDelta)
        guard nt > t else { return Err(sampleIndex: 1, reason: "non-increasing timestamp") }
        t = nt
        // The value window: significant bits and trailing zeros (leading = 64 - sig - trailing).
        var sig = 64, trailing = 0
        if let why = r.xorValue(&bp, &vBits, &sig, &trailing) { return Err(sampleIndex: 1, reason: why) }
        if t > maxt { return nil }
        if t >= mint { dst[n] = Sample(t: t, v: Double(bitPattern: vBits)); n += 1 }

        var i = 2
        while i < room {
            let w = r.peek(bp)
            if w >> 63 == 0 {
                bp &+= 1
            } else {
                // '10' +14 bits, '110' +17, '1110' +20, '1111' +64; the one-bits are real data
                // (padding past the end reads as zeros), so only the total length needs a check.
                let k = Swift.min((~w).leadingZeroBitCount, 4)
                var dod: Int64
                if k < 4 {
                    let sz = 11 &+ 3 &* k
                    dod = Int64(bitPattern: (w &<< UInt64(k &+ 1)) &>> UInt64(64 &- sz))
                    if dod > 1 &<< Int64(sz &- 1) { dod &-= 1 &<< Int64(sz) }
                    bp &+= k &+ 1 &+ sz
                } else {
                    dod = Int64(bitPattern: r.peek(bp &+ 4))
                    bp &+= 68
                }
                tDelta &+= UInt64(bitPattern: dod)
            }
            if bp > end { return Err(sampleIndex: i, reason: "truncated timestamp") }
            nt = t &+ Int64(bitPattern: tDelta)
            guard nt > t else { return Err(sampleIndex: i, reason: "non-increasing timestamp") }
            t = nt
            if let why = r.xorValue(&bp, &vBits, &sig, &trailing) { return Err(sampleIndex: i, reason: why) }
            if t > maxt { return nil }
            if t >= mint { dst[n] = Sample(t: t, v: Double(bitPattern: vBits)); n &+= 1 }
            i &+= 1
        }
        return room < total ? Err(sampleIndex: room, reason: "sample count exceeds the chunk's size") : nil
    }

    /// Big-endian bit peeks at any bit position of a chunk in place, never touching memory
    /// outside it: a peek returns the 64 bits from bit `bp` on, from one unaligned 8-byte load
    /// plus the ninth byte for the bits the shift brings in. Within 9 bytes of the end it loads
    /// from a zero-padded copy of the last bytes instead, so bits past the end read as zeros
    /// and decoders find truncation by comparing their position with `endBits` after a field.
    struct BitPeeker {
        let base: UnsafeRawPointer
        /// Byte offsets below this have 9 chunk bytes from there on.
        let fastEnd: Int
        /// 32 bytes: the chunk's bytes from `tailStart` to the end, then zeros.
        let tail: UnsafeRawPointer
        let tailStart: Int
        let endBits: Int

        @inline(__always) func peek(_ bp: Int) -> UInt64 {
            let i = bp &>> 3
            // Past the tail copy everything is padding; clamping keeps the load inside it.
            let p = i < fastEnd ? base + i : tail + Swift.min(i &- tailStart, 23)
            let w = UInt64(bigEndian: p.loadUnaligned(as: UInt64.self))
            let b = UInt64(p.load(fromByteOffset: 8, as: UInt8.self))
            let s = UInt64(truncatingIfNeeded: bp & 7)
            return w &<< s | b &>> (8 &- s)
        }

        /// A byte-wise uvarint (as in the first two samples); returns why it failed, or nil.
        @inline(__always) func uvarint(_ bp: inout Int, _ x: inout UInt64) -> String? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            for k in 0..<10 {
                let b = peek(bp) &>> 56
                bp += 8
                if bp > endBits { return "truncated varint" }
                if b < 0x80 {
                    if k == 9 && b > 1 { return "varint overflow" }
                    x = v | b &<< shift
                    return nil
                }
                v |= (b & 0x7f) &<< shift
                shift += 7
            }
            return "varint overflow"
        }

        /// One XOR value: '0' repeats the previous value, '10' + `sig` bits reuses the window,
        /// '11' + 5 bits leading zeros + 6 bits significant bits (0 meaning 64) + the bits opens
        /// a new one. Returns why it failed (the reasons `Iterator` gives), or nil.
        @inline(__always) func xorValue(_ bp: inout Int, _ vBits: inout UInt64, _ sig: inout Int, _ trailing: inout Int) -> String? {
            let w = peek(bp)
            if w >> 63 == 0 {
                bp &+= 1
                return bp > endBits ? "truncated value" : nil
            }
            if w & (1 << 62) == 0 {
                bp &+= 2
                if bp > endBits { return "truncated value" }
            } else {
                bp &+= 13
                if bp > endBits { return "truncated value header" }
                let l = Int(truncatingIfNeeded: (w &>> 57) & 31)
                var s = Int(truncatingIfNeeded: (w &>> 51) & 63)
                if s == 0 { s = 64 }
                guard l &+ s <= 64 else { return "invalid value window" }
                sig = s
                trailing = 64 &- l &- s
            }
            // sig is in 1...64, trailing in 0...63.
            let bits = peek(bp) &>> UInt64(64 &- sig)
            bp &+= sig
            if bp > endBits { return "truncated value bits" }
            vBits ^= bits &<< UInt64(trailing)
            return nil
        }

        /// Sets up a peeker over `bytes` (which start with the big-endian u16 sample count) and
        /// runs `body` with room for the chunk's samples written straight into `out`'s storage.
        /// `body` gets the sample count, how many samples it may write (fewer than the count
        /// only for a corrupt header: every sample takes at least two bits, so no more fit),
        /// where to write, and reports how many it wrote. Capacity grows geometrically so a
        /// series' chunks append without copying.
        @inline(__always)
        static func decodeInPlace(
            _ bytes: UnsafeRawBufferPointer, into out: inout [Sample],
            _ body: (BitPeeker, Int, Int, UnsafeMutablePointer<Sample>, inout Int) -> Iterator.DecodeError?
        ) throws {
            let count = bytes.count
            let total = Int(bytes[0]) << 8 | Int(bytes[1])
            let room = count >= total ? total : Swift.min(total, 2 + 4 * count)
            guard room > 0, let base = bytes.baseAddress else { return }
            let start = out.count
            if out.capacity - start < room { out.reserveCapacity(Swift.max(start + room, out.capacity * 2)) }
            // Placeholders, written over below and cut back to what was decoded: cheaper than
            // an append (uniqueness and capacity checks) per sample.
            out.append(contentsOf: repeatElement(Sample(t: 0, v: 0), count: room))
            var written = 0
            let error = withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { tail -> Iterator.DecodeError? in
                tail.initializeMemory(as: UInt8.self, repeating: 0)
                let tailStart = Swift.max(0, count - 8)
                tail.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[tailStart...]))
                let r = BitPeeker(base: base, fastEnd: count - 8, tail: UnsafeRawPointer(tail.baseAddress!),
                                  tailStart: tailStart, endBits: count * 8)
                return out.withUnsafeMutableBufferPointer { buf in
                    body(r, total, room, buf.baseAddress! + start, &written)
                }
            }
            out.removeLast(room - written)
            if let error { throw error }
        }
    }

    /// Encodes samples that are strictly increasing in time (callers dedupe first).
    static func encode<S: Sequence>(_ samples: S) -> [UInt8] where S.Element == Sample {
        var a = Appender()
        for s in samples { a.append(s.t, s.v) }
        return a.bytes
    }
}
