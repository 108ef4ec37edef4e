import DurableIO
import Storage
import Testing
@testable import TSDB

/// The WAL format is frozen: data directories written by older versions must replay. The
/// fixture was built outside Swift (Python, bitwise CRC-32C) from the format in README.md:
/// series record {ref 1, up{job="fixture"}} and samples record {ref 1: (1000, 1.5), (2000, 2)}.
@Suite struct WALFormatFixtureTests {
    static let segment = hexBytes(
        "010000001a9d48c4ef0102085f5f6e616d655f5f027570036a6f6207666978747572650200000018a9f0f56c"
            + "01d00f0000000000000000f83f00d00f0000000000000040")

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    @Test func oldSegmentReplays() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try FS.mkdirAll(dir.path + "/wal")
        try FS.writeFileAtomically(dir.path + "/wal/00000001", Self.segment)
        let db = try openDB(dir)
        #expect(db.metrics.walCorruptionsRepaired == 0)
        let got = try db.querier(mint: .min, maxt: .max).select([.equal("job", "fixture")])
        #expect(got.count == 1)
        #expect(got.first?.labels == lbls(["__name__": "up", "job": "fixture"]))
        #expect(got.first?.samples.map(\.t) == [1000, 2000])
        #expect(got.first?.samples.map(\.v) == [1.5, 2])
        try db.close()
    }

    /// And today's writer produces exactly those bytes for the same append.
    @Test func writerProducesTheSameBytes() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        _ = try await db.append([SeriesSamples(labels: lbls(["__name__": "up", "job": "fixture"]),
                                               samples: [Sample(t: 1000, v: 1.5), Sample(t: 2000, v: 2)])])
        try db.close()
        #expect(try FS.readFile(dir.path + "/wal/00000001") == Self.segment)
    }
}
