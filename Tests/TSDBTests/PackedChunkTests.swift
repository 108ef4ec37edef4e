import Storage
import Testing
import TestSupport
@testable import TSDB

/// Packed block chunks (encoding 3): bit-exact round trips over widths 1…64 and both decimal
/// forms, damage as `ChunkDecodeError`, and the block writer choosing them where they are smaller.
@Suite struct PackedChunkTests {
    static func series(_ n: Int, _ rng: inout SplitMix) -> [Sample] {
        var t = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
        var m = Int64.random(in: -1_000_000_000...1_000_000_000, using: &rng)
        let spread = Int64(1) << Int64(rng.int(52))
        let quantum = Int64(1) << Int64(rng.int(13))
        let e = rng.int(4), multiply = rng.int(2) == 0
        let jitter = rng.int(3) == 0
        return (0..<n).map { _ in
            t &+= jitter ? Int64(1 + rng.int(100_000)) : 15_000
            switch rng.int(20) {
            case 0: m = -m / 2                                               // a reset
            case 1: break                                                    // unchanged
            default: m &+= (Int64.random(in: 0...spread, using: &rng) - spread / 3) / quantum * quantum
            }
            m = max(min(m, 8_000_000_000_000_000), -8_000_000_000_000_000)
            let v = multiply ? Double(m) * DecimalChunk.inversePowers[e] : Double(m) / DecimalChunk.powers[e]
            return Sample(t: t, v: v)
        }
    }

    static func packed(_ s: [Sample]) -> [UInt8]? {
        guard let (h, ms) = DecimalChunk.mantissas(s) else { return nil }
        return PackedChunk.encode(s, header: h, ms: ms)
    }

    @Test func roundTripsBitForBit() throws {
        var rng = SplitMix(seed: 2026)
        var widths: Set<UInt8> = [], forms: Set<Bool> = []
        for round in 0..<600 {
            let s = Self.series(2 + rng.int(479), &rng)
            guard let enc = Self.packed(s) else { continue }
            forms.insert(enc[2] & DecimalChunk.multiplyForm != 0)
            #expect(bitsEqual(try PackedChunk.decode(enc), s), "\(s.count) samples, \(enc.count) bytes")
            // The field width the data needs, worked out independently of the encoder.
            let ms = try #require(DecimalChunk.mantissas(s)).ms
            let ds = zip(ms.dropFirst(), ms).map { $0 &- $1 }
            let lowest = ds.min()!
            let or = ds.reduce(UInt64(0)) { $0 | UInt64(bitPattern: $1 &- lowest) }
            let span = UInt64(bitPattern: ds.max()! &- lowest) >> UInt64(or == 0 ? 0 : or.trailingZeroBitCount)
            widths.insert(UInt8(max(1, 64 - span.leadingZeroBitCount)))
            let lo = Int(rng.int(s.count)), hi = min(s.count - 1, lo + rng.int(50))
            var out: [Sample] = []
            try enc.withUnsafeBytes { try PackedChunk.decode($0, mint: s[lo].t, maxt: s[hi].t, into: &out) }
            #expect(bitsEqual(out, Array(s[lo...hi])))
            if round % 40 == 0 {
                for cut in 3..<enc.count {
                    #expect(throws: ChunkDecodeError.self) { try PackedChunk.decode(Array(enc[..<cut])) }
                }
            }
        }
        #expect(forms == [false, true])
        #expect(widths.count > 30)
    }

    @Test func randomDamageIsAnErrorOrSomeSamples() throws {
        var rng = SplitMix(seed: 7)
        var errors = 0
        for _ in 0..<3000 {
            guard var enc = Self.packed(Self.series(2 + rng.int(200), &rng)) else { continue }
            for _ in 0..<(1 + rng.int(3)) { enc[rng.int(enc.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            do { _ = try PackedChunk.decode(enc) } catch is ChunkDecodeError { errors += 1 }
        }
        #expect(errors > 100)
        // Headers that cannot be valid.
        for bad: [UInt8] in [[], [0, 2], [0, 2, 13], [0, 2, 0x8d], [0, 2, 0, 0, 0, 2, 0, 64, 0], [0, 2, 0, 0, 0, 2, 0, 1, 65]] {
            #expect(throws: ChunkDecodeError.self) { try PackedChunk.decode(bad) }
        }
    }

    /// Scrapes with a few ms of jitter: the timestamps pack into a few bits instead of the
    /// 16 of a non-zero delta-of-delta.
    @Test func jitteredTimestampsPackSmall() throws {
        var rng = SplitMix(seed: 5)
        var t: Int64 = 1_700_000_000_000
        let s = (0..<480).map { i -> Sample in
            t += 15_000 + Int64(rng.int(5)) - 2
            return Sample(t: t, v: Double(i % 7))
        }
        let p = try #require(Self.packed(s)), d = try #require(DecimalChunk.encode(s))
        #expect(p.count * 8 < 480 * 8, "under 8 bits a sample: \(p.count) bytes")
        #expect(p.count * 2 < d.count)
        #expect(bitsEqual(try PackedChunk.decode(p), s))
    }

    /// Decoded from the very end of a mapping followed by an inaccessible page (as a chunk at
    /// the end of a block's memory-mapped file): no cut and no damage reads past the chunk.
    @Test func neverReadsPastTheChunk() throws {
        var rng = SplitMix(seed: 404)
        for _ in 0..<150 {
            guard let enc = Self.packed(Self.series(2 + rng.int(300), &rng)) else { continue }
            var variants = (0..<enc.count).map { Array(enc[..<$0]) }
            for _ in 0..<20 {
                var b = enc
                b[rng.int(b.count)] = UInt8(truncatingIfNeeded: rng.next())
                variants.append(b)
            }
            for v in variants {
                let guarded = ChunkPointerDecodeTests.GuardedBytes(v)
                var out: [Sample] = []
                do { try PackedChunk.decode(guarded.bytes, mint: .min, maxt: .max, into: &out) } catch is ChunkDecodeError {}
            }
        }
    }

    /// A gauge in steps of 4096 and a counter rising by varying amounts: packed, about half the
    /// decimal chunk's size, read back through a block like every chunk.
    @Test func blocksUsePackedChunksWhereSmaller() async throws {
        var rng = SplitMix(seed: 11)
        var gauge = 100_000 * 4096.0, counter = 1e9
        let labelsG = lbls(["__name__": "mem"]), labelsC = lbls(["__name__": "rx_bytes_total"])
        var g: [Sample] = [], c: [Sample] = []
        for i in 0..<480 {
            gauge += Double(rng.int(4000) - 2000) * 4096
            counter += Double(450_000 + rng.int(900_000))
            g.append(Sample(t: Int64(i) * 15_000, v: gauge))
            c.append(Sample(t: Int64(i) * 15_000, v: counter))
        }
        for s in [g, c] {
            let p = try #require(Self.packed(s))
            let d = try #require(DecimalChunk.encode(s))
            #expect(p.count * 5 < d.count * 3)
        }
        let dir = TempDir(); defer { dir.cleanup() }
        let ref = MemoryStorage()
        let db = try openDB(dir)
        for i in 0..<480 {
            _ = try await db.append([SeriesSamples(labels: labelsG, samples: [g[i]]), SeriesSamples(labels: labelsC, samples: [c[i]])])
            ref.append(labelsG, g[i].t, g[i].v); ref.append(labelsC, c[i].t, c[i].v)
        }
        try db.close(persistingHead: true)
        let reopened = try openDB(dir)
        #expect(try expectSameAnswers(reopened, ref, mint: .min, maxt: .max, matchers: [[]]))
        #expect(try expectSameAnswers(reopened, ref, mint: 600_000, maxt: 3_000_000, matchers: [[]]))
        try reopened.close()
    }
}
