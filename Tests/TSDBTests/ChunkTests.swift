import Storage
import Testing
import TestSupport
@testable import TSDB

@Suite struct ChunkTests {
    static let specials: [Double] = [
        .nan, -.nan, Double(bitPattern: 0x7ff8_dead_beef_0001), Double(bitPattern: 0xfff0_0000_0000_0001),
        StaleNaN.value, .infinity, -.infinity, 0, -0.0, 1, -1, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, .ulpOfOne, 1e300, -1e-300, 42.5,
    ]

    func roundTrip(_ samples: [Sample]) throws {
        var a = XORChunk.Appender()
        for s in samples { let ok = a.append(s.t, s.v); #expect(ok) }
        let got = try XORChunk.decode(a.bytes)
        #expect(bitsEqual(got, samples), "round trip of \(samples.count) samples")
    }

    @Test func randomSeriesRoundTrip() throws {
        var rng = SplitMix(seed: 1)
        for round in 0..<300 {
            let n = Int.random(in: 1...200, using: &rng)
            var t = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
            var v = Double.random(in: -1000...1000, using: &rng)
            var out: [Sample] = []
            for _ in 0..<n {
                switch round % 5 {
                case 0: t += 15_000  // regular scrape
                case 1: t += Int64.random(in: 1...30_000, using: &rng)  // jitter
                case 2: t += Int64.random(in: 1...Int64(1) << 40, using: &rng)  // huge gaps
                default: t += [1, 15_000, 15_001, 14_999, 1 << 20, 1 << 33][Int.random(in: 0..<6, using: &rng)]
                }
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: v = Self.specials.randomElement(using: &rng)!
                case 1: v += 1
                case 2: v = Double(bitPattern: rng.next())
                case 3: v = -v
                default: v = Double(Int.random(in: -5...5, using: &rng))
                }
                out.append(Sample(t: t, v: v))
            }
            try roundTrip(out)
        }
    }

    @Test func adversarialValuesAndTimes() throws {
        try roundTrip(Self.specials.enumerated().map { Sample(t: Int64($0.offset), v: $0.element) })
        // Extreme timestamps: the deltas overflow Int64 and must wrap back exactly.
        try roundTrip([Sample(t: .min, v: 1), Sample(t: 0, v: 2), Sample(t: .max - 1, v: 3), Sample(t: .max, v: StaleNaN.value)])
        try roundTrip([Sample(t: .min, v: .nan), Sample(t: .max, v: -.infinity)])
        try roundTrip([Sample(t: -5, v: -1), Sample(t: -4, v: -2), Sample(t: 1 << 62, v: -3), Sample(t: (1 << 62) + 1, v: -4)])
        // Delta-of-delta at each bucket edge.
        var t: Int64 = 0
        var samples = [Sample(t: 0, v: 0), Sample(t: 10, v: 0)]
        t = 10
        var delta: Int64 = 10
        for dod: Int64 in [8192, -8191, 8193, 65536, -65535, 65537, 524_288, -524_287, 524_289, 1 << 40, 0, 1] {
            delta += dod
            if delta <= 0 { delta = 1 }
            t += delta
            samples.append(Sample(t: t, v: Double(dod)))
        }
        try roundTrip(samples)
        // Single sample, and stale markers only.
        try roundTrip([Sample(t: 123, v: StaleNaN.value)])
        try roundTrip((0..<130).map { Sample(t: Int64($0) * 15_000, v: StaleNaN.value) })
    }

    @Test func appenderRejectsEqualAndEarlierTimestamps() throws {
        var a = XORChunk.Appender()
        let r = [a.append(100, 1), a.append(100, 2), a.append(99, 2), a.append(101, 3), a.append(101, 3)]
        #expect(r == [true, false, false, true, false])
        #expect(a.count == 2)
        let got = try XORChunk.decode(a.bytes)
        #expect(bitsEqual(got, [Sample(t: 100, v: 1), Sample(t: 101, v: 3)]))
    }

    @Test func regularSeriesCompressWell() throws {
        var a = XORChunk.Appender()
        for i in 0..<120 { a.append(Int64(i) * 15_000, Double(i % 3)) }
        // Constant interval and small values: a few bits per sample.
        #expect(a.bytes.count < 120 * 3)
    }

    @Test func garbageNeverTraps() {
        var rng = SplitMix(seed: 7)
        var valid = XORChunk.Appender()
        for i in 0..<50 { valid.append(Int64(i) * 1000 + Int64(i * i), Double(i) * 1.5) }
        for round in 0..<2000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = valid.bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
                if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
            }
            // Must either decode or throw; timestamps that come out must be increasing.
            if let s = try? XORChunk.decode(bytes) {
                #expect(zip(s, s.dropFirst()).allSatisfy { $0.t < $1.t })
            }
        }
    }
}

@Suite struct DecimalChunkTests {
    func roundTrip(_ samples: [Sample]) throws -> Int? {
        guard let data = DecimalChunk.encode(samples) else { return nil }
        let got = try DecimalChunk.decode(data)
        #expect(bitsEqual(got, samples), "decimal round trip of \(samples.prefix(3))…")
        return data.count
    }

    @Test func decimalSeriesRoundTripAndBeatXOR() throws {
        var rng = SplitMix(seed: 21)
        for round in 0..<300 {
            let n = Int.random(in: 1...480, using: &rng)
            let digits = Int.random(in: 0...4, using: &rng)
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            var t = Int64.random(in: -1_000_000...1_000_000_000_000, using: &rng)
            var m = Int64.random(in: -1_000_000...1_000_000_000, using: &rng)
            var out: [Sample] = []
            for _ in 0..<n {
                t += round % 3 == 0 ? 15_000 : Int64.random(in: 1...100_000, using: &rng)
                switch round % 4 {
                case 0: m += Int64.random(in: 0...2000, using: &rng)  // counter
                case 1: m = Int64.random(in: -500...500, using: &rng)  // noisy gauge
                case 2: break  // constant
                default: m += Int64.random(in: -(1 << 40)...(1 << 40), using: &rng)  // wild
                }
                out.append(Sample(t: t, v: Double(m) / scale))
            }
            let size = try roundTrip(out)
            #expect(size != nil, "exact decimals must encode (round \(round))")
            if round % 4 == 0, n > 100, let size {
                #expect(size < XORChunk.encode(out).count)
            }
        }
    }

    @Test func nonDecimalValuesAreRefused() throws {
        for v in [Double.nan, StaleNaN.value, .infinity, -.infinity, -0.0, .pi, 1e300, .leastNonzeroMagnitude] {
            #expect(DecimalChunk.encode([Sample(t: 1, v: 1), Sample(t: 2, v: v)]) == nil, "\(v)")
        }
        // 0.1 + 0.2 is no m / 10^e, but it is exactly 3 × 0.1: the multiplying form keeps it bit for bit.
        let sum = [Sample(t: 1, v: 1), Sample(t: 2, v: 0.1 + 0.2)]
        #expect(DecimalChunk.encode(sum)?[2] == DecimalChunk.multiplyForm | 1)
        #expect(bitsEqual(try DecimalChunk.decode(try #require(DecimalChunk.encode(sum))), sum))
        #expect(try roundTrip([Sample(t: 1, v: 0.1), Sample(t: 2, v: 0.25), Sample(t: 3, v: -7)]) != nil)
    }

    @Test func garbageNeverTraps() {
        var rng = SplitMix(seed: 9)
        let valid = DecimalChunk.encode((0..<100).map { Sample(t: Int64($0) * 1000, v: Double($0 * $0) / 100) })!
        for round in 0..<2000 {
            var b = round % 2 == 0 ? (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } : valid
            if round % 2 == 1 { for _ in 0..<3 { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) } }
            if let s = try? DecimalChunk.decode(b) { #expect(zip(s, s.dropFirst()).allSatisfy { $0.t < $1.t }) }
        }
    }
}
