import Storage

/// A chunk that does not decode: which sample, and why. Any malformed input gives this,
/// never a trap; block readers turn it into `TSDBError.corruption`.
struct ChunkDecodeError: Error {
    let sampleIndex: Int
    let reason: String
}

/// Decoding straight from a chunk's bytes (an mmap'ed block file, say) without reading
/// outside them, in two phases: while a sample starts at least `margin` bytes before the end,
/// neither its bits nor the stream's look-ahead loads can reach past the end, so loads go
/// straight to the chunk and truncation checks are skipped; the last samples read from a
/// zero-padded copy of the last `tailBytes` bytes, with checks.
enum InPlaceDecoding {
    /// Bytes a sample can take (two 10-byte varints; 145 bits for an XOR sample) plus the
    /// bytes a refill loads ahead (8 loaded, up to 63 bits not yet consumed), rounded up.
    static let margin = 40
    static let tailBytes = 64
    /// The copy: at most `consumed` ≤ end + 68 bits before a check stops a decoder, so
    /// `pos` ≤ tailBytes + 17 and loads end by tailBytes + 25.
    static let tailCapacity = 128

    /// A codec's decoding state: `s` and the sample so far, advanced by `head` / `next`.
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
    ) -> ChunkDecodeError? {
        typealias Err = ChunkDecodeError
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
