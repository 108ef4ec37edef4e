import Foundation
import GRDB
import RemoteWrite
import Storage
import Testing
import TestSupport

@testable import Collector

/// Issue 11 item 3: a cluster cannot move itself into another scope.
@Suite struct TokenLabelTests {
    @Test func tokenLabelsOverrideWhatTheClusterSends() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "store-eu-1", labels: ["region=eu", "site=ber"])
        // The cluster claims region us (and another cluster name); one series sends no region.
        let req = WriteRequest(timeseries: [
            series("up", ["cluster": "store-us-1", "region": "us", "site": "ber"], [(1000, 0)]),
            series("node_load1", [:], [(1000, 0.5)]),
        ])
        #expect(try await s.write(req, token: token).0 == 204)

        try await AdminCommands.addUser(dataDir: s.dataDir, name: "root", password: "root-password", role: "admin", scope: "all")
        let (code, json) = try await s.get("/api/v1/series?match[]=%7B__name__%3D~%22up%7Cnode_load1%22%7D", user: "root", password: "root-password")
        #expect(code == 200)
        #expect(seriesSet(json) == [
            ["__name__": "up", "cluster": "store-eu-1", "exported_cluster": "store-us-1",
             "region": "eu", "exported_region": "us", "site": "ber"],
            ["__name__": "node_load1", "cluster": "store-eu-1", "region": "eu", "site": "ber"],
        ])

        // The fleet registry files the cluster under the token's region and site.
        let entry = try #require(s.server.fleet.cluster("store-eu-1"))
        #expect(entry.region == "eu")
        #expect(entry.site == "ber")
        #expect(s.server.fleet.cluster("store-us-1") == nil)

        // A viewer of region us sees none of it; a viewer of region eu sees it.
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "us-viewer", password: "us-password", role: "viewer", scope: #"{region="us"}"#)
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "eu-viewer", password: "eu-password", role: "viewer", scope: #"{region="eu"}"#)
        #expect(seriesSet(try await s.get("/api/v1/series?match[]=up", user: "us-viewer", password: "us-password").1).isEmpty)
        #expect(seriesSet(try await s.get("/api/v1/series?match[]=up", user: "eu-viewer", password: "eu-password").1).count == 1)
    }

    @Test func registryTakesRegionAndSiteFromTheTokenOnlyWhenBound() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let bound = IngestIdentity(cluster: "a", labels: [Label("region", "eu"), Label("site", "ber")])
        reg.record(identity: bound, series: [fleetSeries("up", ["region": "us", "site": "nyc"], [(clock.now, 1)])])
        #expect(reg.cluster("a")?.region == "eu")
        #expect(reg.cluster("a")?.site == "ber")
        // A token that binds only the region leaves the site to the samples.
        let regionOnly = IngestIdentity(cluster: "b", labels: [Label("region", "eu")])
        reg.record(identity: regionOnly, series: [fleetSeries("up", ["region": "us", "site": "nyc"], [(clock.now, 1)])])
        #expect(reg.cluster("b")?.region == "eu")
        #expect(reg.cluster("b")?.site == "nyc")
    }

    @Test func validatorKeepsTheSendersValueAsExported() async throws {
        let v = SeriesValidator()
        let ts = series("m", ["region": "us", "zone": "z1"], [(1, 1)])
        let labels = try v.validate(ts, cluster: "c", bound: [Label("region", "eu"), Label("zone", "z1")]).get()
        #expect(labels == Labels(["__name__": "m", "cluster": "c", "region": "eu", "exported_region": "us", "zone": "z1"]))
    }

    @Test(arguments: ["region", "region=", "cluster=x", "__name__=x", "exported_region=x", "1abc=x", "reg-ion=x", "region=e\nu"])
    func badLabelArgumentsAreRefused(_ arg: String) async throws {
        let dir = try tempDataDir()
        await #expect(throws: AuthError.self) { try await AdminCommands.createToken(dataDir: dir, cluster: "c", labels: [arg]) }
    }

    @Test func aLabelGivenTwiceIsRefused() async throws {
        let dir = try tempDataDir()
        await #expect(throws: AuthError.self) { try await AdminCommands.createToken(dataDir: dir, cluster: "c", labels: ["region=eu", "region=us"]) }
    }

    @Test func tokenLabelsAreStoredWithTheTokenHash() async throws {
        let dir = try tempDataDir()
        let token = try await AdminCommands.createToken(dataDir: dir, cluster: "c", labels: ["site=ber", "region=eu"])
        let identity = try await AccessControl.open(path: dir + "/fleetscope.sqlite").cluster(forToken: token)
        #expect(identity == IngestIdentity(cluster: "c", labels: [Label("region", "eu"), Label("site", "ber")]))
    }

    /// A database written before token labels existed keeps its tokens and users.
    @Test func aVersion1DatabaseIsMigrated() async throws {
        let dir = try tempDataDir()
        let path = dir + "/fleetscope.sqlite"
        let token = "fst_" + String(repeating: "ab", count: 20)
        let hash = AccessControl.sha256(token)
        let q = try DatabaseQueue(path: path)
        try await q.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1');
                CREATE TABLE ingest_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, revoked_at REAL);
                CREATE TABLE users (name TEXT PRIMARY KEY, password_bcrypt TEXT NOT NULL, role TEXT NOT NULL,
                    scope TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
                """)
            try db.execute(sql: "INSERT INTO ingest_tokens (cluster, token_sha256, created_at) VALUES ('old', ?, 1)", arguments: [hash])
            try db.execute(sql: "INSERT INTO users VALUES ('ana', ?, 'viewer', '{region=\"eu\"}', 1)",
                           arguments: [AccessControl.hashPassword("old-password")])
        }
        try q.close()
        let a = try await AccessControl.open(path: path)
        #expect(try await a.cluster(forToken: token) == IngestIdentity(cluster: "old"))
        let r = await a.login.authenticate(authorization: basicAuth("ana", "old-password"), remoteAddress: "127.0.0.1")
        guard case .success(.user(let name, .viewer, let scope)) = r else { Issue.record("login after migration: \(r)"); return }
        #expect(name == "ana")
        #expect(scope.alternatives?.count == 1)
        #expect(try await a.listUsers().map(\.name) == ["ana"])
    }
}

func tempDataDir() throws -> String {
    try tempDir("test")
}
