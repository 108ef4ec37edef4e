/// Append-only byte buffer with the integer encodings used by the WAL and block files.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    mutating func putByte(_ b: UInt8) { bytes.append(b) }

    mutating func putUVarint(_ x: UInt64) {
        var x = x
        while x >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: x) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    /// Zig-zag so small negative numbers stay short, as Go's binary.PutVarint.
    mutating func putVarint(_ x: Int64) {
        putUVarint(UInt64(bitPattern: (x << 1) ^ (x >> 63)))
    }

    mutating func putBE32(_ x: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: x >> 24)); bytes.append(UInt8(truncatingIfNeeded: x >> 16))
        bytes.append(UInt8(truncatingIfNeeded: x >> 8)); bytes.append(UInt8(truncatingIfNeeded: x))
    }

    mutating func putBE64(_ x: UInt64) {
        putBE32(UInt32(truncatingIfNeeded: x >> 32)); putBE32(UInt32(truncatingIfNeeded: x))
    }

    mutating func putLE64(_ x: UInt64) {
        var x = x
        for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: x)); x >>= 8 }
    }

    mutating func putBytes<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }

    mutating func putString(_ s: String) {
        var s = s
        s.withUTF8 { u in
            putUVarint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }
}

/// Bounds-checked reader over bytes that may come from a damaged file. Every read throws
/// a `TSDBError` naming `file` and the absolute offset instead of trapping.
struct ByteReader {
    let buf: UnsafeRawBufferPointer
    var pos: Int
    let end: Int
    let file: String
    /// Offset of `buf[0]` inside the file, for error messages.
    let base: Int

    init(_ buf: UnsafeRawBufferPointer, file: String, base: Int = 0, start: Int = 0, end: Int? = nil) {
        self.buf = buf
        self.pos = start
        self.end = Swift.min(end ?? buf.count, buf.count)
        self.file = file
        self.base = base
    }

    var remaining: Int { end - pos }
    var isAtEnd: Bool { pos >= end }

    func fail(_ what: String) -> TSDBError { .corruption(file: file, offset: base + pos, reason: what) }

    mutating func byte() throws -> UInt8 {
        guard pos < end else { throw fail("unexpected end of data") }
        let b = buf[pos]
        pos += 1
        return b
    }

    mutating func uvarint() throws -> UInt64 {
        var x: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<10 {
            guard pos < end else { throw fail("truncated varint") }
            let b = buf[pos]
            pos += 1
            if b < 0x80 {
                if i == 9 && b > 1 { throw fail("varint overflows 64 bits") }
                return x | UInt64(b) << shift
            }
            x |= UInt64(b & 0x7f) << shift
            shift += 7
        }
        throw fail("varint overflows 64 bits")
    }

    mutating func varint() throws -> Int64 {
        let u = try uvarint()
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// A uvarint that must fit in `limit` (counts, lengths, symbol ids).
    mutating func count(limit: Int) throws -> Int {
        let u = try uvarint()
        guard limit >= 0, u <= UInt64(limit) else { throw fail("length \(u) exceeds limit \(limit)") }
        return Int(u)
    }

    mutating func be32() throws -> UInt32 {
        guard remaining >= 4 else { throw fail("truncated 32-bit integer") }
        var x: UInt32 = 0
        for i in 0..<4 { x = x << 8 | UInt32(buf[pos + i]) }
        pos += 4
        return x
    }

    mutating func be64() throws -> UInt64 {
        let hi = try be32()
        let lo = try be32()
        return UInt64(hi) << 32 | UInt64(lo)
    }

    mutating func le64() throws -> UInt64 {
        guard remaining >= 8 else { throw fail("truncated 64-bit value") }
        var x: UInt64 = 0
        for i in (0..<8).reversed() { x = x << 8 | UInt64(buf[pos + i]) }
        pos += 8
        return x
    }

    mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw fail("truncated: need \(n) bytes, have \(remaining)") }
        let r = UnsafeRawBufferPointer(rebasing: buf[pos..<pos + n])
        pos += n
        return r
    }

    mutating func string() throws -> String {
        let n = try count(limit: remaining)
        let b = try bytes(n)
        guard let s = String(validating: b.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw TSDBError.corruption(file: file, offset: base + pos - n, reason: "invalid UTF-8 in string")
        }
        return s
    }
}

extension RandomAccessCollection where Index == Int {
    /// First index whose element fails `belongs` (elements that satisfy it must come first).
    func partitionPoint(_ belongs: (Element) -> Bool) -> Int {
        var lo = startIndex, hi = endIndex
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if belongs(self[mid]) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
