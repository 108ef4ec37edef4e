import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

/// Single sign-on against a real OpenID Connect provider: IdentityPython's idpyoidc (PyPI),
/// with its own discovery, JWKS (an RS256 and an ES256 key), login form, code flow with PKCE,
/// userinfo and RP-initiated logout, started on loopback by the test. The dashboard is driven
/// in real headless Chromium; the API is called with the provider's tokens.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct SingleSignOnTests {
    static let providerScript = E2E.repoRoot + "/Tests/EndToEndTests/OIDCProvider/provider.py"
    static let clusters = ["eu-a": "eu-west", "eu-b": "eu-west", "us-a": "us-east", "us-b": "us-east"]

    @Test(.enabled(if: DashboardBrowserTests.chromium != nil, "chromium is not installed: apt-get install -y chromium (make test installs it)"))
    func dashboardAndAPIThroughARealProvider() async throws {
        let dir = try tempDir("e2e-sso")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let venv = try await runTool(E2E.repoRoot + "/Tests/EndToEndTests/OIDCProvider/venv.sh", [E2E.repoRoot + "/.build/oidc-venv"], timeout: 600)
        try #require(venv.status == 0, "installing idpyoidc failed: \(venv.err)")
        let python = venv.out.trimmingCharacters(in: .whitespacesAndNewlines)

        let pport = freePort(), cport = freePort()
        let issuer = "http://127.0.0.1:\(pport)", base = "http://127.0.0.1:\(cport)"
        let pdir = dir + "/provider"
        try FileManager.default.createDirectory(atPath: pdir, withIntermediateDirectories: true)
        try #"{"ana": {"password": "ana-pass-1", "groups": ["eu-ops", "staff"]}, "max": {"password": "max-pass-1", "groups": ["marketing"]}}"#
            .write(toFile: pdir + "/users.json", atomically: true, encoding: .utf8)
        let secret = "s3cret-\(UUID().uuidString)"
        @Sendable func startProvider(opaque: Bool = false) throws -> ChildProcess {
            try ChildProcess("provider", python, [Self.providerScript, "--port", "\(pport)", "--dir", pdir, "--client-id", "fleetscope",
                                                  "--client-secret", secret, "--redirect-uri", base + "/oidc/callback",
                                                  "--logout-uri", base + "/oidc/logged-out", "--access-token-lifetime", "8"]
                                                  + (opaque ? ["--opaque-access-tokens"] : []), logDir: dir)
        }
        var provider = try startProvider()
        defer { provider.stop() }
        try await waitUntil("the provider to publish its discovery document", seconds: 60) {
            await HTTP.get(issuer + "/.well-known/openid-configuration")?.0 == 200
        }

        FileManager.default.createFile(atPath: dir + "/secret", contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
        try """
            fleet: {refresh_interval: 1s}
            auth:
              oidc: {issuer: "\(issuer)", client_id: fleetscope, client_secret_file: secret, scopes: [openid, profile, groups], clock_skew: 1s}
              group_roles:
                - {group: eu-ops, role: viewer, scope: '{region="eu-west"}'}
                - {group: platform, role: admin}

            """.write(toFile: dir + "/collector.yml", atomically: true, encoding: .utf8)
        let collectorBin = try E2E.binary("collector")
        var tokens: [String: String] = [:]
        for (cluster, region) in Self.clusters {
            let r = try await runTool(collectorBin, ["token", "create", "--data-dir", dir + "/data", "--cluster", cluster, "--label", "region=\(region)"])
            try #require(r.status == 0, "\(r.err)")
            tokens[cluster] = r.out.split(separator: "\n").last.map(String.init)
        }
        let collector = try ChildProcess("collector", collectorBin, ["--listen", "127.0.0.1:\(cport)", "--data-dir", dir + "/data",
                                                                     "--config", dir + "/collector.yml"], logDir: dir)
        defer { collector.stop() }
        try await waitUntil("collector ready") { await HTTP.get(base + "/-/ready")?.0 == 200 }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (cluster, token) in tokens {
            let req = WriteRequest(timeseries: [TimeSeries(labels: [Label("__name__", "up"), Label("instance", "n:9100"), Label("job", "node")],
                                                           samples: [Sample(t: now, v: 1)])])
            var headers = HTTP.remoteWriteHeaders
            headers["Authorization"] = "Bearer " + token
            let (code, msg) = try await HTTP.post(base + "/api/v1/write", body: Data(WireEncoder.encodeCompressed(req)), headers: headers)
            try #require(code == 204, "\(cluster): \(code) \(msg)")
        }

        do {
            try await browserLogin(base: base, issuer: issuer, dir: dir)
            try await apiWithProviderTokens(base: base, issuer: issuer, secret: secret, dir: dir)
            // Rotation: the provider gets new keys; the collector fetches them for the new kid.
            let before = try await ProviderLogin.tokens(issuer: issuer, base: base, secret: secret, user: "ana", password: "ana-pass-1", dir: dir)
            provider.stop()
            try FileManager.default.removeItem(atPath: pdir + "/private/jwks.json")
            provider = try startProvider()
            try await waitUntil("the restarted provider", seconds: 60) { await HTTP.get(issuer + "/.well-known/openid-configuration")?.0 == 200 }
            let after = try await ProviderLogin.tokens(issuer: issuer, base: base, secret: secret, user: "ana", password: "ana-pass-1", dir: dir)
            #expect(ProviderLogin.kid(after.id) != ProviderLogin.kid(before.id), "the provider did not rotate its keys")
            try await waitUntil("the collector to accept a token signed with the new key", seconds: 40) {
                await Self.get(base + "/api/v1/query?query=up", bearer: after.id).0 == 200
            }
            // Opaque access tokens: the collector asks the provider's userinfo endpoint.
            provider.stop()
            provider = try startProvider(opaque: true)
            try await waitUntil("the provider with opaque tokens", seconds: 60) { await HTTP.get(issuer + "/.well-known/openid-configuration")?.0 == 200 }
            let opaque = try await ProviderLogin.tokens(issuer: issuer, base: base, secret: secret, user: "ana", password: "ana-pass-1", dir: dir)
            #expect(!opaque.access.contains("."), "the provider still sends JWT access tokens")
            let (code, body) = await Self.get(base + "/api/v1/query?query=up", bearer: opaque.access)
            #expect(code == 200 && body.contains("eu-a") && !body.contains("us-a"), "opaque access token: \(code) \(body)")
        } catch {
            Issue.record("\(error)\ncollector:\n\(collector.logTail(40))\nprovider:\n\(provider.logTail(40))")
        }
    }

    func browserLogin(base: String, issuer: String, dir: String) async throws {
        let dt = try DevTools(chromium: DashboardBrowserTests.chromium!, profile: dir + "/cdp-ana")
        defer { dt.close() }
        // The dashboard sends an unknown browser to the provider's login form.
        try dt.open(base + "/")
        try await dt.waitFor("document.getElementById('username') !== null")
        #expect(try dt.string("location.origin") == issuer)
        _ = try dt.eval("document.getElementById('username').value = 'ana'; document.getElementById('password').value = 'ana-pass-1'; document.getElementById('submit').click()")
        try await dt.waitFor("location.origin === '\(base)' && document.querySelectorAll('#clusters tbody tr[data-cluster]').length > 0", seconds: 60)
        #expect(try dt.string("location.pathname") == "/")
        let shown = try dt.string("[...document.querySelectorAll('#clusters tbody tr[data-cluster]')].map(r => r.dataset.cluster).sort().join(',')")
        #expect(shown == "eu-a,eu-b", "ana (eu-ops) sees: \(shown)")
        let up = try dt.eval("fetch('/api/v1/query?query=up').then(r => r.json()).then(j => j.data.result.map(s => s.metric.cluster).sort().join(','))") as? String
        #expect(up == "eu-a,eu-b", "the session's API reads: \(up ?? "nothing")")
        #expect(try dt.string("document.getElementById('signout-form').hidden") == "false")
        // The session cookie is HttpOnly: page scripts cannot read it.
        #expect(!(try dt.string("document.cookie")).contains("fs_session"))
        let cookies = try dt.call("Network.getCookies", ["urls": [base + "/"]])["cookies"] as? [[String: Any]] ?? []
        let session = try #require(cookies.first { $0["name"] as? String == "fs_session" })
        #expect(session["httpOnly"] as? Bool == true && session["sameSite"] as? String == "Lax")
        let cookie = "fs_session=\(session["value"] as? String ?? "")"
        // Another site's form posting with the session cookie (a browser ignoring SameSite) changes nothing.
        let (cross, _) = try await HTTP.post(base + "/api/v1/query", body: Data("query=up".utf8),
                                             headers: ["Cookie": cookie, "Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"])
        #expect(cross == 403)
        let (same, _) = try await HTTP.post(base + "/api/v1/query", body: Data("query=up".utf8),
                                            headers: ["Cookie": cookie, "Origin": base, "Content-Type": "application/x-www-form-urlencoded"])
        #expect(same == 200)

        // Logout ends the session here and at the provider (RP-initiated), then lands back here.
        _ = try dt.eval("document.getElementById('signout').click()")
        try await dt.waitFor("location.href.startsWith('\(base)/oidc/logged-out')", seconds: 30)
        #expect(await Self.get(base + "/api/v1/query?query=up", cookie: cookie).0 == 401, "the session outlived the logout")
        try dt.open(base + "/")
        try await dt.waitFor("document.getElementById('username') !== null")
        #expect(try dt.string("location.origin") == issuer, "the provider's session outlived the logout")

        // A user in no mapped group gets no session and a page that says why.
        let other = try DevTools(chromium: DashboardBrowserTests.chromium!, profile: dir + "/cdp-max")
        defer { other.close() }
        try other.open(base + "/")
        try await other.waitFor("document.getElementById('username') !== null")
        _ = try other.eval("document.getElementById('username').value = 'max'; document.getElementById('password').value = 'max-pass-1'; document.getElementById('submit').click()")
        try await other.waitFor("document.getElementById('no-access') !== null", seconds: 60)
        let why = try other.string("document.getElementById('no-access').textContent")
        #expect(why.contains("max") && why.contains("\"marketing\"") && why.contains("auth.group_roles"), "\(why)")
        #expect(try other.string("document.cookie").isEmpty || !(try other.string("document.cookie")).contains("fs_signed_in"))
    }

    func apiWithProviderTokens(base: String, issuer: String, secret: String, dir: String) async throws {
        let t = try await ProviderLogin.tokens(issuer: issuer, base: base, secret: secret, user: "ana", password: "ana-pass-1", dir: dir)
        // The access token (ES256 JWT) and the ID token (RS256), as Grafana or a script sends them.
        for (what, token) in [("access token", t.access), ("ID token", t.id)] {
            let (code, body) = await Self.get(base + "/api/v1/query?query=up", bearer: token)
            #expect(code == 200, "\(what): \(code) \(body)")
            #expect(body.contains("eu-a") && !body.contains("us-a"), "\(what) read outside its scope: \(body)")
        }
        // Tampered: another group in the payload, same signature.
        let parts = t.access.split(separator: ".").map(String.init)
        var claims = try JSONSerialization.jsonObject(with: ProviderLogin.b64(parts[1])) as! [String: Any]
        claims["groups"] = ["platform"]
        let forged = parts[0] + "." + ProviderLogin.b64url(try JSONSerialization.data(withJSONObject: claims)) + "." + parts[2]
        #expect(await Self.get(base + "/api/v1/query?query=up", bearer: forged).0 == 401)
        #expect(await Self.get(base + "/api/v1/query?query=up", bearer: "not-a-token-at-all").0 == 401)
        // Expired: the provider's access tokens live 8 s here, the collector allows 1 s of skew.
        let exp = (claims["exp"] as? NSNumber)?.doubleValue ?? 0
        try await Task.sleep(for: .seconds(max(0, exp + 2 - Date().timeIntervalSince1970)))
        let (code, body) = await Self.get(base + "/api/v1/query?query=up", bearer: t.access)
        #expect(code == 401 && body.contains("expired"), "expired access token: \(code) \(body)")
        // Local users' Basic auth still works beside single sign-on.
        let admin = try String(contentsOfFile: dir + "/data/initial-admin-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let basic = "Basic " + Data("admin:\(admin)".utf8).base64EncodedString()
        #expect(await Self.get(base + "/api/v1/query?query=up", authorization: basic).0 == 200)
    }

    static func get(_ url: String, bearer: String? = nil, cookie: String? = nil, authorization: String? = nil) async -> (Int, String) {
        var headers: [String] = []
        if let bearer { headers += ["-H", "Authorization: Bearer \(bearer)"] }
        if let authorization { headers += ["-H", "Authorization: \(authorization)"] }
        if let cookie { headers += ["-H", "Cookie: \(cookie)"] }
        guard let r = try? await runTool("/usr/bin/curl", ["-s", "-m", "20", "-w", "\n%{http_code}"] + headers + [url]) else { return (0, "") }
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}

/// The code flow as a script runs it, with curl against the provider: its login form, then the
/// token endpoint with the PKCE verifier. For tokens the API tests send as bearer tokens.
enum ProviderLogin {
    static func tokens(issuer: String, base: String, secret: String, user: String, password: String, dir: String) async throws -> (id: String, access: String) {
        let verifier = b64url(Data((0..<32).map { _ in UInt8.random(in: 0...255) }))
        let challenge = try await runTool("/bin/sh", ["-c", "printf %s '\(verifier)' | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='"])
        let redirect = base + "/oidc/callback"
        let jar = dir + "/jar-\(UUID().uuidString.prefix(6))"
        let authorize = issuer + "/authorization?response_type=code&client_id=fleetscope&scope=openid%20profile%20groups&state=s&nonce=n"
            + "&code_challenge_method=S256&code_challenge=\(challenge.out.trimmingCharacters(in: .whitespacesAndNewlines))"
            + "&redirect_uri=" + redirect.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let form = try await runTool("/usr/bin/curl", ["-s", "-m", "20", "-c", jar, "-b", jar, authorize])
        guard let r = form.out.range(of: #"name="token" value=""#), let end = form.out[r.upperBound...].firstIndex(of: "\"") else {
            throw TestError("no login form from the provider: \(form.out.prefix(300))")
        }
        let formToken = String(form.out[r.upperBound..<end])
        let login = try await runTool("/usr/bin/curl", ["-s", "-m", "20", "-o", "/dev/null", "-w", "%{redirect_url}", "-c", jar, "-b", jar,
                                                        "--data-urlencode", "token=\(formToken)", "--data-urlencode", "username=\(user)",
                                                        "--data-urlencode", "password=\(password)", issuer + "/verify/user"])
        guard let q = URLComponents(string: login.out)?.queryItems, let code = q.first(where: { $0.name == "code" })?.value else {
            throw TestError("the provider did not redirect with a code: \(login.out)")
        }
        let token = try await runTool("/usr/bin/curl", ["-s", "-m", "20", "-u", "fleetscope:\(secret)", "--data-urlencode", "grant_type=authorization_code",
                                                        "--data-urlencode", "code=\(code)", "--data-urlencode", "redirect_uri=\(redirect)",
                                                        "--data-urlencode", "code_verifier=\(verifier)", issuer + "/token"])
        guard let o = try? JSONSerialization.jsonObject(with: Data(token.out.utf8)) as? [String: Any],
              let id = o["id_token"] as? String, let access = o["access_token"] as? String else {
            throw TestError("token endpoint: \(token.out.prefix(300))")
        }
        return (id, access)
    }

    static func kid(_ jwt: String) -> String? {
        guard let h = try? JSONSerialization.jsonObject(with: b64(String(jwt.split(separator: ".")[0]))) as? [String: Any] else { return nil }
        return h["kid"] as? String
    }

    static func b64(_ s: String) -> Data {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        return Data(base64Encoded: t) ?? Data()
    }

    static func b64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
