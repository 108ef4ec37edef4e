import Storage
import Testing
@testable import TSDB

/// `TSDB.snapshot(into:)`: blocks hard-linked plus a WAL copy open as a store that answers
/// exactly as the original did at the snapshot; later writes and a compaction of the original
/// do not reach into the snapshot.
extension BlockTests {
    @Test func snapshotOpensWithBlocksAndHead() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let snap = TempDir(); defer { snap.cleanup() }
        let db = try openDB(dir)
        try await fillHours(db, from: 0, hours: 4, series: 20, step: 60_000)
        try db.flushHead()                                         // blocks
        try await fillHours(db, from: 4 * hour, hours: 1, series: 20, step: 60_000)   // head + WAL
        let all = try LabelMatcher(.regexMatch, "node", ".+")
        let want = try db.querier(mint: 0, maxt: 5 * hour).select([all])
        let report = try db.snapshot(into: snap.path + "/tsdb")
        #expect(report.blocks >= 1 && report.walFiles >= 1)
        // The original moves on: more samples and its head cut into blocks.
        try await fillHours(db, from: 5 * hour, hours: 1, series: 20, step: 60_000)
        try db.flushHead()
        try db.close()

        let restored = try TSDB.open(directory: snap.path + "/tsdb", options: .init(), logger: quietLogger)
        let got = try restored.querier(mint: 0, maxt: 6 * hour).select([all])
        #expect(got.map(\.labels) == want.map(\.labels))
        #expect(zip(got, want).allSatisfy { bitsEqual($0.samples, $1.samples) })
        #expect(got.reduce(0) { $0 + $1.samples.count } == 20 * 5 * 60)
        try restored.close()
    }

    @Test func skipHeadCopiesBlocksOnly() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let snap = TempDir(); defer { snap.cleanup() }
        let db = try openDB(dir)
        try await fillHours(db, from: 0, hours: 2, series: 5, step: 60_000)
        let report = try db.snapshot(into: snap.path + "/tsdb", withHead: false)
        #expect(report.walFiles == 0)
        #expect(throws: TSDBError.self) { try db.snapshot(into: snap.path + "/tsdb") }   // never overwrites
        try db.close()
    }
}
