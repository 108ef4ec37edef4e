import DurableIO
import Testing
@testable import EdgeScraper

/// The queue format is frozen: queues written by older versions must still open and drain.
/// The fixture was built outside Swift (Python, bitwise CRC-32C) from the format in
/// Delivery/README.md: one segment with records ("first-request", 3 samples, key A1B2C3D4)
/// and ("second-request", 4 samples, key 01020304), and a cursor just past the first.
@Suite struct QueueFormatFixtureTests {
    static let segment = hexBytes(
        "46535131010000000d00000003000000d4c3b2a191fcd0bb66697273742d726571756573740e000000040000"
            + "00040302012b9dea6b7365636f6e642d72657175657374")
    static let cursor = hexBytes("4653514301000000000000002500000000000000b34f63ba")
    static let segmentName = "00000000000000000001.seg"

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    @Test func oldQueueResumesAtItsCursor() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try FS.writeFileAtomically(dir.path + "/" + Self.segmentName, Self.segment)
        try FS.writeFileAtomically(dir.path + "/cursor", Self.cursor)
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        let stats = await q.stats()
        #expect(stats.pendingSamples == 4)
        #expect(stats.droppedCorrupt == 0)
        let r = await q.poll()
        #expect(r.map { String(decoding: $0.payload, as: UTF8.self) } == "second-request")
        #expect(r?.samples == 4)
        #expect(r?.key == 0x0102_0304)
        await q.close()
    }

    /// And today's writer produces exactly those bytes for the same appends and acknowledgement.
    @Test func writerProducesTheSameBytes() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let q = try DiskQueue(dir: dir.path, maxBytes: 1 << 20)
        try await q.append([(Array("first-request".utf8), 3)], key: 0xA1B2_C3D4)
        try await q.append([(Array("second-request".utf8), 4)], key: 0x0102_0304)
        let first = await q.poll()
        await q.ack(first!.position)
        await q.close()
        #expect(try FS.readFile(dir.path + "/" + Self.segmentName) == Self.segment)
        #expect(try FS.readFile(dir.path + "/cursor") == Self.cursor)
    }
}
