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
    // Out of line: one copy, whose register allocation (the loop is register-bound) does not
    // depend on what the caller keeps live.
    @inline(never)
    static func decode(_ bytes: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) throws {
        guard bytes.count >= 2 else { throw Iterator.DecodeError(sampleIndex: 0, reason: "chunk shorter than its header") }
        try BitStream.bucketTable.withUnsafeBufferPointer { buckets in
            var d = Decoder(BitStream(bytes, startByte: 2), buckets: buckets.baseAddress!)
            try InPlace.decode(bytes, with: &d, mint: mint, maxt: maxt, into: &out)
        }
    }

    /// XOR decoding state, all in locals of `InPlace.run` once inlined. The checks run in the
    /// order `Iterator` runs them, so both report the same error for the same bytes.
    struct Decoder: InPlace.SampleDecoder {
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
            s.timestampDoD(s.bucket(buckets, BitStream.timestampBuckets), into: &tDelta)
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

    /// Reads a chunk MSB first as a bit stream held in a register: `buf` has the next `cnt`
    /// unread bits at its top and is refilled by one unaligned big-endian 8-byte load (the
    /// branch-free refill of Giesen's "Reading bits in far too many ways", variant 4). Bits past
    /// the end of the chunk read as zeros (see `InPlace`), so decoders detect truncation by
    /// comparing `consumed` with `endBits` after a field.
    struct BitStream {
        /// Unread bits at the top; below them zeros or the bits that follow (a refill ORs the
        /// same bytes in again).
        var buf: UInt64 = 0
        /// Unread bits in `buf`: 56...63 after a refill, so a refill allows any read up to 56 bits.
        var cnt = 0
        /// The next byte to load, from `base`.
        var pos: Int
        var base: UnsafeRawPointer
        var endBits: Int
        /// Loads must end by this offset from `base` (checked in debug builds).
        var loadLimit: Int

        init(_ bytes: UnsafeRawBufferPointer, startByte: Int) {
            base = bytes.baseAddress!
            pos = startByte
            endBits = bytes.count * 8
            loadLimit = bytes.count
        }

        /// Bits read so far, counted from where `base` points.
        @inline(__always) var consumed: Int { pos &* 8 &- cnt }

        @inline(__always) mutating func refill() {
            assert(pos >= 0 && pos + 8 <= loadLimit, "chunk load at \(pos) outside \(loadLimit) readable bytes")
            buf |= UInt64(bigEndian: (base + pos).loadUnaligned(as: UInt64.self)) &>> cnt
            pos &+= (63 &- cnt) &>> 3
            cnt |= 56
        }

        /// Continues on a copy of the chunk's bytes from offset `start` on, followed by zeros up
        /// to `capacity` bytes.
        mutating func rebase(onto copy: UnsafeRawPointer, from start: Int, capacity: Int) {
            base = copy
            pos -= start
            endBits -= start * 8
            loadLimit = capacity
        }

        /// Drops `n` bits, n <= cnt (< 64).
        @inline(__always) mutating func skip(_ n: Int) {
            buf &<<= n
            cnt &-= n
        }

        /// Reads `n` bits, 1 <= n <= 64, refilling as needed.
        @inline(__always) mutating func read(_ n: Int) -> UInt64 {
            if n > cnt {
                refill()
                if n > cnt { return readWide(n) }
            }
            let v = buf &>> (64 &- n)
            skip(n)
            return v
        }

        /// 57...64 bits, more than one refill guarantees: in two halves.
        @inline(__always) mutating func readWide(_ n: Int) -> UInt64 {
            let hi = buf &>> 32
            skip(32)
            refill()
            let lo = buf &>> (96 &- n)
            skip(n &- 32)
            return hi &<< (n &- 32) | lo
        }

        /// A byte-wise uvarint (as in the first two samples); returns why it failed, or nil.
        mutating func uvarint(_ x: inout UInt64) -> String? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            for k in 0..<10 {
                let b = read(8)
                if consumed > endBits { return "truncated varint" }
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

        /// Rows of `bucketTable`.
        static let timestampBuckets = 0, mantissaBuckets = 16

        /// Delta-of-delta buckets by the four bits they start with: a '0', '10', '110', '1110'
        /// or '1111' prefix, then a payload of the row's width for that prefix. Entries hold the
        /// prefix length in the low byte, the payload width in the high byte. A lookup is a
        /// shorter dependency than counting the leading ones (bsr; lzcnt is not in the baseline
        /// x86-64 target), and decoding a chunk is a chain of such steps: decimal chunks
        /// decoded ~25 % faster with it.
        static let bucketTable: [UInt16] = {
            func row(_ widths: [Int]) -> [UInt16] {
                (0..<16).map { top -> UInt16 in
                    let ones = top < 8 ? 0 : top < 12 ? 1 : top < 14 ? 2 : top < 15 ? 3 : 4
                    return UInt16(Swift.min(ones + 1, 4) | widths[ones] << 8)
                }
            }
            // Timestamps as Prometheus; decimal mantissas: 8, 16, 32, 64 bits.
            return row([0, 14, 17, 20, 64]) + row([0, 8, 16, 32, 64])
        }()

        /// The bucket `buf` starts with, from `row` of `bucketTable` (at `table`); needs 4 bits in `buf`.
        @inline(__always) func bucket(_ table: UnsafePointer<UInt16>, _ row: Int) -> (prefix: Int, width: Int) {
            let e = Int(truncatingIfNeeded: table[row &+ Int(truncatingIfNeeded: buf &>> 60)])
            return (e & 0xff, e &>> 8)
        }

        /// A timestamp delta-of-delta in bucket `b`: '0' | '10'+14 bits | '110'+17 |
        /// '1110'+20 | '1111'+64, in Prometheus' ranges (-2^(n-1), 2^(n-1)]. Needs 24 bits in
        /// `buf` (a refill). The small buckets decode without branches: jittery scrapes mix '0'
        /// and '10' unpredictably.
        @inline(__always) mutating func timestampDoD(_ b: (prefix: Int, width: Int), into tDelta: inout UInt64) {
            if b.width == 64 {
                skip(4)
                tDelta &+= read(64)
            } else {
                // Shifting right by 1 then 63 - width yields no bits for width 0 without a 64-bit shift.
                let raw = Int64(bitPattern: ((buf &<< b.prefix) &>> 1) &>> (63 &- b.width))
                let half = (Int64(1) &<< Int64(b.width)) &>> 1
                skip(b.prefix &+ b.width)
                tDelta &+= UInt64(bitPattern: raw > half ? raw &- (half &<< 1) : raw)
            }
        }
    }

    /// Decoding straight from a chunk's bytes (an mmap'ed block file, say) without reading
    /// outside them, in two phases: while a sample starts at least `margin` bytes before the end,
    /// neither its bits nor the stream's look-ahead loads can reach past the end, so loads go
    /// straight to the chunk and truncation checks are skipped; the last samples read from a
    /// zero-padded copy of the last `tailBytes` bytes, with checks.
    enum InPlace {
        /// Bytes a sample can take (two 10-byte varints; 145 bits for an XOR sample) plus the
        /// bytes a refill loads ahead (8 loaded, up to 63 bits not yet consumed), rounded up.
        static let margin = 40
        static let tailBytes = 64
        /// The copy: at most `consumed` ≤ end + 68 bits before a check stops a decoder, so
        /// `pos` ≤ tailBytes + 17 and loads end by tailBytes + 25.
        static let tailCapacity = 128

        protocol SampleDecoder {
            var s: BitStream { get set }
            var t: Int64 { get }
            var sample: Sample { get }
            /// Samples 0 and 1 (varints); returns why the sample does not decode, or nil.
            mutating func head(_ i: Int) -> String?
            /// Samples 2...; `checked`: whether the sample can run past the end.
            mutating func next(checked: Bool) -> String?
        }

        /// Appends the samples of `bytes` (which start with the big-endian u16 sample count)
        /// with `mint <= t <= maxt`, written straight into `out`'s storage. Reserves room for
        /// the header's count up front (capacity grows geometrically so a series' chunks append
        /// without copying) but no more than the bytes can hold: every sample takes at least
        /// two bits, so a corrupt count cannot make a small chunk allocate much.
        @inline(__always)
        static func decode<D: SampleDecoder>(_ bytes: UnsafeRawBufferPointer, with d: inout D, mint: Int64, maxt: Int64,
                                             into out: inout [Sample]) throws {
            let count = bytes.count
            let total = Int(bytes[0]) << 8 | Int(bytes[1])
            let room = count >= total ? total : Swift.min(total, 2 + 4 * count)
            guard room > 0 else { return }
            let start = out.count
            if out.capacity - start < room { out.reserveCapacity(Swift.max(start + room, out.capacity * 2)) }
            // Placeholders, written over below and cut back to what was decoded: cheaper than
            // an append (uniqueness and capacity checks) per sample.
            out.append(contentsOf: repeatElement(Sample(t: 0, v: 0), count: room))
            var written = 0
            let error = withUnsafeTemporaryAllocation(byteCount: tailCapacity, alignment: 8) { tail in
                out.withUnsafeMutableBufferPointer { buf in
                    run(&d, bytes, tail: tail, total: total, room: room, mint: mint, maxt: maxt,
                        dst: buf.baseAddress! + start, written: &written)
                }
            }
            out.removeLast(room - written)
            if let error { throw error }
        }

        @inline(__always)
        private static func run<D: SampleDecoder>(
            _ d: inout D, _ bytes: UnsafeRawBufferPointer, tail: UnsafeMutableRawBufferPointer, total: Int, room: Int,
            mint: Int64, maxt: Int64, dst: UnsafeMutablePointer<Sample>, written: inout Int
        ) -> Iterator.DecodeError? {
            typealias Err = Iterator.DecodeError
            let fastLimit = bytes.count - margin
            var inTail = false
            func toTail(_ d: inout D) {
                let from = Swift.max(0, bytes.count - tailBytes)
                tail.initializeMemory(as: UInt8.self, repeating: 0)
                tail.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[from...]))
                d.s.rebase(onto: UnsafeRawPointer(tail.baseAddress!), from: from, capacity: tailCapacity)
                inTail = true
            }
            var n = 0
            defer { written = n }
            var i = 0
            while i < Swift.min(2, room) {
                if !inTail && d.s.pos > fastLimit { toTail(&d) }
                if let why = d.head(i) { return Err(sampleIndex: i, reason: why) }
                if d.t > maxt { return nil }
                if d.t >= mint { dst[n] = d.sample; n += 1 }
                i += 1
            }
            // The loops run on copies whose address is never taken (`head` passes `d` to calls),
            // so the decoder's state stays in registers.
            if !inTail {
                var fast = d
                while i < room && fast.s.pos <= fastLimit {
                    if let why = fast.next(checked: false) { return Err(sampleIndex: i, reason: why) }
                    if fast.t > maxt { return nil }
                    if fast.t >= mint { dst[n] = fast.sample; n &+= 1 }
                    i &+= 1
                }
                d = fast
                if i < room { toTail(&d) }
            }
            var last = d
            while i < room {
                if let why = last.next(checked: true) { return Err(sampleIndex: i, reason: why) }
                if last.t > maxt { return nil }
                if last.t >= mint { dst[n] = last.sample; n &+= 1 }
                i &+= 1
            }
            return room < total ? Err(sampleIndex: room, reason: "sample count exceeds the chunk's size") : nil
        }
    }

    /// Encodes samples that are strictly increasing in time (callers dedupe first).
    static func encode<S: Sequence>(_ samples: S) -> [UInt8] where S.Element == Sample {
        var a = Appender()
        for s in samples { a.append(s.t, s.v) }
        return a.bytes
    }
}
