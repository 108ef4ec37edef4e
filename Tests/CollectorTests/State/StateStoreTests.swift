import Foundation
import Logging
import Storage
import TestSupport
import Testing
@testable import Collector

/// Issue 13: one storage protocol, two implementations, the same tests. Each case runs on
/// SQLite and on a private PostgreSQL.
@Suite struct StateStoreTests {
    @Test(arguments: StateBackend.allCases)
    func migrationsApplyOnceAndTwoInstancesAgree(_ backend: StateBackend) async throws {
        try await withStateStores(backend, count: 2) { stores in
            // Both at once, as two collectors starting together: neither step may run twice.
            async let a = accessControl(stores[0])
            async let b = accessControl(stores[1])
            let (x, y) = try await (a, b)
            try await x.migrate()
            _ = try await x.createIngestToken(cluster: "c1")
            #expect(try await y.listIngestTokens().map(\.cluster) == ["c1"])
            let fleet = FleetStore(store: stores[1])
            try await fleet.migrate()
            try await fleet.migrate()
            #expect(try await fleet.load().rows.isEmpty)
        }
    }

    @Test(arguments: StateBackend.allCases)
    func tokensCreateLookUpAndRevoke(_ backend: StateBackend) async throws {
        try await withStateStores(backend) { stores in
            let a = try await accessControl(stores[0])
            let eu = try await a.createIngestToken(cluster: "eu-1", labels: [Label("region", "eu")])
            let (usID, us) = try await a.createIngestTokenWithID(cluster: "us-1", labels: [], by: .cli)
            let us2 = try await a.createIngestToken(cluster: "us-1")
            #expect(try await a.cluster(forToken: eu) == IngestIdentity(cluster: "eu-1", labels: [Label("region", "eu")]))
            #expect(try await a.cluster(forToken: us)?.cluster == "us-1")
            #expect(try await a.cluster(forToken: "fst_not-a-token") == nil)
            #expect(try await a.listIngestTokens().map(\.cluster) == ["eu-1", "us-1", "us-1"])
            #expect(try await a.listIngestTokens(cluster: "us-1").map(\.id).first == usID)

            #expect(try await a.revokeIngestToken(id: usID, by: .cli)?.cluster == "us-1")
            #expect(try await a.revokeIngestToken(id: usID, by: .cli) == nil)
            #expect(try await a.cluster(forToken: us) == nil)
            #expect(try await a.cluster(forToken: us2) != nil)
            #expect(try await a.revokeIngestTokens(cluster: "us-1") == 1)
            #expect(try await a.cluster(forToken: us2) == nil)
            #expect(try await a.listIngestTokens().map(\.cluster) == ["eu-1"])
            // Only the hash is stored.
            let stored = try await stores[0].read { db in try await db.query("SELECT token_sha256 FROM ingest_tokens", []) }
            #expect(!stored.contains { $0.optionalString("token_sha256") == eu })
            #expect(stored.contains { $0.optionalString("token_sha256") == AccessControl.sha256(eu) })
        }
    }

    @Test(arguments: StateBackend.allCases)
    func usersAddReplacePasswdDeleteList(_ backend: StateBackend) async throws {
        try await withStateStores(backend) { stores in
            let a = try await accessControl(stores[0])
            #expect(try await a.userCount == 0)
            try await a.addUser(name: "zed", password: "zed password", role: .admin, scope: nil)
            try await a.addUser(name: "ana", password: "first password", role: .viewer, scope: #"{region="eu"}"#)
            try await a.addUser(name: "ana", password: "second password", role: .viewer, scope: "all")
            #expect(try await a.listUsers().map { "\($0.name) \($0.role) \($0.scope)" } == ["ana viewer ", "zed admin "])
            #expect(await ok(a, "ana", "second password"))
            try await a.setPassword(name: "ana", password: "third password")
            #expect(await ok(a, "ana", "third password"))
            await #expect(throws: AuthError.self) { try await a.setPassword(name: "nobody", password: "some password") }
            #expect(try await a.updateUser(name: "zed", .init(role: .viewer, scope: "all"), by: .cli) == .lastAdmin)
            #expect(try await a.deleteUserUnlessLastAdmin(name: "zed", by: .cli) == .lastAdmin)
            #expect(try await a.updateUser(name: "ana", .init(role: .admin), by: .cli) == .changed)
            #expect(try await a.deleteUserUnlessLastAdmin(name: "zed", by: .cli) == .changed)
            try await a.deleteUser(name: "ana")
            await #expect(throws: AuthError.self) { try await a.deleteUser(name: "ana") }
            #expect(try await a.listUsers().isEmpty)
            #expect(!(await ok(a, "ana", "third password")))
            let actions = try await a.auditEvents(limit: 100).map(\.action).reversed()
            #expect(Array(actions) == ["user.create", "user.create", "user.replace", "user.passwd", "user.update", "user.delete", "user.delete"])
        }
    }

    @Test(arguments: StateBackend.allCases)
    func aFailedChangeWritesNoAuditRow(_ backend: StateBackend) async throws {
        try await withStateStores(backend) { stores in
            let a = try await accessControl(stores[0])
            await #expect(throws: (any Error).self) {
                try await stores[0].write { db in
                    try await AuditLog.record(db, .cli, "user.create", target: "user broken")
                    // NOT NULL columns missing: the statement fails, and with it the event.
                    try await db.execute("INSERT INTO users (name) VALUES (?)", ["broken"])
                }
            }
            #expect(try await a.auditEvents(limit: 10).isEmpty)
            #expect(try await a.listUsers().isEmpty)
            _ = try await a.createIngestToken(cluster: "c")
            #expect(try await a.auditEvents(limit: 10).map(\.action) == ["token.create"])
        }
    }

    @Test(arguments: StateBackend.allCases)
    func tokenUsageFlushesAndNeverMovesBack(_ backend: StateBackend) async throws {
        try await withStateStores(backend, count: 2) { stores in
            let a = try await accessControl(stores[0]), other = try await accessControl(stores[1])
            let token = try await a.createIngestToken(cluster: "c")
            #expect(try await a.listIngestTokens()[0].lastUsedAt == nil)
            // A write is seen at once by this process, by another only after a flush.
            _ = try await a.cluster(forToken: token)
            #expect(try await a.listIngestTokens()[0].lastUsedAt != nil)
            #expect(try await other.listIngestTokens()[0].lastUsedAt == nil)
            let id = try await a.listIngestTokens()[0].id
            a.usage.record(id, store: a.store, now: 5e9)
            await a.usage.flush(a.store)
            #expect(try await other.listIngestTokens()[0].lastUsedAt == Date(timeIntervalSince1970: 5e9))
            other.usage.record(id, store: other.store, now: 4e9)
            await other.usage.flush(other.store)
            #expect(try await a.listIngestTokens()[0].lastUsedAt == Date(timeIntervalSince1970: 5e9))
        }
    }

    @Test(arguments: StateBackend.allCases)
    func fleetRegistryPersistsReloadsAndMerges(_ backend: StateBackend) async throws {
        try await withStateStores(backend) { stores in
            let clock = FakeClock()
            let t = clock.now
            let a = try await fleetRegistry(stores[0], clock)
            a.record(cluster: nil, series: [fleetSeries("up", ["cluster": "x", "region": "eu"], [(t - 60_000, 1), (t, 1)])])
            try await a.flush()
            // What another collector (or an earlier run) wrote for the same cluster merges in.
            try await FleetStore(store: stores[0]).save([FleetRow(name: "x", region: "us", site: "", firstSeenMs: t - 120_000,
                                                                  lastSeenMs: t - 30_000, samplesTotal: 5, targetsUp: 0, targetsDown: 3)])
            let rows = try await FleetStore(store: stores[0]).load().rows
            #expect(rows.count == 1)
            #expect(rows.first?.firstSeenMs == t - 120_000)
            #expect(rows.first?.lastSeenMs == t)
            #expect(rows.first?.samplesTotal == 7)
            // Older than the stored last-seen: region and targets stay those of the newer row.
            #expect(rows.first?.region == "eu")
            #expect(rows.first?.targetsUp == 1 && rows.first?.targetsDown == 0)

            let b = try await fleetRegistry(stores[0], clock)
            let x = try #require(b.cluster("x"))
            #expect(x.samplesTotal == 7 && x.lastSeenMs == t && x.firstSeenMs == t - 120_000 && x.region == "eu")
            // Totals grow by what each adds, never double.
            clock.advance(seconds: 61)
            b.record(cluster: nil, series: [fleetSeries("up", ["cluster": "x", "region": "eu"], [(t + 61_000, 1)])])
            try await b.flush()
            try await b.close()
            #expect(try await FleetStore(store: stores[0]).load().rows.first?.samplesTotal == 8)
        }
    }

    @Test(arguments: StateBackend.allCases)
    func fleetReloadReadsOnlyRowsWrittenSince(_ backend: StateBackend) async throws {
        try await withStateStores(backend) { stores in
            let fs = FleetStore(store: stores[0])
            try await fs.migrate()
            func row(_ name: String) -> FleetRow {
                FleetRow(name: name, region: "", site: "", firstSeenMs: 1, lastSeenMs: 2, samplesTotal: 1, targetsUp: 0, targetsDown: 0)
            }
            try await fs.save([row("x")])
            let mark = try await fs.load().nowMs
            try await fs.save([row("y")])
            let after = try await fs.load(since: mark)
            #expect(after.rows.map(\.name).contains("y"))
            #expect(try await fs.load(since: after.nowMs + 1).rows.isEmpty)
            #expect(try await fs.load().rows.map(\.name).sorted() == ["x", "y"])
        }
    }

    /// Two collectors on one PostgreSQL: what one does, the other sees.
    @Test func twoReplicasShareTokensUsersAndTheFleet() async throws {
        try await withStateStores(.postgres, count: 2) { stores in
            let a = try await accessControl(stores[0]), b = try await accessControl(stores[1])
            let token = try await a.createIngestToken(cluster: "store-1", labels: [Label("region", "eu")])
            #expect(try await b.cluster(forToken: token)?.cluster == "store-1")
            #expect(try await b.revokeIngestTokens(cluster: "store-1", by: .cli) == 1)
            #expect(try await a.cluster(forToken: token) == nil)
            try await b.addUser(name: "ana", password: "ana password", role: .viewer, scope: "all")
            #expect(await ok(a, "ana", "ana password"))

            let clock = FakeClock()
            let t = clock.now
            let ra = try await fleetRegistry(stores[0], clock), rb = try await fleetRegistry(stores[1], clock)
            ra.record(cluster: "store-1", series: [fleetSeries("up", [:], [(t, 1)])])
            #expect(rb.cluster("store-1") == nil)
            try await ra.flush()
            try await rb.flush()
            let seen = try #require(rb.cluster("store-1"))
            #expect(seen.lastSeenMs == t)
            #expect(seen.health == ra.cluster("store-1")?.health)
            // B hears newer samples; after both flush, A shows B's last-seen.
            clock.advance(seconds: 90)
            rb.record(cluster: "store-1", series: [fleetSeries("up", [:], [(t + 90_000, 0)])])
            try await rb.flush()
            try await ra.flush()
            #expect(ra.cluster("store-1")?.lastSeenMs == t + 90_000)
            #expect(ra.cluster("store-1")?.targetsDown == 1)
            #expect(ra.cluster("store-1")?.samplesTotal == 2)
        }
    }

    /// PostgreSQL down: a token check fails (503 upstream), it never says "unknown token".
    @Test func anUnreachableStoreFailsInsteadOfRefusing() async throws {
        let pg = try PostgresServer()
        defer { pg.stop() }
        let store = try PostgresStateStore(options: try PostgresOptions(url: pg.url), logger: Logger(label: "test-state"), timeout: .seconds(1))
        defer { store.shutdown() }
        let a = try await accessControl(store)
        let token = try await a.createIngestToken(cluster: "c")
        #expect(try await a.cluster(forToken: token)?.cluster == "c")
        pg.stop()
        await #expect(throws: (any Error).self) { _ = try await a.cluster(forToken: token) }
        await #expect(throws: (any Error).self) { try await store.ping() }
    }

    private func ok(_ a: AccessControl, _ user: String, _ password: String) async -> Bool {
        if case .success = await a.login.authenticate(authorization: basicAuth(user, password), remoteAddress: nil) { return true }
        return false
    }
}
