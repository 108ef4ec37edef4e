import Testing

@testable import Storage

/// The word-at-a-time helpers under the ingest fast path: `LabelHash.absorb` (which reads the last
/// bytes of a string with overlapping loads) and `LabelBytes.equal` (eight bytes per compare).
@Suite struct LabelBytesPrimitivesTests {
    private static func hash(_ b: [UInt8], seed: UInt64 = 1) -> UInt64 {
        var h = LabelHash(seed: seed)
        b.withUnsafeBufferPointer { h.absorb($0) }
        return h.state
    }

    /// Every byte position of strings of 0-40 bytes counts: changing any single byte changes the
    /// hash, and so does the length (a string and the same string with a zero byte appended).
    @Test func everyByteAndTheLengthChangeTheHash() {
        for n in 0...40 {
            let base = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let h = Self.hash(base)
            for i in 0..<n {
                var c = base
                c[i] ^= 0x5A
                #expect(Self.hash(c) != h, "length \(n), byte \(i)")
            }
            #expect(Self.hash(base + [0]) != h, "length \(n)")
        }
    }

    /// A `String` and its UTF-8 bytes hash alike (the head and the fleet registry hash label
    /// sets either way and must agree).
    @Test func stringsAndBytesHashAlike() {
        for s in ["", "a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghi", "node_cpu_seconds_total", "é…ü", String(repeating: "x", count: 100)] {
            var a = LabelHash(seed: 9)
            a.absorb(s)
            #expect(a.state == Self.hash(Array(s.utf8), seed: 9), "\(s)")
        }
    }

    /// `equal` against a byte-by-byte compare, for lengths around the word size and a difference
    /// at every position.
    @Test func equalAgreesWithElementwiseCompare() {
        for n in 0...33 {
            let a = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
            for i in -1..<n {
                var b = a
                if i >= 0 { b[i] ^= 0x80 }
                let got = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in LabelBytes.equal(pa, pb) } }
                #expect(got == (a == b), "length \(n), differs at \(i)")
                let str = String(decoding: b, as: UTF8.self)
                if str.utf8.elementsEqual(b) {
                    let viaString = a.withUnsafeBufferPointer { LabelBytes.equal(str, $0) }
                    #expect(viaString == (a == b), "string, length \(n), differs at \(i)")
                }
            }
            let longer = a + [1]
            #expect(!a.withUnsafeBufferPointer { pa in longer.withUnsafeBufferPointer { LabelBytes.equal(pa, $0) } })
        }
    }
}
