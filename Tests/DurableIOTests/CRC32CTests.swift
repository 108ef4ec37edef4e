import DurableIO
import Testing

/// A fixed-seed generator, so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct CRC32CTests {
    @Test func crc32cKnownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let long = (0..<1000).map { UInt8($0 % 251) }
        var c: UInt32 = 0
        long.withUnsafeBytes { raw in
            c = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<333]))
            c = CRC32C.update(c, UnsafeRawBufferPointer(rebasing: raw[333...]))
        }
        #expect(c == CRC32C.checksum(long))
    }

    /// The CPU-instruction path (used where available) agrees with the table version for every
    /// length, alignment and split of running checksums.
    @Test func crc32cInstructionMatchesTables() {
        var rng = SplitMix64(77)
        let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes.withUnsafeBytes { raw in
            for _ in 0..<2000 {
                let start = Int(rng.next() % 64)
                let len = Int(rng.next() % 600)
                let cut = len == 0 ? 0 : Int(rng.next() % UInt64(len))
                let whole = UnsafeRawBufferPointer(rebasing: raw[start..<(start + len)])
                let table = CRC32C.tableUpdate(0, whole)
                #expect(CRC32C.update(0, whole) == table)
                let a = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[start..<(start + cut)]))
                #expect(CRC32C.update(a, UnsafeRawBufferPointer(rebasing: raw[(start + cut)..<(start + len)])) == table)
            }
        }
    }
}
