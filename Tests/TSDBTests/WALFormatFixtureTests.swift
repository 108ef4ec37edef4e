import DurableIO
import Storage
import Testing
@testable import TSDB

/// Data directories written by older versions must replay. The fixtures were built outside
/// Swift (Python, bitwise CRC-32C) from the format in README.md: `segment` is the first format
/// (record types 1 and 2, written until the WAL was compressed): series record
/// {ref 1, up{job="fixture"}} and samples record {ref 1: (1000, 1.5), (2000, 2)}.
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

    /// Today's format (record types 3 and 4, README.md), built the same way by
    /// scripts/wal-v2-fixture.py: the same append as `segment`.
    /// Both payloads are too small for snappy to shrink, so they carry codec 0.
    static let v2Plain = hexBytes(
        "030000001b31c9a4fc000102085f5f6e616d655f5f027570036a6f620766697874757265040000000e06bfc9de"
            + "0001040402010100d00fd00f1e0a")

    /// An old-format series record followed, in the same segment, by a snappy-compressed samples
    /// record (codec 1): refs 1…6 of `m{i="1"}`…`m{i="6"}`, one sample each at t=5000 with values
    /// 10…60. The snappy block was made by a hand-written greedy compressor (literals and 2-byte
    /// offset copies, one overlapping), not by libsnappy, so the reader is checked against the
    /// format rather than against itself.
    static let v2Snappy = hexBytes(
        "01000000662a8375900102085f5f6e616d655f5f016d016901310202085f5f6e616d655f5f016d016901320302"
            + "085f5f6e616d655f5f016d016901330402085f5f6e616d655f5f016d016901340502085f5f6e616d655f5f016d"
            + "016901350602085f5f6e616d655f5f016d016901360400"
            + "00001a742d75150122140612070200003a030008904e000e01001414283c506478")

    @Test func v2SegmentReplays() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try FS.mkdirAll(dir.path + "/wal")
        try FS.writeFileAtomically(dir.path + "/wal/00000001", Self.v2Plain)
        try FS.writeFileAtomically(dir.path + "/wal/00000002", Self.v2Snappy)
        let db = try openDB(dir)
        #expect(db.metrics.walCorruptionsRepaired == 0)
        let up = try db.querier(mint: .min, maxt: .max).select([.equal("job", "fixture")])
        #expect(up.first?.labels == lbls(["__name__": "up", "job": "fixture"]))
        #expect(up.first?.samples.map(\.t) == [1000, 2000])
        #expect(up.first?.samples.map(\.v) == [1.5, 2])
        let m = try db.querier(mint: .min, maxt: .max).select([.equal("__name__", "m")])
        #expect(m.map { $0.labels["i"] ?? "" } == ["1", "2", "3", "4", "5", "6"])
        #expect(m.map { $0.samples.map(\.t) } == Array(repeating: [5000], count: 6))
        #expect(m.map { $0.samples.map(\.v) } == (1...6).map { [Double($0 * 10)] })
        try db.close()
    }

    /// Today's writer produces exactly the v2 bytes for the same append.
    @Test func writerProducesTheV2Bytes() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try openDB(dir)
        _ = try await db.append([SeriesSamples(labels: lbls(["__name__": "up", "job": "fixture"]),
                                               samples: [Sample(t: 1000, v: 1.5), Sample(t: 2000, v: 2)])])
        try db.close()
        #expect(try FS.readFile(dir.path + "/wal/00000001") == Self.v2Plain)
    }
}
