/// Timestamp encoding shared by the XOR and decimal chunks (as Prometheus' xor.go): sample 0
/// as a varint, sample 1 as a uvarint delta, then delta-of-delta in '0' | '10'+14 bits |
/// '110'+17 | '1110'+20 | '1111'+64 buckets, in Prometheus' ranges (-2^(n-1), 2^(n-1)].
/// Arithmetic wraps, so any strictly increasing Int64 sequence round-trips.
enum TimestampEncoding {
    /// Same ranges as Prometheus' bitRange: (-2^(n-1), 2^(n-1)].
    @inline(__always) static func fits(_ x: Int64, _ n: Int) -> Bool {
        -((1 << Int64(n - 1)) - 1) <= x && x <= 1 << Int64(n - 1)
    }

    /// Writes a delta-of-delta (samples 2...) in its bucket.
    @inline(__always) static func writeDoD(_ dod: Int64, into w: inout BitWriter) {
        if dod == 0 {
            w.bit(false)
        } else if fits(dod, 14) {
            w.bits(0b10, 2); w.bits(UInt64(bitPattern: dod), 14)
        } else if fits(dod, 17) {
            w.bits(0b110, 3); w.bits(UInt64(bitPattern: dod), 17)
        } else if fits(dod, 20) {
            w.bits(0b1110, 4); w.bits(UInt64(bitPattern: dod), 20)
        } else {
            w.bits(0b1111, 4); w.bits(UInt64(bitPattern: dod), 64)
        }
    }

    /// Width of a delta-of-delta after a prefix of `ones` one-bits (0...4), for readers that
    /// count the prefix (the reference `XORChunk.Iterator`).
    @inline(__always) static func dodBits(_ ones: Int) -> Int {
        switch ones {
        case 0: 0
        case 1: 14
        case 2: 17
        case 3: 20
        default: 64
        }
    }
}

/// Delta-of-delta buckets for the fast decoders, timestamps' and decimal mantissas'.
enum DoDBuckets {
    /// Rows of `table`.
    static let timestampRow = 0, mantissaRow = 16

    /// Delta-of-delta buckets by the four bits they start with: a '0', '10', '110', '1110'
    /// or '1111' prefix, then a payload of the row's width for that prefix. Entries hold the
    /// prefix length in the low byte, the payload width in the high byte. A lookup is a
    /// shorter dependency than counting the leading ones (bsr; lzcnt is not in the baseline
    /// x86-64 target), and decoding a chunk is a chain of such steps: decimal chunks
    /// decoded ~25 % faster with it.
    static let table: [UInt16] = {
        func row(_ widths: [Int]) -> [UInt16] {
            (0..<16).map { top -> UInt16 in
                let ones = top < 8 ? 0 : top < 12 ? 1 : top < 14 ? 2 : top < 15 ? 3 : 4
                return UInt16(Swift.min(ones + 1, 4) | widths[ones] << 8)
            }
        }
        // Timestamps as Prometheus; decimal mantissas: 8, 16, 32, 64 bits.
        return row([0, 14, 17, 20, 64]) + row([0, 8, 16, 32, 64])
    }()
}

extension BitStream {
    /// The bucket `buf` starts with, from `row` of `DoDBuckets.table` (at `table`); needs 4 bits in `buf`.
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
