/// Generic bit I/O for the chunk codecs (Prometheus' bstream.go): a writer, a safe reader
/// (the reference decoders use it), and the register-held reader the fast decoders use.

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
}
