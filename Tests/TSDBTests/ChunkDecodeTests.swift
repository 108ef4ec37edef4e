import Glibc
import Storage
import Testing
import TestSupport
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
        var rng = SplitMix(seed: 77)
        for len in 0...40 {  // every tail length mod 8, several words
            for round in 0..<60 {
                let bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let start = len == 0 ? 0 : Int.random(in: 0...min(3, len), using: &rng)
                var a = BitReader(bytes: bytes, startByte: start)
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
                // Odd lengths use the multiplying form (`m × 0.01`), even ones the dividing one.
                v = n % 2 == 1 ? Double(m) * [1, 0.1, 0.01, 0.001][mode] : Double(m) / [1, 10, 100, 1000][mode]
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
        var rng = SplitMix(seed: 2026)
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
                    #expect(throws: ChunkDecodeError.self) { try XORChunk.decode(short) }
                }
            }

            let d = Self.randomSeries(n, &rng, decimalOnly: true)
            if let enc = DecimalChunk.encode(d) {
                decTails.insert(enc.count % 8)
                #expect(bitsEqual(try DecimalChunk.decode(enc), d), "decimal round trip, \(d.count) samples, \(enc.count) bytes")
                if round % 50 == 0 {
                    for cut in 3..<enc.count {
                        let short = Array(enc[..<cut])
                        #expect(throws: ChunkDecodeError.self) { try DecimalChunk.decode(short) }
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

/// The pointer decoders (`XORChunk.decode(_: UnsafeRawBufferPointer, …)` and the decimal one)
/// against the decoders they replace, bit for bit, on valid and on damaged chunks: same
/// samples for every [mint, maxt] window, and the same error (sample index and reason) where
/// the old ones threw.
@Suite struct ChunkPointerDecodeTests {
    typealias DecodeError = ChunkDecodeError

    enum Kind { case xor, decimal }

    struct Outcome {
        var samples: [Sample]
        var error: DecodeError?
    }

    /// The XOR reference: the iterator, windowed as queries used it.
    static func referenceXOR(_ bytes: [UInt8], mint: Int64, maxt: Int64) -> Outcome {
        var out: [Sample] = []
        do {
            var it = try XORChunk.Iterator(bytes)
            while let s = try it.next() {
                if s.t > maxt { break }
                if s.t >= mint { out.append(s) }
            }
            return Outcome(samples: out, error: nil)
        } catch {
            return Outcome(samples: out, error: error as? DecodeError ?? DecodeError(sampleIndex: -1, reason: "\(error)"))
        }
    }

    static func referenceDecimal(_ bytes: [UInt8], mint: Int64, maxt: Int64) -> Outcome {
        var out: [Sample] = []
        do {
            try ReferenceDecimal.decode(bytes, mint: mint, maxt: maxt, into: &out)
            return Outcome(samples: out, error: nil)
        } catch {
            return Outcome(samples: out, error: error as? DecodeError ?? DecodeError(sampleIndex: -1, reason: "\(error)"))
        }
    }

    static func reference(_ kind: Kind, _ bytes: [UInt8], mint: Int64, maxt: Int64) -> Outcome {
        kind == .xor ? referenceXOR(bytes, mint: mint, maxt: maxt) : referenceDecimal(bytes, mint: mint, maxt: maxt)
    }

    static func callPointer(_ kind: Kind, _ chunk: UnsafeRawBufferPointer, mint: Int64, maxt: Int64, into out: inout [Sample]) -> DecodeError? {
        do {
            switch kind {
            case .xor: try XORChunk.decode(chunk, mint: mint, maxt: maxt, into: &out)
            case .decimal: try DecimalChunk.decode(chunk, mint: mint, maxt: maxt, into: &out)
            }
            return nil
        } catch {
            return error as? DecodeError ?? DecodeError(sampleIndex: -1, reason: "unexpected error type: \(error)")
        }
    }

    /// A chunk copied to the very end of a readable mapping that is followed by an
    /// inaccessible page, as a block chunk can sit at the end of its memory-mapped file: a read
    /// past the chunk's last byte faults instead of passing unnoticed.
    final class GuardedBytes {
        private let mapping: UnsafeMutableRawPointer
        private let mapped: Int
        let bytes: UnsafeRawBufferPointer

        init(_ chunk: [UInt8]) {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let dataBytes = max(1, (chunk.count + page - 1) / page) * page
            mapped = dataBytes + page
            let p = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let p, p != MAP_FAILED, mprotect(p + dataBytes, page, PROT_NONE) == 0 else {
                fatalError("cannot map a guarded test buffer: errno \(errno)")
            }
            mapping = p
            let start = p + dataBytes - chunk.count
            chunk.withUnsafeBytes { start.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(start), byteCount: chunk.count) }
            bytes = UnsafeRawBufferPointer(start: start, count: chunk.count)
        }

        deinit { munmap(mapping, mapped) }
    }

    /// Decodes through the pointer API twice: from a chunk that ends right before an
    /// inaccessible page (any read past the end faults), and from the middle of a larger buffer
    /// whose neighbouring bytes are ones-heavy garbage (the bytes around the chunk must not
    /// change the result). `out` starts with samples that must stay in front.
    static func viaPointer(_ kind: Kind, _ chunk: [UInt8], mint: Int64, maxt: Int64, _ rng: inout SplitMix) -> Outcome {
        let prefix = (0..<Int.random(in: 0...3, using: &rng)).map { i in Sample(t: Int64(i) - 10, v: Double(i)) }

        let guarded = GuardedBytes(chunk)
        var a = prefix
        let ea = callPointer(kind, guarded.bytes, mint: mint, maxt: maxt, into: &a)

        let before = Int.random(in: 0...9, using: &rng), after = Int.random(in: 1...17, using: &rng)
        let garbage = { (rng: inout SplitMix) in UInt8.random(in: 0...255, using: &rng) | 0xa5 }
        var big = (0..<before).map { _ in garbage(&rng) }
        big += chunk
        big += (0..<after).map { _ in garbage(&rng) }
        var b = prefix
        let eb = big.withUnsafeBytes { all in
            callPointer(kind, UnsafeRawBufferPointer(rebasing: all[before..<before + chunk.count]), mint: mint, maxt: maxt, into: &b)
        }

        #expect(Array(a.prefix(prefix.count)) == prefix && Array(b.prefix(prefix.count)) == prefix, "samples already in out must stay")
        let oa = Outcome(samples: Array(a.dropFirst(prefix.count)), error: ea)
        let ob = Outcome(samples: Array(b.dropFirst(prefix.count)), error: eb)
        #expect(same(oa, ob), "decoding in place must not depend on the bytes around the chunk")
        return oa
    }

    static func same(_ a: Outcome, _ b: Outcome) -> Bool {
        guard bitsEqual(a.samples, b.samples) else { return false }
        switch (a.error, b.error) {
        case (nil, nil): return true
        case let (x?, y?): return x.sampleIndex == y.sampleIndex && x.reason == y.reason
        default: return false
        }
    }

    static func describe(_ o: Outcome) -> String {
        "\(o.samples.count) samples" + (o.error.map { ", error at \($0.sampleIndex): \($0.reason)" } ?? "")
    }

    /// Windows: everything, empty, before and after the data, inverted, and bounds on, just
    /// before and just after sample timestamps.
    static func randomWindow(_ s: [Sample], _ rng: inout SplitMix) -> (Int64, Int64) {
        guard let first = s.first, let last = s.last else { return (.min, .max) }
        func near(_ t: Int64) -> Int64 { t &+ Int64.random(in: -1...1, using: &rng) }
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: return (.min, .max)
        case 1: return (.min, near(s.randomElement(using: &rng)!.t))
        case 2: return (near(s.randomElement(using: &rng)!.t), .max)
        case 3: return first.t == .min ? (.min, .min) : (.min, first.t - 1)  // before the chunk
        case 4: return last.t == .max ? (.max, .max) : (last.t + 1, .max)  // after it
        case 5:  // inverted
            let a = s.randomElement(using: &rng)!.t
            return (a, a &- Int64.random(in: 1...1000, using: &rng))
        default:
            let a = near(s.randomElement(using: &rng)!.t), b = near(s.randomElement(using: &rng)!.t)
            return (min(a, b), max(a, b))
        }
    }

    /// Delta-of-delta values on the edges of every timestamp bucket (Prometheus' ranges,
    /// (-2^(n-1), 2^(n-1)]) and mantissa bucket (two's complement).
    static let timestampEdges: [Int64] = [0, 1, -1, 8191, 8192, 8193, -8191, -8192, 65535, 65536, 65537, -65535, -65536,
                                          524_287, 524_288, 524_289, -524_287, -524_288, 1 << 40, -(1 << 33)]
    static let mantissaEdges: [Int64] = [0, 1, -1, 127, 128, -128, -129, 32767, 32768, -32768, -32769,
                                         (1 << 31) - 1, 1 << 31, -(1 << 31), -(1 << 31) - 1, 1 << 50, -(1 << 50)]

    /// Realistic and adversarial series: counters scraped every 15 s with jitter, gauges with
    /// two decimals, random doubles, bucket edges for timestamps and mantissas.
    static func series(_ n: Int, style: Int, _ rng: inout SplitMix) -> [Sample] {
        var out: [Sample] = []
        out.reserveCapacity(n)
        var t = Int64.random(in: -(1 << 50)...(1 << 50), using: &rng)
        var delta: Int64 = 15_000
        var m = Int64.random(in: -100_000...100_000, using: &rng)
        var mDelta: Int64 = 0
        for _ in 0..<n {
            var v: Double
            switch style {
            case 0:  // counter
                t &+= 15_000 + Int64.random(in: -3...3, using: &rng)
                m = Int.random(in: 0..<500, using: &rng) == 0 ? 0 : m &+ Int64.random(in: 0...5000, using: &rng)
                v = Double(m)
            case 1:  // gauge with 2 decimals
                t &+= 15_000 + Int64.random(in: -50...50, using: &rng)
                m &+= Int64.random(in: -300...300, using: &rng)
                v = Double(m) / 100
            case 2:  // random doubles, irregular deltas
                t &+= Int64.random(in: 1...120_000, using: &rng)
                v = Double.random(in: -1e6...1e6, using: &rng)
            default:  // bucket edges
                delta &+= timestampEdges.randomElement(using: &rng)!
                if delta <= 0 || delta > 1 << 44 { delta = Int64.random(in: 1...30_000, using: &rng) }
                t &+= delta
                mDelta &+= mantissaEdges.randomElement(using: &rng)!
                m &+= mDelta
                if abs(m) > 1 << 52 { m = 0; mDelta = 0 }
                v = Double(m) / (style == 3 ? 1 : 1000)
            }
            out.append(Sample(t: t, v: v))
        }
        var end = 1  // a timestamp wrap past Int64.max is cut off
        while end < out.count && out[end].t > out[end - 1].t { end += 1 }
        return Array(out.prefix(end))
    }

    /// A mix of lengths: mostly 1…600 (head and block chunk sizes), sometimes up to the
    /// largest chunk the header can count.
    static func randomLength(_ rng: inout SplitMix) -> Int {
        switch Int.random(in: 0..<40, using: &rng) {
        case 0: return XORChunk.maxSamples
        case 1: return Int.random(in: 600...XORChunk.maxSamples, using: &rng)
        case 2...5: return Int.random(in: 1...3, using: &rng)
        default: return Int.random(in: 1...600, using: &rng)
        }
    }

    static func randomSamples(_ rng: inout SplitMix) -> [Sample] {
        let n = randomLength(&rng)
        switch Int.random(in: 0..<7, using: &rng) {
        case 0: return ChunkDecodeTests.randomSeries(n, &rng, decimalOnly: false)
        case 1: return ChunkDecodeTests.randomSeries(n, &rng, decimalOnly: true)
        case let s: return series(n, style: s - 2, &rng)
        }
    }

    @Test func pointerDecodersMatchTheOldDecodersOnValidChunks() {
        var rng = SplitMix(seed: 0xC0FFEE)
        var failures = 0
        var decimalChunks = 0
        for round in 0..<400 where failures < 5 {
            let s = Self.randomSamples(&rng)
            var encoded: [(Kind, [UInt8])] = [(.xor, XORChunk.encode(s))]
            if let d = DecimalChunk.encode(s) { encoded.append((.decimal, d)); decimalChunks += 1 }
            for (kind, bytes) in encoded {
                // The whole chunk decodes to exactly what was encoded.
                let all = Self.viaPointer(kind, bytes, mint: .min, maxt: .max, &rng)
                if !(all.error == nil && bitsEqual(all.samples, s)) {
                    failures += 1
                    Issue.record("round \(round) \(kind): \(s.count) samples encoded, decoded \(Self.describe(all))")
                }
                for _ in 0..<4 {
                    let (mint, maxt) = Self.randomWindow(s, &rng)
                    let want = Self.reference(kind, bytes, mint: mint, maxt: maxt)
                    let got = Self.viaPointer(kind, bytes, mint: mint, maxt: maxt, &rng)
                    if !Self.same(got, want) {
                        failures += 1
                        Issue.record("round \(round) \(kind) [\(mint), \(maxt)]: got \(Self.describe(got)), old decoder \(Self.describe(want))")
                    }
                }
            }
        }
        #expect(decimalChunks > 100, "the generators must exercise the decimal encoding too")
    }

    /// Damaged chunks (truncated, bits flipped, a different sample count, trailing bytes,
    /// random bytes) never trap or read outside the chunk, and fail or succeed exactly where
    /// the old decoders did.
    @Test func damagedChunksFailLikeTheOldDecoders() {
        var rng = SplitMix(seed: 0xBAD_C0DE)
        var failures = 0
        var threw = 0, decoded = 0
        for round in 0..<300 where failures < 5 {
            let n = Int.random(in: 0..<10, using: &rng) == 0 ? Int.random(in: 600...3000, using: &rng) : Int.random(in: 1...300, using: &rng)
            let s = Int.random(in: 0..<3, using: &rng) == 0
                ? ChunkDecodeTests.randomSeries(n, &rng, decimalOnly: Bool.random(using: &rng))
                : Self.series(n, style: Int.random(in: 0..<5, using: &rng), &rng)
            var encoded: [(Kind, [UInt8])] = [(.xor, XORChunk.encode(s))]
            if let d = DecimalChunk.encode(s) { encoded.append((.decimal, d)) }
            for (kind, valid) in encoded {
                for _ in 0..<12 {
                    var b = valid
                    switch Int.random(in: 0..<7, using: &rng) {
                    case 0: b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
                    case 1:
                        for _ in 0..<Int.random(in: 1...3, using: &rng) {
                            let bit = Int.random(in: 0..<b.count * 8, using: &rng)
                            b[bit / 8] ^= 1 << UInt8(bit % 8)
                        }
                    case 2:  // another sample count, often larger than the chunk can hold
                        let c = Int.random(in: 0..<3, using: &rng) == 0 ? UInt16.max : UInt16.random(in: 0...UInt16.max, using: &rng)
                        b[0] = UInt8(c >> 8); b[1] = UInt8(c & 0xff)
                    case 3: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    case 4: b += (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    case 5:  // truncated and flipped
                        b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
                        if !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
                    default:  // random bytes behind a plausible header
                        b = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                        if b.count >= 3 && kind == .decimal { b[2] %= 13 }
                    }
                    let (mint, maxt) = Int.random(in: 0..<3, using: &rng) == 0 ? Self.randomWindow(s, &rng) : (.min, .max)
                    let want = Self.reference(kind, b, mint: mint, maxt: maxt)
                    let got = Self.viaPointer(kind, b, mint: mint, maxt: maxt, &rng)
                    if got.error == nil { decoded += 1 } else { threw += 1 }
                    if !Self.same(got, want) {
                        failures += 1
                        Issue.record("round \(round) \(kind), \(b.count) bytes \(b.prefix(24))…: got \(Self.describe(got)), old decoder \(Self.describe(want))")
                    }
                }
            }
        }
        #expect(threw > 500 && decoded > 500, "damage must produce both failures (\(threw)) and decodable chunks (\(decoded))")
    }

    /// The decoders read straight from the chunk until a sample starts within 40 bytes of the
    /// end, then from a padded copy of the last bytes with truncation checks: every cut and
    /// every flipped bit around that switch must still fail or succeed as the old decoders did.
    @Test func everyCutAndFlipNearTheEndMatchesTheOldDecoders() {
        var rng = SplitMix(seed: 4040)
        var failures = 0
        for style in 0..<5 where failures < 5 {
            let s = Self.series(Int.random(in: 150...400, using: &rng), style: style, &rng)
            var encoded: [(Kind, [UInt8])] = [(.xor, XORChunk.encode(s))]
            if let d = DecimalChunk.encode(s) { encoded.append((.decimal, d)) }
            for (kind, valid) in encoded {
                var damaged: [[UInt8]] = (Swift.max(2, valid.count - 100)..<valid.count).map { Array(valid.prefix($0)) }
                for bit in Swift.max(16, valid.count * 8 - 8 * 72)..<valid.count * 8 {
                    var b = valid
                    b[bit / 8] ^= 1 << UInt8(bit % 8)
                    damaged.append(b)
                }
                for b in damaged where failures < 5 {
                    let want = Self.reference(kind, b, mint: .min, maxt: .max)
                    let got = Self.viaPointer(kind, b, mint: .min, maxt: .max, &rng)
                    if !Self.same(got, want) {
                        failures += 1
                        Issue.record("style \(style) \(kind), \(b.count) of \(valid.count) bytes: got \(Self.describe(got)), old decoder \(Self.describe(want))")
                    }
                }
            }
        }
    }

    @Test func shortAndEmptyChunksThrowInsteadOfReading() {
        for kind in [Kind.xor, .decimal] {
            for len in 0..<3 {
                let bytes = [UInt8](repeating: 0xff, count: len)
                var rng = SplitMix(seed: UInt64(len))
                let got = Self.viaPointer(kind, bytes, mint: .min, maxt: .max, &rng)
                let headerOK = kind == .xor ? len >= 2 : len >= 3
                if !headerOK {
                    #expect(got.error?.sampleIndex == 0 && got.samples.isEmpty, "\(kind) \(len) bytes: \(Self.describe(got))")
                }
            }
            // No bytes at all, not even an address.
            var out: [Sample] = []
            #expect(Self.callPointer(kind, UnsafeRawBufferPointer(start: nil, count: 0), mint: .min, maxt: .max, into: &out) != nil)
        }
    }

    /// Room for the header's sample count is reserved once: appends never reallocate, so a
    /// query's array that already has room keeps its storage; a corrupt count does not make
    /// a three-byte chunk reserve room for 65535 samples.
    @Test func capacityComesFromTheHeader() throws {
        let s = (0..<480).map { Sample(t: Int64($0) * 15_000, v: Double($0) * 1.5) }
        for kind in [Kind.xor, .decimal] {
            let bytes = kind == .xor ? XORChunk.encode(s) : DecimalChunk.encode(s)!
            var out: [Sample] = [Sample(t: -1, v: 0)]
            out.reserveCapacity(481)
            let storage = out.withUnsafeBufferPointer { $0.baseAddress }
            let err = bytes.withUnsafeBytes { Self.callPointer(kind, $0, mint: .min, maxt: .max, into: &out) }
            #expect(err == nil && out.count == 481)
            #expect(out.withUnsafeBufferPointer { $0.baseAddress } == storage, "\(kind): decoding into reserved room must not reallocate")

            // A copy shares storage until written: decoding into one must leave the other alone.
            let shared = out
            _ = bytes.withUnsafeBytes { Self.callPointer(kind, $0, mint: .min, maxt: .max, into: &out) }
            #expect(shared.count == 481 && out.count == 961 && bitsEqual(Array(out[481...]), s))

            var lying = Array(bytes.prefix(kind == .xor ? 12 : 8))
            lying[0] = 0xff; lying[1] = 0xff
            var small: [Sample] = []
            #expect(lying.withUnsafeBytes { Self.callPointer(kind, $0, mint: .min, maxt: .max, into: &small) } != nil)
            #expect(small.capacity < 1000, "\(kind): reserved \(small.capacity) samples for a \(lying.count)-byte chunk")
        }
    }

    /// The [UInt8] entry points, now built on the pointer decoders, keep their results.
    @Test func arrayEntryPointsMatchPointerDecoders() throws {
        var rng = SplitMix(seed: 99)
        for _ in 0..<50 {
            let s = Self.series(Int.random(in: 1...500, using: &rng), style: Int.random(in: 0..<5, using: &rng), &rng)
            #expect(bitsEqual(try XORChunk.decode(XORChunk.encode(s)), s))
            if let d = DecimalChunk.encode(s) {
                #expect(bitsEqual(try DecimalChunk.decode(d), s))
                let (mint, maxt) = Self.randomWindow(s, &rng)
                var out: [Sample] = []
                try DecimalChunk.decode(d, mint: mint, maxt: maxt, into: &out)
                #expect(Self.same(Outcome(samples: out, error: nil), Self.referenceDecimal(d, mint: mint, maxt: maxt)))
            }
        }
    }
}

/// `DecimalChunk.decode` as it was before it read chunks in place (over `BitReader`),
/// kept as the reference for the format and its error reports.
enum ReferenceDecimal {
    static func decode(_ data: [UInt8], mint: Int64 = .min, maxt: Int64, into out: inout [Sample]) throws {
        typealias Err = ChunkDecodeError
        guard data.count >= 3 else { throw Err(sampleIndex: 0, reason: "decimal chunk shorter than its header") }
        let total = Int(data[0]) << 8 | Int(data[1])
        // The top bit selects the multiplying form (added later: m × (1 / 10^e) instead of m / 10^e).
        let e = Int(data[2] & 0x7f), multiply = data[2] & 0x80 != 0
        guard e <= DecimalChunk.maxExponent else { throw Err(sampleIndex: 0, reason: "decimal exponent \(e) out of range") }
        let p = DecimalChunk.powers[e], q = 1 / p
        var r = BitReader(bytes: data, startByte: 3)
        func uvarint(_ i: Int) throws -> UInt64 {
            var x: UInt64 = 0, shift: UInt64 = 0
            for k in 0..<10 {
                guard let b = r.bits(8) else { throw Err(sampleIndex: i, reason: "truncated varint") }
                if b < 0x80 {
                    if k == 9 && b > 1 { throw Err(sampleIndex: i, reason: "varint overflow") }
                    return x | b << shift
                }
                x |= (b & 0x7f) << shift
                shift += 7
            }
            throw Err(sampleIndex: i, reason: "varint overflow")
        }
        func varint(_ i: Int) throws -> Int64 {
            let u = try uvarint(i)
            return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
        }
        func prefix(_ i: Int) throws -> Int {
            guard let n = r.ones(limit: 4) else { throw Err(sampleIndex: i, reason: "truncated sample") }
            return n
        }
        var t: Int64 = 0, tDelta: UInt64 = 0, m: Int64 = 0, mDelta: Int64 = 0
        for i in 0..<total {
            switch i {
            case 0:
                t = try varint(i)
                m = try varint(i)
            case 1:
                tDelta = try uvarint(i)
                mDelta = try varint(i)
                let nt = t &+ Int64(bitPattern: tDelta)
                guard nt > t else { throw Err(sampleIndex: i, reason: "non-increasing timestamp") }
                t = nt
                m = m &+ mDelta
            default:
                let tp = try prefix(i)
                var dod: Int64 = 0
                let tsz = TimestampEncoding.dodBits(tp)
                if tsz > 0 {
                    guard let bits = r.bits(tsz) else { throw Err(sampleIndex: i, reason: "truncated timestamp") }
                    if tsz == 64 { dod = Int64(bitPattern: bits) } else {
                        var d = Int64(bits)
                        if d > 1 << Int64(tsz - 1) { d -= 1 << Int64(tsz) }
                        dod = d
                    }
                }
                tDelta = tDelta &+ UInt64(bitPattern: dod)
                let nt = t &+ Int64(bitPattern: tDelta)
                guard nt > t else { throw Err(sampleIndex: i, reason: "non-increasing timestamp") }
                t = nt
                let mp = try prefix(i)
                let msz = mp == 4 ? 64 : mp == 0 ? 0 : 4 << mp  // 0, 8, 16, 32, 64
                var mdod: Int64 = 0
                if msz > 0 {
                    guard let bits = r.bits(msz) else { throw Err(sampleIndex: i, reason: "truncated value") }
                    if msz == 64 { mdod = Int64(bitPattern: bits) } else {
                        var d = Int64(bits)
                        if d >= 1 << Int64(msz - 1) { d -= 1 << Int64(msz) }
                        mdod = d
                    }
                }
                mDelta = mDelta &+ mdod
                m = m &+ mDelta
            }
            if t > maxt { return }
            if t >= mint { out.append(Sample(t: t, v: multiply ? Double(m) * q : Double(m) / p)) }
        }
    }
}
