import CSnappy

extension Snappy {
    /// One block whose decompression is the concatenation of the blocks' decompressions, built
    /// without decompressing or compressing: a block is a varint of its decoded length and then
    /// literals and back-references whose offsets count back from the current output position,
    /// so a block's elements mean the same after another block's output as at the start. Only
    /// the length header is rewritten; the bodies are copied.
    ///
    /// Each block is validated first (snappy's validator walks the elements without writing
    /// output, several times cheaper than compressing), so a damaged block is still refused here
    /// and not sent to a receiver that would reject the whole request.
    ///
    /// Recompressing the joined bytes could find a match across a block boundary, but snappy
    /// compresses in independent 64 KiB fragments anyway, so the size differs by a few bytes at
    /// each boundary (the `RemoteWriteTests` compare them).
    public static func concatenate(_ blocks: [[UInt8]]) throws(RemoteWriteError) -> [UInt8] {
        if blocks.count == 1 { return blocks[0] }
        var decoded = 0
        var bodyBytes = 0
        var headers: [Int] = []
        headers.reserveCapacity(blocks.count)
        for b in blocks {
            let ok = b.withUnsafeBytes { raw in
                snappy_validate_compressed_buffer(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count) == SNAPPY_OK
            }
            guard ok, let (length, headerSize) = lengthHeader(b) else { throw .snappy("corrupt snappy block (validation failed)") }
            decoded += length
            bodyBytes += b.count - headerSize
            headers.append(headerSize)
        }
        // The block format's length is a 32-bit varint.
        guard decoded <= Int(UInt32.max) else { throw .tooLarge(decoded: decoded, limit: Int(UInt32.max)) }
        var out: [UInt8] = []
        out.reserveCapacity(5 + bodyBytes)
        var v = UInt32(decoded)
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        for (b, h) in zip(blocks, headers) { out.append(contentsOf: b[h...]) }
        return out
    }

    /// The decoded length and the size of the varint that states it (at most 5 bytes).
    static func lengthHeader(_ b: [UInt8]) -> (length: Int, size: Int)? {
        var v = 0
        for i in 0..<min(b.count, 5) {
            v |= Int(b[i] & 0x7F) << (7 * i)
            if b[i] < 0x80 { return v <= Int(UInt32.max) ? (v, i + 1) : nil }
        }
        return nil
    }
}
