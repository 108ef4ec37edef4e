import Foundation
import RemoteWrite
import Testing

@testable import Collector

/// Issue 11 item 4: passwords.
@Suite struct PasswordTests {
    private func access(_ policy: LoginPolicy = LoginPolicy()) async throws -> (AccessControl, String) {
        let dir = try tempDataDir()
        return (try await AccessControl.open(path: dir + "/fleetscope.sqlite", loginPolicy: policy), dir)
    }

    private func status(_ r: Result<Principal, LoginRefusal>) -> Int {
        switch r {
        case .success: 200
        case .failure(let f): f.status
        }
    }

    @Test func unknownUsersCostABcryptCheckLikeWrongPasswords() async throws {
        let (a, _) = try await access()
        try await a.addUser(name: "ana", password: "correct horse", role: .viewer, scope: "all")
        let gate = a.login
        #expect(await status(gate.authenticate(authorization: basicAuth("nobody", "correct horse"), remoteAddress: "10.0.0.1")) == 401)
        #expect(gate.bcryptChecks.load(ordering: .relaxed) == 1)
        #expect(gate.dummyChecks.load(ordering: .relaxed) == 1)
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "wrong horse"), remoteAddress: "10.0.0.2")) == 401)
        #expect(gate.bcryptChecks.load(ordering: .relaxed) == 2)
        #expect(gate.dummyChecks.load(ordering: .relaxed) == 1)
        // The answer to an unknown user is word for word the answer to a wrong password.
        let unknown = await gate.authenticate(authorization: basicAuth("nobody2", "x-password"), remoteAddress: "10.0.0.3")
        let wrong = await gate.authenticate(authorization: basicAuth("ana", "x-password"), remoteAddress: "10.0.0.4")
        guard case .failure(let u) = unknown, case .failure(let w) = wrong else { Issue.record("expected refusals"); return }
        #expect(u.message == w.message)
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "correct horse"), remoteAddress: "10.0.0.5")) == 200)
    }

    @Test(arguments: [("ana\u{0}evil", "correct horse"), ("ana", "correct horse\u{0}junk"), ("ana\n", "correct horse"),
                      ("ana", "correct\thorse"), ("an\u{7f}a", "correct horse"), ("ana", "correct horse\u{85}")])
    func controlCharactersAreRefusedAtLogin(_ user: String, _ password: String) async throws {
        let (a, _) = try await access()
        try await a.addUser(name: "ana", password: "correct horse", role: .viewer, scope: "all")
        let r = await a.login.authenticate(authorization: basicAuth(user, password), remoteAddress: "10.0.0.1")
        #expect(status(r) == 401)
        #expect(a.login.bcryptChecks.load(ordering: .relaxed) == 0)
        if case .failure(let f) = r { #expect(f.message.contains("control characters")) }
    }

    @Test func controlCharactersAreRefusedAtUserAdd() async throws {
        let (a, _) = try await access()
        for name in ["ana\u{0}evil", "ana\nINFO forged", "ana\u{1b}[31m", "ana\r"] {
            await #expect(throws: AuthError.self) { try await a.addUser(name: name, password: "correct horse", role: .admin, scope: nil) }
        }
        for password in ["password\u{0}junk", "pass\nword1", "\u{7}password"] {
            await #expect(throws: AuthError.self) { try await a.addUser(name: "ana", password: password, role: .admin, scope: nil) }
        }
        await #expect(throws: AuthError.self) { try await a.addUser(name: "ana", password: String(repeating: "x", count: 73), role: .admin, scope: nil) }
        #expect(try await a.userCount == 0)
    }

    @Test func logLinesEscapeUserNames() async throws {
        #expect(LogText.quoted("ana\"\nINFO admin logged in") == #""ana\"\nINFO admin logged in""#)
        #expect(LogText.quoted("a\\b\u{0}") == #""a\\b\u{0}""#)
        let (a, _) = try await access()
        let r = await a.login.authenticate(authorization: basicAuth("x\" forged=\"1", "some-password"), remoteAddress: "10.0.0.1")
        guard case .failure(let f) = r, let line = f.logMessage else { Issue.record("expected a logged refusal"); return }
        #expect(line == #"failed login for user "x\" forged=\"1" from 10.0.0.1"#)
        let r2 = await a.login.authenticate(authorization: basicAuth("x\nforged", "some-password"), remoteAddress: "10.0.0.1")
        guard case .failure(let f2) = r2, let line2 = f2.logMessage else { Issue.record("expected a logged refusal"); return }
        #expect(!line2.contains("\n"))
    }

    @Test func aViewerNeedsAnExplicitScope() async throws {
        let (_, dir) = try await access()
        do {
            try await AdminCommands.addUser(dataDir: dir, name: "ana", password: "correct horse", role: "viewer", scope: nil)
            Issue.record("a viewer without --scope was accepted")
        } catch let e as AuthError {
            #expect(e.message.contains("--scope"))
            #expect(e.message.contains("--scope all"))
        }
        try await AdminCommands.addUser(dataDir: dir, name: "ana", password: "correct horse", role: "viewer", scope: "all")
        try await AdminCommands.addUser(dataDir: dir, name: "bob", password: "correct horse", role: "viewer", scope: #"{region="eu"}"#)
        try await AdminCommands.addUser(dataDir: dir, name: "root", password: "correct horse", role: "admin", scope: nil)
        await #expect(throws: AuthError.self) { try await AdminCommands.addUser(dataDir: dir, name: "eve", password: "correct horse", role: "viewer", scope: "") }
        await #expect(throws: AuthError.self) { try await AdminCommands.addUser(dataDir: dir, name: "eve", password: "correct horse", role: "viewer", scope: "{region:eu}") }
    }

    @Test func userListShowsNameRoleAndScope() async throws {
        let (_, dir) = try await access()
        try await AdminCommands.addUser(dataDir: dir, name: "bob", password: "correct horse", role: "viewer", scope: #"{region="eu"}"#)
        try await AdminCommands.addUser(dataDir: dir, name: "ana", password: "correct horse", role: "admin", scope: nil)
        try await AdminCommands.addUser(dataDir: dir, name: "cy", password: "correct horse", role: "viewer", scope: "all")
        let lines = try await AdminCommands.listUsers(dataDir: dir).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.count == 4)
        #expect(lines[0] == ["NAME", "ROLE", "SCOPE", "CREATED", "UPDATED"])
        #expect(lines[1].prefix(3) == ["ana", "admin", "all"])
        #expect(lines[2].prefix(3) == ["bob", "viewer", #"{region="eu"}"#])
        #expect(lines[3].prefix(3) == ["cy", "viewer", "all"])
        #expect(!(try await AdminCommands.listUsers(dataDir: dir)).contains("$2"))  // no hashes
        try await AdminCommands.deleteUser(dataDir: dir, name: "bob")
        #expect(try await AdminCommands.listUsers(dataDir: dir).split(separator: "\n").count == 3)
        await #expect(throws: AuthError.self) { try await AdminCommands.deleteUser(dataDir: dir, name: "bob") }
        await #expect(throws: AuthError.self) { try await AdminCommands.setPassword(dataDir: dir, name: "bob", password: "another horse") }
    }

    /// Another process changes the user; this one sees it after the refresh interval.
    @Test func passwdDeleteAndScopeChangesReachARunningCollector() async throws {
        let clock = TestLoginClock()
        let s = try await TestServer(noAuth: false) { o in
            o.login.clock = clock.clock
            o.login.userRefreshInterval = .seconds(1)
        }
        defer { Task { await s.stop() } }
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "old password", role: "viewer", scope: "all")
        let path = "/api/v1/labels"
        #expect(try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "old password")).status == 200)

        try await AdminCommands.setPassword(dataDir: s.dataDir, name: "ana", password: "new password")
        clock.advance(.milliseconds(1100))
        #expect(try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "old password")).status == 401)
        #expect(try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "new password")).status == 200)

        // A narrower scope applies to the next request after the interval, without a new password.
        let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "us-1", labels: ["region=us"])
        #expect(try await s.write(WriteRequest(timeseries: [series("up", [:], [(1000, 1)])]), token: token).0 == 204)
        #expect(seriesSet(try await s.get("/api/v1/series?match[]=up", user: "ana", password: "new password").1).count == 1)
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "new password", role: "viewer", scope: #"{region="eu"}"#)
        clock.advance(.milliseconds(1100))
        #expect(seriesSet(try await s.get("/api/v1/series?match[]=up", user: "ana", password: "new password").1).isEmpty)

        try await AdminCommands.deleteUser(dataDir: s.dataDir, name: "ana")
        clock.advance(.milliseconds(1100))
        #expect(try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "new password")).status == 401)
    }

    @Test func failedLoginsBackOffWith429ThenACorrectPasswordWorks() async throws {
        let clock = TestLoginClock()
        let s = try await TestServer(noAuth: false) { o in
            o.login.clock = clock.clock
            o.login.failuresBeforeBackoff = 3
            o.login.backoffBase = .seconds(4)
        }
        defer { Task { await s.stop() } }
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "correct horse", role: "viewer", scope: "all")
        let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "c1")
        let gate = try #require(s.server.access).login
        let path = "/api/v1/labels"
        for _ in 0..<3 {
            #expect(try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "wrong horse")).status == 401)
        }
        let checks = gate.bcryptChecks.load(ordering: .relaxed)
        #expect(checks == 3)
        // Throttled: even the right password waits, and no bcrypt runs.
        let throttled = try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "correct horse"))
        #expect(throttled.status == 429)
        let retryAfter = try #require(throttled.headers["retry-after"].flatMap { Int($0) })
        #expect((1...4).contains(retryAfter))
        #expect(gate.bcryptChecks.load(ordering: .relaxed) == checks)
        // Token-authenticated ingest is not throttled.
        #expect(try await s.write(WriteRequest(timeseries: [series("up", [:], [(1000, 1)])]), token: token).0 == 204)
        // The health endpoint answers.
        #expect(try await rawRequest(port: s.port, path: "/-/healthy", authorization: nil).status == 200)

        clock.advance(.seconds(Int64(retryAfter)))
        #expect(try await rawRequest(port: s.port, path: path, authorization: basicAuth("ana", "correct horse")).status == 200)
        #expect(gate.bcryptChecks.load(ordering: .relaxed) == checks + 1)
    }

    @Test func theThrottleCountsPerUserAndPerAddress() async throws {
        let clock = TestLoginClock()
        var policy = LoginPolicy()
        policy.clock = clock.clock
        policy.failuresBeforeBackoff = 2
        let (a, _) = try await access(policy)
        try await a.addUser(name: "ana", password: "correct horse", role: .viewer, scope: "all")
        let gate = a.login
        // One address guessing many names.
        #expect(await status(gate.authenticate(authorization: basicAuth("u1", "guess-1234"), remoteAddress: "10.0.0.9")) == 401)
        #expect(await status(gate.authenticate(authorization: basicAuth("u2", "guess-1234"), remoteAddress: "10.0.0.9")) == 401)
        #expect(await status(gate.authenticate(authorization: basicAuth("u3", "guess-1234"), remoteAddress: "10.0.0.9")) == 429)
        // Many addresses guessing one name.
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "guess-1234"), remoteAddress: "10.0.1.1")) == 401)
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "guess-1234"), remoteAddress: "10.0.1.2")) == 401)
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "correct horse"), remoteAddress: "10.0.1.3")) == 429)
        // Others are unaffected.
        try await a.addUser(name: "bob", password: "correct horse", role: .viewer, scope: "all")
        #expect(await status(gate.authenticate(authorization: basicAuth("bob", "correct horse"), remoteAddress: "10.0.2.1")) == 200)
        // Each further failure doubles the wait.
        clock.advance(.seconds(1))
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "guess-1234"), remoteAddress: "10.0.1.4")) == 401)
        guard case .failure(let f) = await gate.authenticate(authorization: basicAuth("ana", "correct horse"), remoteAddress: "10.0.1.5")
        else { Issue.record("expected 429"); return }
        #expect(f.status == 429)
        #expect(f.retryAfterSeconds == 2)
        clock.advance(.seconds(2))
        #expect(await status(gate.authenticate(authorization: basicAuth("ana", "correct horse"), remoteAddress: "10.0.1.5")) == 200)
    }

    /// Many requests with the same credentials at once (a dashboard, Grafana panels) share one
    /// check: none is throttled, bcrypt runs once. Whatever the interleaving, a request that
    /// comes late finds the verified password and runs no bcrypt either.
    @Test func identicalConcurrentLoginsShareOneCheck() async throws {
        var policy = LoginPolicy()
        policy.failuresBeforeBackoff = 2
        let (a, _) = try await access(policy)
        try await a.addUser(name: "ana", password: "correct horse", role: .viewer, scope: "all")
        let gate = a.login
        let codes = await withTaskGroup(of: Int.self) { g in
            for _ in 0..<12 {
                g.addTask { await self.status(gate.authenticate(authorization: basicAuth("ana", "correct horse"), remoteAddress: "10.0.0.1")) }
            }
            return await g.reduce(into: []) { $0.append($1) }
        }
        #expect(codes == Array(repeating: 200, count: 12))
        #expect(gate.bcryptChecks.load(ordering: .relaxed) == 1)
    }

    @Test func checksInFlightCountAgainstTheFailuresLeft() {
        var policy = LoginPolicy()
        policy.failuresBeforeBackoff = 2
        let t = LoginThrottle(policy: policy)
        #expect(t.admit(["k"]) == .admitted)
        #expect(t.admit(["k"]) == .admitted)
        // Two checks pending, two failures left: a third waits.
        #expect(t.admit(["k"]) == .throttled(retryAfterSeconds: 1))
        t.finish(["k"], .abandoned)
        #expect(t.admit(["k"]) == .admitted)
        t.finish(["k"], .success)
        t.finish(["k"], .success)
        #expect(t.admit(["k"]) == .admitted)
    }

    @Test func idleThrottleKeysAreForgotten() {
        let clock = TestLoginClock()
        var policy = LoginPolicy()
        policy.clock = clock.clock
        policy.failuresBeforeBackoff = 1
        policy.forgetAfter = .seconds(60)
        let t = LoginThrottle(policy: policy, maxKeys: 3)
        for k in ["a", "b", "c"] {
            #expect(t.admit([k]) == .admitted)
            t.finish([k], .failure)
        }
        #expect(t.admit(["a"]) != .admitted)
        clock.advance(.seconds(61))
        // Full: the idle keys are dropped and "d" gets a place; "a" starts from zero.
        #expect(t.admit(["d"]) == .admitted)
        #expect(t.admit(["a"]) == .admitted)
    }
}
