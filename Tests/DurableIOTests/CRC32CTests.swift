import DurableIO
import TestSupport
import Testing

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
        var rng = SplitMix(seed: 77)
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
