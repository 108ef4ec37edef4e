import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

/// The admin page in real headless Chromium against a real collector with authentication on:
/// an admin creates a token (shown once) that writes at once, revokes it and it stops at once,
/// and sees both in the audit log; the browser's own requests pass the cross-site check; a
/// viewer has no Admin link and gets 403 on the page.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AdminPageBrowserTests {
    @Test(.enabled(if: DashboardBrowserTests.chromium != nil, "chromium is not installed: apt-get install -y chromium (make test installs it)"))
    func adminCreatesAndRevokesATokenInTheBrowser() async throws {
        let dir = try tempDir("e2e-admin-page")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let collector = try ChildProcess("collector", try E2E.binary("collector"),
                                         ["--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data"], logDir: dir)
        defer { collector.stop() }
        try await waitUntil("collector ready") { await HTTP.get(base + "/-/ready")?.0 == 200 }
        let password = try String(contentsOfFile: dir + "/data/initial-admin-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let admin = "Basic " + Data("admin:\(password)".utf8).base64EncodedString()
        let (made, why) = try await HTTP.post(base + "/api/v1/admin/users", body: Data(#"{"name":"ana","password":"ana password","role":"viewer","scope":"{region=\"eu\"}"}"#.utf8),
                                              headers: ["Authorization": admin, "Content-Type": "application/json"])
        #expect(made == 200, "\(why)")

        let dt = try DevTools(chromium: DashboardBrowserTests.chromium!, profile: dir + "/cdp-profile")
        defer { dt.close() }
        try dt.open("about:blank")
        _ = try dt.call("Network.enable")
        _ = try dt.call("Network.setExtraHTTPHeaders", ["headers": ["Authorization": admin]])
        _ = try dt.call("Page.navigate", ["url": base + "/admin"])
        try await dt.waitFor("document.body && document.body.dataset.page === 'admin' && document.querySelector('#users tr[data-user=\"ana\"]') !== null")
        #expect(try dt.string("document.querySelector('header nav a[aria-current=\"page\"]').getAttribute('href')") == "/admin")

        // Create: the token is shown once, with its labels, and writes at once.
        _ = try dt.eval("document.getElementById('token-cluster').value = 'store-17'; document.getElementById('token-labels').value = 'region=eu, site=ber'")
        _ = try dt.eval("document.getElementById('token-form').requestSubmit()")
        try await dt.waitFor("(document.getElementById('token-value') || {}).textContent?.startsWith('fst_')")
        let token = try dt.string("document.getElementById('token-value').textContent")
        #expect(try dt.string("document.getElementById('token-secret').textContent").contains(#"region="eu", site="ber""#))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let write = WriteRequest(timeseries: [TimeSeries(labels: [Label("__name__", "up"), Label("job", "node")], samples: [Sample(t: now, v: 1)])])
        var headers = HTTP.remoteWriteHeaders
        headers["Authorization"] = "Bearer " + token
        #expect(try await HTTP.post(base + "/api/v1/write", body: Data(WireEncoder.encodeCompressed(write)), headers: headers).0 == 204)
        try await dt.waitFor("document.querySelector('#tokens tbody[data-cluster=\"store-17\"] button') !== null")
        #expect(try dt.string("document.getElementById('tokens').textContent").contains("store-17"))
        // Once: a fresh load lists the token without it.
        _ = try dt.eval("window.__before = true")
        _ = try dt.call("Page.navigate", ["url": base + "/admin"])
        try await dt.waitFor("!window.__before && document.querySelector('#tokens tbody[data-cluster=\"store-17\"] button') !== null")
        #expect(!(try dt.string("document.documentElement.outerHTML")).contains(token))

        // Revoke from the table (the browser sends Sec-Fetch-Site: same-origin): refused at once.
        _ = try dt.eval("window.confirm = () => true; document.querySelector('#tokens tbody[data-cluster=\"store-17\"] td:last-child button').click()")
        try await dt.waitFor("document.querySelector('#tokens tbody[data-cluster=\"store-17\"]') === null")
        #expect(try dt.string("document.getElementById('token-error').hidden") == "true")
        #expect(try await HTTP.post(base + "/api/v1/write", body: Data(WireEncoder.encodeCompressed(write)), headers: headers).0 == 401)
        try await dt.waitFor("document.querySelector('#audit tr[data-action=\"token.revoke\"]') !== null")
        let audit = try dt.string("[...document.querySelectorAll('#audit tbody tr')].map(r => r.dataset.action + ' ' + r.cells[1].textContent + ' ' + r.cells[2].textContent).join('\\n')")
        #expect(audit.hasPrefix("token.revoke admin 127.0.0.1\ntoken.create admin 127.0.0.1\nuser.create admin 127.0.0.1"), "\(audit)")
        let shots = E2E.repoRoot + "/.build/dashboard-screenshots"
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        if let png = try dt.call("Page.captureScreenshot")["data"] as? String, let data = Data(base64Encoded: png) {
            try data.write(to: URL(fileURLWithPath: shots + "/admin.png"))
        }

        // A viewer: no Admin link, and the page itself is refused.
        _ = try dt.call("Network.setExtraHTTPHeaders", ["headers": ["Authorization": "Basic " + Data("ana:ana password".utf8).base64EncodedString()]])
        _ = try dt.call("Page.navigate", ["url": base + "/alerts"])
        try await dt.waitFor("document.body && document.body.dataset.page === 'alerts'")
        #expect(try dt.string("document.querySelector('header nav a[href=\"/admin\"]')") == "null")
        #expect(try dt.eval("fetch('/admin').then(r => r.status)") as? Int == 403)
        #expect(try dt.eval("fetch('/api/v1/admin/tokens', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{\"cluster\":\"x\"}'}).then(r => r.status)") as? Int == 403)
    }
}
