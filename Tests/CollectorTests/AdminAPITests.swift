import Foundation
import GRDB
import RemoteWrite
import Storage
import Testing

@testable import Collector

/// The admin API against a real collector on loopback: what provisioning tools and the admin
/// page do, and what nobody else may.
@Suite struct AdminAPITests {
    /// A collector with auth on, its first admin and an eu-scoped viewer `ana`.
    struct Site {
        let s: TestServer
        let admin: String
        var adminAuth: String { basicAuthHeader("admin", admin) }
        var viewer: String { basicAuthHeader("ana", "ana password") }

        /// A JSON request as the admin (or `auth`); answers status and the parsed body.
        func call(_ method: String, _ path: String, _ json: String? = nil, auth: String? = nil,
                  headers: [String] = []) async throws -> (Int, [String: Any]) {
            var h = [auth ?? adminAuth] + headers
            if json != nil { h.append("Content-Type: application/json") }
            let (code, _, body) = try await s.raw(method, path, headers: h, body: Array((json ?? "").utf8))
            return (code, (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? ["raw": body])
        }

        func write(_ token: String, cluster: String = "x") async throws -> Int {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            return try await s.write(WriteRequest(timeseries: [series("up", ["job": "node", "region": "us"], [(now - 1000, 1)])]), token: token).0
        }
    }

    static func site() async throws -> Site {
        let s = try await TestServer(noAuth: false)
        let admin = try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "ana password", role: "viewer", scope: #"{region="eu"}"#)
        return Site(s: s, admin: admin)
    }

    @Test func tokenCreatedThroughTheAPIWritesAtOnceAndRevokedStopsAtOnce() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        let (code, created) = try await f.call("POST", "/api/v1/admin/tokens", #"{"cluster": "store-17", "labels": {"region": "eu", "site": "ber"}}"#)
        #expect(code == 200 && created["status"] as? String == "success", "\(created)")
        let data = try #require(created["data"] as? [String: Any])
        let token = try #require(data["token"] as? String)
        let id = try #require(data["id"] as? Int)
        #expect(token.hasPrefix("fst_") && data["cluster"] as? String == "store-17")
        #expect(data["labels"] as? [String: String] == ["region": "eu", "site": "ber"])

        // The next write with it is taken, with the bound labels set over the sender's own.
        #expect(try await f.write(token) == 204)
        let (_, found) = try await f.s.get("/api/v1/series?match[]=up", user: "admin", password: f.admin)
        #expect(seriesSet(found) == [["__name__": "up", "cluster": "store-17", "job": "node", "region": "eu", "site": "ber", "exported_region": "us"]])

        // Revoked by id: the very next write is refused.
        let (revoked, r) = try await f.call("DELETE", "/api/v1/admin/tokens/\(id)")
        #expect(revoked == 200 && (r["data"] as? [String: Any])?["revoked"] as? Int == 1, "\(r)")
        #expect(try await f.write(token) == 401)
        #expect(try await f.call("DELETE", "/api/v1/admin/tokens/\(id)").0 == 404)

        // Revoked by cluster: every token of it.
        var tokens: [String] = []
        for _ in 0..<2 {
            let (_, c) = try await f.call("POST", "/api/v1/admin/tokens", #"{"cluster": "store-18"}"#)
            tokens.append(try #require((c["data"] as? [String: Any])?["token"] as? String))
        }
        for t in tokens { #expect(try await f.write(t) == 204) }
        let (_, all) = try await f.call("DELETE", "/api/v1/admin/tokens?cluster=store-18")
        #expect((all["data"] as? [String: Any])?["revoked"] as? Int == 2)
        for t in tokens { #expect(try await f.write(t) == 401) }
    }

    @Test func listsNeverCarrySecretsAndShowLastUse() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        let token = try await AdminCommands.createToken(dataDir: f.s.dataDir, cluster: "eu-1", labels: ["region=eu"])
        _ = try await AdminCommands.createToken(dataDir: f.s.dataDir, cluster: "eu-2")
        #expect(try await f.write(token) == 204)
        let (_, _, text) = try await f.s.raw("GET", "/api/v1/admin/tokens", headers: [f.adminAuth])
        for secret in [token, AccessControl.sha256(token), "fst_", "sha256"] { #expect(!text.contains(secret), "token list leaks \(secret)") }
        let (_, list) = try await f.call("GET", "/api/v1/admin/tokens")
        let rows = try #require(list["data"] as? [[String: Any]])
        #expect(rows.map { $0["cluster"] as? String } == ["eu-1", "eu-2"])
        #expect(rows[0]["labels"] as? [String: String] == ["region": "eu"])
        #expect(rows[0]["lastUsed"] is String && rows[1]["lastUsed"] is NSNull, "\(rows)")
        #expect(rows.allSatisfy { Set($0.keys) == ["id", "cluster", "labels", "created", "lastUsed"] })
        let (_, one) = try await f.call("GET", "/api/v1/admin/tokens?cluster=eu-2")
        #expect((one["data"] as? [[String: Any]])?.count == 1)

        let (_, _, users) = try await f.s.raw("GET", "/api/v1/admin/users", headers: [f.adminAuth])
        #expect(!users.contains("$2") && !users.contains(f.admin) && !users.contains("ana password"))
        let (_, u) = try await f.call("GET", "/api/v1/admin/users")
        let byName = Dictionary(uniqueKeysWithValues: try #require(u["data"] as? [[String: Any]]).map { ($0["name"] as! String, $0) })
        #expect(byName["ana"]?["role"] as? String == "viewer" && byName["ana"]?["scope"] as? String == #"{region="eu"}"#)
        #expect(byName["admin"]?["scope"] as? String == "all")
    }

    @Test func auditLogRecordsEveryStepWithActorAndAddress() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        _ = try await AdminCommands.revokeTokens(dataDir: f.s.dataDir, cluster: "nothing-to-revoke")
        _ = try await AdminCommands.createToken(dataDir: f.s.dataDir, cluster: "cli-made")
        let (_, c) = try await f.call("POST", "/api/v1/admin/tokens", #"{"cluster": "store-1", "labels": {"region": "eu"}}"#)
        let id = try #require((c["data"] as? [String: Any])?["id"] as? Int)
        #expect(try await f.call("DELETE", "/api/v1/admin/tokens/\(id)").0 == 200)
        #expect(try await f.call("POST", "/api/v1/admin/users", #"{"name": "bo", "password": "bo password", "role": "viewer", "scope": "{region=\"us\"}"}"#).0 == 200)
        #expect(try await f.call("PATCH", "/api/v1/admin/users/bo", #"{"role": "admin", "scope": "all"}"#).0 == 200)
        #expect(try await f.call("PATCH", "/api/v1/admin/users/bo", #"{"password": "bo new password"}"#).0 == 200)
        #expect(try await f.call("DELETE", "/api/v1/admin/users/bo").0 == 200)
        // Refused changes change nothing and record nothing.
        #expect(try await f.call("POST", "/api/v1/admin/tokens", #"{"cluster": "x"}"#, auth: f.viewer).0 == 403)
        #expect(try await f.call("DELETE", "/api/v1/admin/users/nobody").0 == 404)

        let (code, a) = try await f.call("GET", "/api/v1/admin/audit")
        #expect(code == 200)
        let events = try #require(a["data"] as? [[String: Any]]).reversed().map { e in
            [e["actor"] as? String ?? "", e["remoteAddress"] as? String ?? "-", e["action"] as? String ?? "", e["target"] as? String ?? "", e["detail"] as? String ?? ""]
        }
        #expect(events == [
            ["collector", "-", "user.create", "user admin", "role admin, scope all"],
            ["cli", "-", "user.create", "user ana", #"role viewer, scope {region="eu"}"#],
            ["cli", "-", "token.create", "token 1", "cluster cli-made"],
            ["admin", "127.0.0.1", "token.create", "token \(id)", #"cluster store-1, labels {region="eu"}"#],
            ["admin", "127.0.0.1", "token.revoke", "token \(id)", #"cluster store-1, labels {region="eu"}"#],
            ["admin", "127.0.0.1", "user.create", "user bo", #"role viewer, scope {region="us"}"#],
            ["admin", "127.0.0.1", "user.update", "user bo", #"role viewer → admin, scope {region="us"} → all"#],
            ["admin", "127.0.0.1", "user.update", "user bo", "password"],
            ["admin", "127.0.0.1", "user.delete", "user bo", ""],
        ])
        // Newest first, paged with limit and before.
        let (_, page) = try await f.call("GET", "/api/v1/admin/audit?limit=2")
        let ids = try #require(page["data"] as? [[String: Any]]).compactMap { $0["id"] as? Int }
        #expect(ids.count == 2 && ids[0] > ids[1])
        let (_, older) = try await f.call("GET", "/api/v1/admin/audit?limit=1&before=\(ids[1])")
        #expect((older["data"] as? [[String: Any]])?.first?["id"] as? Int == ids[1] - 1)
    }

    @Test func badInputGetsA4xxNamingTheProblem() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        let cases: [(String, String, String?, [String], Int, String)] = [
            ("POST", "/api/v1/admin/tokens", #"{"cluster": "a""#, [], 400, "invalid JSON"),
            ("POST", "/api/v1/admin/tokens", "[1]", [], 400, "JSON object"),
            ("POST", "/api/v1/admin/tokens", "", [], 400, "empty request body"),
            ("POST", "/api/v1/admin/tokens", #"{"cluster": 5}"#, [], 400, "field \"cluster\" must be a string"),
            ("POST", "/api/v1/admin/tokens", #"{}"#, [], 400, "missing field \"cluster\""),
            ("POST", "/api/v1/admin/tokens", #"{"cluster": "a", "lables": {}}"#, [], 400, "unknown field \"lables\""),
            ("POST", "/api/v1/admin/tokens", #"{"cluster": "a", "labels": {"region": 1}}"#, [], 400, "labels.region must be a string"),
            ("POST", "/api/v1/admin/tokens", #"{"cluster": "a", "labels": {"cluster": "b"}}"#, [], 400, "cluster is bound"),
            ("POST", "/api/v1/admin/tokens", #"{"cluster": "a", "labels": {"__x": "b"}}"#, [], 400, "invalid label name"),
            ("POST", "/api/v1/admin/users", #"{"name": "x", "password": "short", "role": "viewer", "scope": "all"}"#, [], 400, "at least 8"),
            ("POST", "/api/v1/admin/users", #"{"name": "x", "password": "long enough", "role": "root"}"#, [], 400, "unknown role"),
            ("POST", "/api/v1/admin/users", #"{"name": "x", "password": "long enough", "role": "viewer"}"#, [], 400, "viewer needs"),
            ("POST", "/api/v1/admin/users", #"{"name": "x", "password": "long enough", "role": "viewer", "scope": "{region="}"#, [], 400, "invalid scope"),
            ("POST", "/api/v1/admin/users", #"{"name": "ana", "password": "long enough", "role": "viewer", "scope": "all"}"#, [], 409, "exists"),
            ("PATCH", "/api/v1/admin/users/ana", #"{}"#, [], 400, "nothing to change"),
            ("PATCH", "/api/v1/admin/users/nobody", #"{"role": "admin"}"#, [], 404, "no user"),
            ("DELETE", "/api/v1/admin/users/admin", nil, [], 409, "last admin"),
            ("PATCH", "/api/v1/admin/users/admin", #"{"role": "viewer", "scope": "all"}"#, [], 409, "last admin"),
            ("DELETE", "/api/v1/admin/tokens/99999999999999999999", nil, [], 400, "invalid token id"),
            ("DELETE", "/api/v1/admin/tokens/-1", nil, [], 400, "invalid token id"),
            ("DELETE", "/api/v1/admin/tokens", nil, [], 400, "?cluster=NAME"),
            ("GET", "/api/v1/admin/audit?limit=99999999999999999999", nil, [], 400, "invalid parameter \"limit\""),
            ("GET", "/api/v1/admin/audit?limit=0", nil, [], 400, "invalid parameter \"limit\""),
            ("GET", "/api/v1/admin/audit?before=x", nil, [], 400, "invalid parameter \"before\""),
        ]
        for (method, path, json, headers, status, words) in cases {
            let (code, body) = try await f.call(method, path, json, headers: headers)
            #expect(code == status && body["status"] as? String == "error", "\(method) \(path) \(json ?? ""): \(code) \(body)")
            #expect((body["error"] as? String ?? "").contains(words), "\(method) \(path) \(json ?? ""): \(body)")
            if status == 400 { #expect(body["errorType"] as? String == "bad_data") }
        }
        // Without a JSON content type (what an HTML form sends): 415.
        let (form, _, text) = try await f.s.raw("POST", "/api/v1/admin/tokens", headers: [f.adminAuth, "Content-Type: application/x-www-form-urlencoded"],
                                                body: Array("cluster=evil".utf8))
        #expect(form == 415 && text.contains("application/json"))
        // Over the size limit: 413, nothing created.
        let big = #"{"cluster": ""# + String(repeating: "a", count: AdminBody.maxBytes) + #""}"#
        #expect(try await f.call("POST", "/api/v1/admin/tokens", big).0 == 413)
        let (_, list) = try await f.call("GET", "/api/v1/admin/tokens")
        #expect((list["data"] as? [Any])?.isEmpty == true)
    }

    @Test func crossSiteChangesAreRefused() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        let body = #"{"cluster": "csrf"}"#
        for h in ["Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: same-site", "Origin: http://evil.example", "Origin: null"] {
            let (code, r) = try await f.call("POST", "/api/v1/admin/tokens", body, headers: [h])
            #expect(code == 403 && (r["error"] as? String ?? "").contains("cross-site"), "\(h): \(code) \(r)")
            #expect(try await f.call("DELETE", "/api/v1/admin/users/ana", headers: [h]).0 == 403, "\(h)")
        }
        // The dashboard's own requests (same origin; the test client sends Host: 127.0.0.1), and reads from anywhere.
        #expect(try await f.call("POST", "/api/v1/admin/tokens", body, headers: ["Sec-Fetch-Site: same-origin"]).0 == 200)
        #expect(try await f.call("POST", "/api/v1/admin/tokens", body, headers: ["Origin: http://127.0.0.1"]).0 == 200)
        #expect(try await f.call("GET", "/api/v1/admin/tokens", headers: ["Sec-Fetch-Site: cross-site"]).0 == 200)
        #expect(try await f.s.raw("GET", "/api/v1/admin/users", headers: [f.adminAuth]).0 == 200)
        // No CORS grant on the preflight a cross-site JSON request needs.
        let (_, pre, _) = try await f.s.raw("OPTIONS", "/api/v1/admin/tokens", headers: ["Origin: http://evil.example", "Access-Control-Request-Method: POST"])
        #expect(pre.keys.allSatisfy { !$0.hasPrefix("access-control-") })
    }

    @Test func userChangesApplyToTheNextRequest() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        #expect(try await f.call("POST", "/api/v1/admin/users", #"{"name": "bo", "password": "bo password", "role": "viewer", "scope": "all"}"#).0 == 200)
        let bo = basicAuthHeader("bo", "bo password")
        #expect(try await f.call("GET", "/api/v1/admin/users", auth: bo).0 == 403)
        // bo's record is cached by the login path now; the change must not wait for its refresh.
        #expect(try await f.call("PATCH", "/api/v1/admin/users/bo", #"{"role": "admin"}"#).0 == 200)
        #expect(try await f.call("GET", "/api/v1/admin/users", auth: bo).0 == 200)
        // bo, now an admin, may delete another admin but not the last one.
        #expect(try await f.call("DELETE", "/api/v1/admin/users/admin", auth: bo).0 == 200)
        #expect(try await f.call("DELETE", "/api/v1/admin/users/bo", auth: bo).0 == 409)
        #expect(try await f.call("PATCH", "/api/v1/admin/users/ana", #"{"role": "admin", "password": "ana new password"}"#, auth: bo).0 == 200)
        #expect(try await f.call("DELETE", "/api/v1/admin/users/bo", auth: basicAuthHeader("ana", "ana new password")).0 == 200)
        #expect(try await f.s.raw("GET", "/api/v1/labels", headers: [bo]).0 == 401)
        // A demoted admin needs a scope, as `collector user add` asks of every viewer.
        let (code, r) = try await f.call("POST", "/api/v1/admin/users", #"{"name": "cy", "password": "cy password", "role": "admin"}"#,
                                         auth: basicAuthHeader("ana", "ana new password"))
        #expect(code == 200, "\(r)")
        let (demote, why) = try await f.call("PATCH", "/api/v1/admin/users/cy", #"{"role": "viewer"}"#, auth: basicAuthHeader("ana", "ana new password"))
        #expect(demote == 400 && (why["error"] as? String ?? "").contains("scope"), "\(why)")
    }

    @Test func dashboardShowsTheAdminPageToAdminsOnly() async throws {
        let f = try await Self.site()
        defer { Task { await f.s.stop() } }
        let (_, _, adminHome) = try await f.s.raw("GET", "/", headers: [f.adminAuth])
        #expect(adminHome.contains(#"<a href="/admin">Admin</a>"#))
        let (_, _, viewerHome) = try await f.s.raw("GET", "/", headers: [f.viewer])
        #expect(!viewerHome.contains(#"href="/admin""#))
        let (code, _, page) = try await f.s.raw("GET", "/admin", headers: [f.adminAuth])
        #expect(code == 200 && page.contains(#"data-page="admin""#) && page.contains(#"aria-current="page">Admin"#))
        #expect(try await f.s.raw("GET", "/admin", headers: [f.viewer]).0 == 403)
    }

    @Test func noAuthHasNothingToAdminister() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let (code, _, body) = try await s.raw("GET", "/api/v1/admin/tokens")
        #expect(code == 501 && body.contains("--no-auth"))
    }
}
