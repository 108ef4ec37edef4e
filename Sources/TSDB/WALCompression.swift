import CSnappy

/// The codec byte that starts the payload of every compressed WAL record type, so another
/// compressor (zstd) can be added later without another record type.
enum WALCodec: UInt8 {
    case uncompressed = 0
    case snappy = 1

    /// Compresses `body` when that makes it smaller, else keeps it as is; returns the payload
    /// `codec u8 | body`.
    static func pack(_ body: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1 + snappy_max_compressed_length(body.count))
        var n = out.count - 1
        let status = body.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    UnsafeMutableRawPointer(dst.baseAddress! + 1).withMemoryRebound(to: CChar.self, capacity: n) { d in
                        snappy_compress(s.baseAddress, s.count, d, &n)
                    }
                }
            }
        }
        if status == SNAPPY_OK && n < body.count {
            out[0] = WALCodec.snappy.rawValue
            out.removeSubrange((1 + n)...)
            return out
        }
        return [WALCodec.uncompressed.rawValue] + body
    }

    /// Snappy's densest element, a 3-byte copy, yields 64 bytes: a block can never expand by
    /// more than 22×, so a larger declared length is damage and is refused before allocating.
    static let maxExpansion = 22

    /// The body of a payload written by `pack`; damage is a `TSDBError.corruption` naming
    /// `file` and the record's `offset`.
    static func unpack(_ payload: UnsafeRawBufferPointer, file: String, offset: Int) throws -> [UInt8] {
        func corrupt(_ why: String) -> TSDBError { .corruption(file: file, offset: offset, reason: why) }
        guard let first = payload.first else { throw corrupt("compressed record without codec byte") }
        let rest = UnsafeRawBufferPointer(rebasing: payload[1...])
        switch WALCodec(rawValue: first) {
        case .uncompressed:
            return Array(rest)
        case .snappy:
            let src = rest.baseAddress?.assumingMemoryBound(to: CChar.self)
            var n = 0
            guard snappy_uncompressed_length(src, rest.count, &n) == SNAPPY_OK else { throw corrupt("bad snappy length header") }
            guard n <= rest.count * maxExpansion + 16, n <= WALRecord.maxPayload else {
                throw corrupt("snappy block declares \(n) bytes from \(rest.count)")
            }
            var out = [UInt8](repeating: 0, count: n)
            var got = n
            let status = out.withUnsafeMutableBytes { d in
                snappy_uncompress(src, rest.count, d.baseAddress?.assumingMemoryBound(to: CChar.self), &got)
            }
            guard status == SNAPPY_OK, got == n else { throw corrupt("corrupt snappy block") }
            return out
        case nil:
            throw corrupt("unknown WAL codec \(first)")
        }
    }
}
