import Foundation
import GRDB
import Storage
import Testing

@testable import Collector

/// A data directory made by a collector from before the audit log opens as it was, and gains it.
@Suite struct AuditMigrationTests {
    /// `fleetscope.sqlite` exactly as the previous version's migrations left it (v1, v2), with a
    /// token and a user in it.
    static func oldDatabase(at path: String) throws -> String {
        let db = try DatabaseQueue(path: path)
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE ingest_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, revoked_at REAL);
                CREATE TABLE users (name TEXT PRIMARY KEY, password_bcrypt TEXT NOT NULL, role TEXT NOT NULL,
                    scope TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
                """)
        }
        m.registerMigration("v2: token labels, user updated_at") { db in
            try db.execute(sql: "ALTER TABLE ingest_tokens ADD COLUMN labels TEXT NOT NULL DEFAULT ''")
            try db.execute(sql: "ALTER TABLE users ADD COLUMN updated_at REAL")
            try db.execute(sql: "UPDATE users SET updated_at = created_at")
        }
        try m.migrate(db)
        let token = "fst_" + String(repeating: "ab", count: 20)
        try db.write { db in
            try db.execute(sql: "INSERT INTO ingest_tokens (cluster, token_sha256, created_at, labels) VALUES ('old-1', ?, 1000, '{\"region\":\"eu\"}')",
                           arguments: [AccessControl.sha256(token)])
            try db.execute(sql: "INSERT INTO users (name, password_bcrypt, role, scope, created_at, updated_at) VALUES ('old', ?, 'viewer', '{region=\"eu\"}', 1000, 1000)",
                           arguments: [AccessControl.hashPassword("old password")])
        }
        try db.close()
        return token
    }

    @Test func oldDataDirectoryGainsTheAuditLogAndKeepsItsTokensAndUsers() async throws {
        let dir = NSTemporaryDirectory() + "fleetscope-audit-migration-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let token = try Self.oldDatabase(at: dir + "/fleetscope.sqlite")

        let a = try await AccessControl.open(path: dir + "/fleetscope.sqlite")
        #expect(try await a.cluster(forToken: token) == IngestIdentity(cluster: "old-1", labels: [Label("region", "eu")]))
        let listed = try await a.listIngestTokens()
        #expect(listed.map(\.cluster) == ["old-1"] && listed[0].createdAt == Date(timeIntervalSince1970: 1000))
        #expect(try await a.listUsers().map(\.name) == ["old"])
        if case .success(.user("old", .viewer, let scope)) = await a.login.authenticate(authorization: basicAuth("old", "old password"), remoteAddress: nil) {
            #expect(scope.alternatives?.map { $0.map(\.description) } == [[#"region="eu""#]])
        } else {
            Issue.record("the old user no longer logs in")
        }
        #expect(try await a.auditEvents(limit: 10).isEmpty)

        // Changes from now on are recorded, by the commands too; opening again migrates nothing twice.
        _ = try await AdminCommands.revokeTokens(dataDir: dir, cluster: "old-1")
        #expect(try await a.cluster(forToken: token) == nil)
        let again = try await AccessControl.open(path: dir + "/fleetscope.sqlite")
        let events = try await again.auditEvents(limit: 10)
        #expect(events.map { [$0.actor, $0.action, $0.target, $0.detail] } == [["cli", "token.revoke", "cluster old-1", "1 token(s)"]])
    }
}
