import Foundation
import Testing

@testable import Collector

/// "Last used" of ingest tokens: kept in memory on the write path, written to the state store in batches.
@Suite struct TokenUsageTests {
    @Test func lastUseReachesTheStateStoreAndNeverMovesBack() throws {
        let dir = NSTemporaryDirectory() + "fleetscope-token-usage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try AccessControl(path: dir + "/fleetscope.sqlite")
        let token = try a.createIngestToken(cluster: "c")
        let other = try AccessControl(path: dir + "/fleetscope.sqlite")
        #expect(try a.listIngestTokens().map(\.lastUsedAt) == [nil])

        // A write is seen at once by this process, by another only after a flush.
        _ = try a.cluster(forToken: token)
        #expect(try a.listIngestTokens()[0].lastUsedAt != nil)
        #expect(try other.listIngestTokens()[0].lastUsedAt == nil)
        let id = try a.listIngestTokens()[0].id
        a.usage.record(id, db: a.db, now: 5e9)
        a.usage.flush(a.db)
        #expect(try other.listIngestTokens()[0].lastUsedAt == Date(timeIntervalSince1970: 5e9))
        a.usage.record(id, db: a.db, now: 4e9)
        a.usage.flush(a.db)
        #expect(try other.listIngestTokens()[0].lastUsedAt == Date(timeIntervalSince1970: 5e9))
    }
}
