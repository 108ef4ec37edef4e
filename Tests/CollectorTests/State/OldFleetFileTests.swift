import Foundation
import GRDB
import Testing

@testable import Collector

/// A `fleet.sqlite` written before the state store (GRDB migration "v1" only) opens with its
/// clusters, gains `updated_ms`, and keeps its totals.
@Suite struct OldFleetFileTests {
    @Test func oldFleetFileOpensWithItsClusters() async throws {
        let dir = try tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/fleet.sqlite"
        do {
            let db = try DatabaseQueue(path: path)
            var m = DatabaseMigrator()
            m.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE clusters (name TEXT PRIMARY KEY, region TEXT NOT NULL DEFAULT '', site TEXT NOT NULL DEFAULT '',
                        first_seen_ms INTEGER, last_seen_ms INTEGER, samples_total INTEGER NOT NULL DEFAULT 0,
                        targets_up INTEGER NOT NULL DEFAULT 0, targets_down INTEGER NOT NULL DEFAULT 0,
                        cpu_percent REAL, memory_percent REAL, disk_percent REAL,
                        pods_running INTEGER, pods_pending INTEGER, pods_failed INTEGER) WITHOUT ROWID;
                    INSERT INTO clusters (name, region, first_seen_ms, last_seen_ms, samples_total, targets_up, cpu_percent)
                        VALUES ('old-1', 'eu', 1000, 2000, 42, 3, 12.5);
                    """)
            }
            try m.migrate(db)
            try db.close()
        }
        let clock = FakeClock()
        let reg = try await makeRegistry(clock, path: path)
        let c = try #require(reg.cluster("old-1"))
        #expect(c.region == "eu" && c.firstSeenMs == 1000 && c.lastSeenMs == 2000 && c.samplesTotal == 42)
        #expect(c.targetsUp == 3 && c.cpuPercent == 12.5)
        reg.record(cluster: "old-1", series: [fleetSeries("up", [:], [(clock.now, 1)])])
        try await reg.close()
        let again = try await makeRegistry(clock, path: path)
        #expect(again.cluster("old-1")?.samplesTotal == 43)
    }
}
