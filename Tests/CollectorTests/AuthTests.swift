import Foundation
import RemoteWrite
import Storage
import Testing

@testable import Collector

@Suite struct AuthTests {
    @Test func ingestNeedsAClusterToken() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let req = WriteRequest(timeseries: [series("up", ["cluster": "spoofed"], [(1000, 1)])])
        #expect(try await s.write(req).0 == 401)
        #expect(try await s.write(req, token: "fst_nope").0 == 401)
        let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "store-17")
        #expect(try await s.write(req, token: token).0 == 204)

        let password = try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await s.get("/api/v1/series?match[]=up").0 == 401)
        #expect(try await s.get("/api/v1/series?match[]=up", user: "admin", password: "wrong-password").0 == 401)
        let (code, json) = try await s.get("/api/v1/series?match[]=up", user: "admin", password: password)
        #expect(code == 200)
        // The token decides the cluster; what the sender claimed is kept aside.
        #expect(seriesSet(json) == [["__name__": "up", "cluster": "store-17", "exported_cluster": "spoofed"]])

        _ = try await AdminCommands.revokeTokens(dataDir: s.dataDir, cluster: "store-17")
        #expect(try await s.write(req, token: token).0 == 401)
    }

    @Test func viewerSeesOnlyItsScope() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let eu = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "eu-1")
        let us = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "us-1")
        #expect(try await s.write(WriteRequest(timeseries: [series("up", ["region": "eu"], [(1000, 1)])]), token: eu).0 == 204)
        #expect(try await s.write(WriteRequest(timeseries: [series("up", ["region": "us"], [(1000, 1)])]), token: us).0 == 204)
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "correct horse", role: "viewer", scope: #"{cluster=~"eu-.*"}"#)

        let (_, json) = try await s.get("/api/v1/series?match[]=up", user: "ana", password: "correct horse")
        #expect(seriesSet(json) == [["__name__": "up", "cluster": "eu-1", "region": "eu"]])
        let (_, values) = try await s.get("/api/v1/label/cluster/values", user: "ana", password: "correct horse")
        #expect(values["data"] as? [String] == ["eu-1"])
        let (_, names) = try await s.get("/api/v1/label/region/values", user: "ana", password: "correct horse")
        #expect(names["data"] as? [String] == ["eu"])
    }

    @Test func scopesParse() throws {
        #expect(try ScopeParser.parse("").isEmpty)
        let m = try ScopeParser.parse(#"{region="eu", site=~"fra.*"}"#)
        #expect(m.count == 2)
        #expect(throws: AuthError.self) { try ScopeParser.parse(#"{region:"eu"}"#) }
    }
}
