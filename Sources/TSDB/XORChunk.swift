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
        var it = try Iterator(bytes)
        var out: [Sample] = []
        out.reserveCapacity(it.total)
        while let s = try it.next() { out.append(s) }
        return out
    }

    /// Encodes samples that are strictly increasing in time (callers dedupe first).
    static func encode<S: Sequence>(_ samples: S) -> [UInt8] where S.Element == Sample {
        var a = Appender()
        for s in samples { a.append(s.t, s.v) }
        return a.bytes
    }
}
