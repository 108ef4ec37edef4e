import Foundation
import Testing

@testable import Collector

/// "Last used" of ingest tokens: kept in memory on the write path, written to the state store in batches.
@Suite struct TokenUsageTests {
    @Test func lastUseReachesTheStateStoreAndNeverMovesBack() async throws {
        let dir = NSTemporaryDirectory() + "fleetscope-token-usage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try await AccessControl.open(path: dir + "/fleetscope.sqlite")
        let token = try await a.createIngestToken(cluster: "c")
        let other = try await AccessControl.open(path: dir + "/fleetscope.sqlite")
        #expect(try await a.listIngestTokens().map(\.lastUsedAt) == [nil])

        // A write is seen at once by this process, by another only after a flush.
        _ = try await a.cluster(forToken: token)
        #expect(try await a.listIngestTokens()[0].lastUsedAt != nil)
        #expect(try await other.listIngestTokens()[0].lastUsedAt == nil)
        let id = try await a.listIngestTokens()[0].id
        a.usage.record(id, store: a.store, now: 5e9)
        await a.usage.flush(a.store)
        #expect(try await other.listIngestTokens()[0].lastUsedAt == Date(timeIntervalSince1970: 5e9))
        a.usage.record(id, store: a.store, now: 4e9)
        await a.usage.flush(a.store)
        #expect(try await other.listIngestTokens()[0].lastUsedAt == Date(timeIntervalSince1970: 5e9))
    }
}
