import CSnappy

/// Snappy *block* format (not the framed stream format), as remote-write requires.
public enum Snappy {
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compress($0) }
    }

    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        // The output is left uninitialized: zero-filling the worst-case length (input + 1/6) first
        // touched every page of it, and for a record of a thousand series that fresh memory is
        // page faults and page clearing, ~4 % of the edge agent's CPU (docs/benchmarks.md, "Edge
        // agent, issue 15: CPU per sample, third round"). Snappy writes only the compressed
        // length, and only those bytes are kept.
        let maxLen = snappy_max_compressed_length(input.count)
        return [UInt8](unsafeUninitializedCapacity: maxLen) { dst, count in
            var outLen = maxLen
            let status = dst.withMemoryRebound(to: CChar.self) { d in
                snappy_compress(input.baseAddress?.assumingMemoryBound(to: CChar.self), input.count, d.baseAddress, &outLen)
            }
            // snappy_compress fails only when the output buffer is too small, which
            // snappy_max_compressed_length rules out.
            precondition(status == SNAPPY_OK && outLen <= maxLen, "snappy_compress failed with a correctly sized buffer")
            count = outLen
        }
    }

    /// The length the block header declares, read without decompressing.
    public static func decodedLength(_ raw: UnsafeRawBufferPointer) throws(RemoteWriteError) -> Int {
        var n = 0
        let status = snappy_uncompressed_length(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, &n)
        guard status == SNAPPY_OK else { throw .snappy("invalid snappy block header (is the body snappy block-compressed?)") }
        return n
    }

    /// Decompresses after checking the declared length against `limit`, so a tiny body
    /// cannot make us allocate gigabytes.
    public static func decompress(_ raw: UnsafeRawBufferPointer, limit: Int = 32 << 20) throws(RemoteWriteError) -> [UInt8] {
        let n = try decodedLength(raw)
        guard n <= limit else { throw .tooLarge(decoded: n, limit: limit) }
        var out = [UInt8](repeating: 0, count: n)
        var outLen = n
        let status = out.withUnsafeMutableBufferPointer { dst in
            dst.withMemoryRebound(to: CChar.self) { d in
                snappy_uncompress(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, d.baseAddress, &outLen)
            }
        }
        guard status == SNAPPY_OK, outLen == n else { throw .snappy("corrupt snappy block (decompression failed)") }
        return out
    }

    public static func decompress(_ input: [UInt8], limit: Int = 32 << 20) throws(RemoteWriteError) -> [UInt8] {
        // Array.withUnsafeBytes rethrows untyped errors, so carry the typed one out in a Result.
        try input.withUnsafeBytes { raw in Result { () throws(RemoteWriteError) in try decompress(raw, limit: limit) } }.get()
    }
}
