import Storage
import Testing
import TestSupport
@testable import TSDB

/// Decimal chunks of both forms: `m / 10^e` and `m × (1 / 10^e)`, the latter flagged by the top
/// bit of the exponent byte.
@Suite struct DecimalFormTests {
    /// Values rounded to a quantum the way Go code and the benchmark's generator do it.
    static func quantised(_ n: Int, _ q: Double, seed: UInt64) -> [Sample] {
        var rng = SplitMix(seed: seed)
        var x = 1234.0
        return (0..<n).map { i in
            x += Double(rng.int(2000)) * q
            x = (x / q).rounded() * q
            return Sample(t: Int64(i) * 15_000, v: x)
        }
    }

    @Test func multipliedDecimalsGetTheMultiplyForm() throws {
        for (q, e) in [(0.01, 2), (0.000001, 6)] {
            let s = Self.quantised(480, q, seed: UInt64(e))
            // Division alone would not do: some value differs from m / 10^e in the last bit.
            #expect(s.contains { v in
                let m = (v.v * DecimalChunk.powers[e]).rounded()
                return (m / DecimalChunk.powers[e]).bitPattern != v.v.bitPattern
            })
            let enc = try #require(DecimalChunk.encode(s))
            #expect(enc[2] == DecimalChunk.multiplyForm | UInt8(e))
            #expect(bitsEqual(try DecimalChunk.decode(enc), s))
            #expect(enc.count * 2 < XORChunk.encode(s).count)
            // Windows decode in place like every chunk.
            var out: [Sample] = []
            try DecimalChunk.decode(enc, mint: s[100].t, maxt: s[200].t, into: &out)
            #expect(bitsEqual(out, Array(s[100...200])))
        }
    }

    @Test func divisionStaysTheFirstChoice() throws {
        let s = (0..<100).map { Sample(t: Int64($0) * 15_000, v: Double($0 * 7) / 100) }
        #expect(try #require(DecimalChunk.encode(s))[2] == 2)
    }

    @Test func badExponentsOfEitherFormAreErrors() throws {
        let enc = try #require(DecimalChunk.encode(Self.quantised(20, 0.01, seed: 1)))
        for b: UInt8 in [13, 0x7f, 0x8d, 0xff] {
            var bad = enc
            bad[2] = b
            #expect(throws: ChunkDecodeError.self) { try DecimalChunk.decode(bad) }
        }
    }
}
