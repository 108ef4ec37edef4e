import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Collector

/// A clock the tests move by hand.
final class ManualClock: Sendable {
    let t = Mutex<Double>(1_800_000_000)
    var now: @Sendable () -> Double { { [self] in t.withLock { $0 } } }
    func advance(_ s: Double) { t.withLock { $0 += s } }
}

@Suite struct SessionTests {
    @Test func sessionsEndWhenIdleOrTooOld() {
        let clock = ManualClock()
        let store = SessionStore(idleTimeout: 600, maxAge: 3600, now: clock.now)
        let p = Principal.user(name: "ana", role: .viewer, scope: [])
        let id = store.create(user: "ana", groups: ["eu-ops"], principal: p, idToken: "t")
        #expect(store.use(id)?.user == "ana")
        #expect(store.use("forged") == nil)
        // Active every 9 minutes: alive until the absolute limit.
        for _ in 0..<6 { clock.advance(540); #expect(store.use(id) != nil) }
        clock.advance(540)
        #expect(store.use(id) == nil, "a session outlived its maximum age")
        let idle = store.create(user: "ana", groups: [], principal: p, idToken: "t")
        clock.advance(601)
        #expect(store.use(idle) == nil, "an idle session stayed alive")
        let ended = store.create(user: "ana", groups: [], principal: p, idToken: "t")
        #expect(store.end(ended)?.idToken == "t")
        #expect(store.use(ended) == nil)
    }

    @Test func aLoginFinishesOnceInTheBrowserThatStartedIt() {
        let clock = ManualClock()
        let pending = PendingLogins(now: clock.now)
        let (state, login) = pending.start(next: "/clusters/a", redirectURI: "http://x/oidc/callback")
        #expect(pending.finish(state: state, binding: "another browser") == nil)
        #expect(pending.finish(state: state, binding: login.binding) == nil, "a state was usable twice")
        let (s2, l2) = pending.start(next: "/", redirectURI: "r")
        #expect(pending.finish(state: s2, binding: l2.binding)?.nonce == l2.nonce)
        let (s3, l3) = pending.start(next: "/", redirectURI: "r")
        clock.advance(PendingLogins.lifetime + 1)
        #expect(pending.finish(state: s3, binding: l3.binding) == nil, "an expired login finished")
    }

    @Test func afterLoginOnlyLocalPaths() {
        for bad in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "/a\nb"] {
            #expect(CodeFlow.localPath(bad) == "/", "\(bad)")
        }
        #expect(CodeFlow.localPath("/clusters/x?range=1h") == "/clusters/x?range=1h")
    }

    @Test func theAuthorizationRequestCarriesPKCEStateAndNonce() {
        let url = CodeFlow.authorizationURL(endpoint: "https://idp/auth?tenant=a", clientID: "fs", redirectURI: "https://c/oidc/callback",
                                            scopes: ["openid", "groups"], state: "S", nonce: "N", verifier: "dBjftJeZ4CVP-mJ92GsFj2x6oxCl0Rm7Kq5aVmbm8rw")
        let q = FormEncoding.decode(url.split(separator: "?", maxSplits: 1)[1])
        #expect(q["tenant"] == "a" && q["response_type"] == "code" && q["state"] == "S" && q["nonce"] == "N")
        #expect(q["code_challenge"] == "_SRrFFPrEL9Hj6aXQf3Nw7CXoT54jMFQLktjkM1gzeU" && q["code_challenge_method"] == "S256")
        #expect(q["scope"] == "openid groups" && q["redirect_uri"] == "https://c/oidc/callback")
    }

    @Test func optionsReadTheSecretOnlyFromAPrivateFile() throws {
        let dir = try tempDir("oidc-options")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = dir + "/secret"
        FileManager.default.createFile(atPath: secret, contents: Data("s3cret\n".utf8), attributes: [.posixPermissions: 0o644])
        let yml = """
            auth:
              oidc: {issuer: "https://idp.example.test", client_id: fleetscope, client_secret_file: secret, scopes: [groups], clock_skew: 5s}
              group_roles: [{group: eu-ops, role: viewer, scope: '{region="eu"}'}]

            """
        try yml.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        func load() throws -> CollectorOptions { var o = CollectorOptions(); try o.apply(configFile: dir + "/c.yml"); return o }
        #expect { try load() } throws: { "\($0)".contains("chmod 600") }
        chmod(secret, 0o600)
        let o = try #require(try load().auth.oidc)
        #expect(o.clientSecret == "s3cret" && o.scopes == ["openid", "groups"] && o.groupsClaim == "groups" && o.clockSkew == .seconds(5))
        try yml.replacingOccurrences(of: "https://idp", with: "http://idp").write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        #expect { try load() } throws: { "\($0)".contains("must be an https URL") }
    }
}
