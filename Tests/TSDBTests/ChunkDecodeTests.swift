import Storage
import Testing
@testable import TSDB

/// The word-at-a-time bit reader must read exactly what the byte-at-a-time one did, so
/// chunks already on disk and in WALs decode unchanged.
@Suite struct ChunkDecodeTests {
    /// The bit reader as it was before it read 64-bit words (one byte per step), kept as the
    /// reference for the format.
    struct ReferenceBitReader {
        let bytes: [UInt8]
        var pos: Int
        let end: Int
        init(bytes: [UInt8], startByte: Int) { self.bytes = bytes; pos = startByte * 8; end = bytes.count * 8 }
        mutating func bit() -> Bool? {
            guard pos < end else { return nil }
            let b = bytes[pos >> 3] >> UInt8(7 - (pos & 7)) & 1
            pos += 1
            return b == 1
        }
        mutating func bits(_ n: Int) -> UInt64? {
            guard n >= 0, pos + n <= end else { return nil }
            var v: UInt64 = 0
            var need = n
            while need > 0 {
                let off = pos & 7, avail = 8 - off, take = Swift.min(avail, need)
                let part = (UInt64(bytes[pos >> 3]) >> UInt64(avail - take)) & ((1 << UInt64(take)) - 1)
                v = (v << UInt64(take)) | part
                pos += take
                need -= take
            }
            return v
        }
    }

    @Test func bitReaderMatchesByteAtATimeReference() {
        var rng = SplitMix(77)
        for len in 0...40 {  // every tail length mod 8, several words
            for round in 0..<60 {
                let bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let start = len == 0 ? 0 : Int.random(in: 0...min(3, len), using: &rng)
                var a = XORChunk.BitReader(bytes: bytes, startByte: start)
                var b = ReferenceBitReader(bytes: bytes, startByte: start)
                while true {
                    // Mix single bits, small reads, 64-bit reads and zero-width reads.
                    let n = round % 3 == 0 ? [64, 63, 1, 0, 7][Int.random(in: 0..<5, using: &rng)] : Int.random(in: -2...64, using: &rng)
                    if n == -2 {
                        // A bucket prefix: up to four one-bits ended by a zero.
                        let x = a.ones(limit: 4)
                        var y: Int? = 0
                        for _ in 0..<4 {
                            guard let bit = b.bit() else { y = nil; break }
                            if !bit { break }
                            y! += 1
                        }
                        #expect(x == y, "ones(limit: 4) len \(len) start \(start)")
                        if x == nil || x != y { break }
                    } else if n < 0 {
                        let x = a.bit(), y = b.bit()
                        #expect(x == y, "bit() len \(len) start \(start)")
                        if x == nil || x != y { break }
                    } else {
                        let x = a.bits(n), y = b.bits(n)
                        #expect(x == y, "bits(\(n)) len \(len) start \(start)")
                        if x == nil || x != y { break }
                    }
                }
            }
        }
    }

    /// Series with everything the encodings must carry bit for bit.
    static func randomSeries(_ n: Int, _ rng: inout SplitMix, decimalOnly: Bool) -> [Sample] {
        let specials: [Double] = [.nan, StaleNaN.value, Double(bitPattern: 0x7ff0_0000_0000_0002), .infinity, -.infinity, -0.0, .greatestFiniteMagnitude]
        var t = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
        var m = Int64.random(in: -1_000_000...1_000_000, using: &rng)
        var v = 0.0
        let mode = Int.random(in: 0..<4, using: &rng)
        var out: [Sample] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: t &+= Int64.random(in: 1...(Int64(1) << 45), using: &rng)  // huge gap
            case 1: t &+= Int64.random(in: 1...100_000, using: &rng)
            case 2: t &+= 1
            default: t &+= mode == 0 ? 15_000 : 15_000 + Int64.random(in: -20...20, using: &rng)
            }
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: break  // equal value
            case 1: m = -m  // negative
            case 2: m &+= Int64.random(in: -(1 << 40)...(1 << 40), using: &rng)
            default: m &+= Int64.random(in: 0...500, using: &rng)
            }
            if decimalOnly {
                v = Double(m) / [1, 10, 100, 1000][mode]
            } else {
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: v = specials.randomElement(using: &rng)!
                case 1: v = Double(bitPattern: rng.next())
                case 2: break  // equal value
                default: v = Double(m) / 100
                }
            }
            out.append(Sample(t: t, v: v))
        }
        // Timestamps must increase; a wrap past Int64.max is cut off.
        var end = 1
        while end < out.count && out[end].t > out[end - 1].t { end += 1 }
        return Array(out.prefix(end))
    }

    @Test func xorAndDecimalRoundTripAtEveryTailOffset() throws {
        var rng = SplitMix(2026)
        var xorTails = Set<Int>(), decTails = Set<Int>()
        for round in 0..<700 {
            let n = round < 480 ? round + 1 : Int.random(in: 1...480, using: &rng)
            let s = Self.randomSeries(n, &rng, decimalOnly: false)
            let x = XORChunk.encode(s)
            xorTails.insert(x.count % 8)
            #expect(bitsEqual(try XORChunk.decode(x), s), "XOR round trip, \(s.count) samples, \(x.count) bytes")
            var it = try XORChunk.Iterator(x)
            var viaIterator: [Sample] = []
            while let e = try it.next() { viaIterator.append(e) }
            #expect(bitsEqual(viaIterator, s))
            // Every truncation of a valid chunk throws instead of reading past the end.
            if round % 50 == 0 {
                for cut in 2..<x.count {
                    let short = Array(x[..<cut])
                    #expect(throws: XORChunk.Iterator.DecodeError.self) { try XORChunk.decode(short) }
                }
            }

            let d = Self.randomSeries(n, &rng, decimalOnly: true)
            if let enc = DecimalChunk.encode(d) {
                decTails.insert(enc.count % 8)
                #expect(bitsEqual(try DecimalChunk.decode(enc), d), "decimal round trip, \(d.count) samples, \(enc.count) bytes")
                if round % 50 == 0 {
                    for cut in 3..<enc.count {
                        let short = Array(enc[..<cut])
                        #expect(throws: XORChunk.Iterator.DecodeError.self) { try DecimalChunk.decode(short) }
                    }
                }
            }
        }
        #expect(xorTails.count == 8, "XOR chunk lengths mod 8 seen: \(xorTails.sorted())")
        #expect(decTails.count == 8, "decimal chunk lengths mod 8 seen: \(decTails.sorted())")
    }

    /// A chunk written before the reader changed, as raw bytes: it must keep decoding to the same samples.
    @Test func storedBytesStillDecode() throws {
        let samples = [
            Sample(t: 1_000, v: 1.5), Sample(t: 16_000, v: 1.5), Sample(t: 31_000, v: Double(bitPattern: 0x7ff0_0000_0000_0002)),
            Sample(t: 46_001, v: -.infinity), Sample(t: 1 << 40, v: -2), Sample(t: (1 << 40) + 15_000, v: 1e300),
        ]
        let golden: [UInt8] = XORGolden.bytes
        #expect(XORChunk.encode(samples) == golden)
        #expect(bitsEqual(try XORChunk.decode(golden), samples))
        let dec = (0..<13).map { (i: Int) -> Sample in Sample(t: Int64(i) * 15_000 + Int64(i % 2), v: Double(i * 37 - 100) / 10) }
        #expect(DecimalChunk.encode(dec) == XORGolden.decimal)
        #expect(bitsEqual(try DecimalChunk.decode(XORGolden.decimal), dec))
    }
}

/// Bytes written by the encoder (unchanged) and read by the byte-at-a-time reader before the
/// reader moved to 64-bit words.
enum XORGolden {
    static let bytes: [UInt8] = [
        0, 6, 208, 15, 63, 248, 0, 0, 0, 0, 0, 0, 152, 117, 48, 253, 0, 32, 0, 0, 0, 0, 0, 12, 0, 14, 15, 224, 0, 0, 0, 0,
        0, 0, 0, 248, 0, 0, 7, 255, 255, 248, 141, 180, 127, 224, 0, 0, 0, 0, 0, 3, 255, 255, 255, 192, 0, 0, 59, 146, 107,
        227, 126, 67, 200, 128, 7, 89, 192,
    ]
    static let decimal: [UInt8] = [
        0, 13, 1, 0, 199, 1, 153, 117, 74, 191, 254, 64, 1, 47, 255, 144, 0, 75, 255, 228, 0, 18, 255, 249, 0, 4, 191, 254,
        64, 1, 47, 255, 128,
    ]
}
