import TestSupport
import Foundation
import Testing

/// Alert state survives a collector restart (ALERTS_FOR_STATE, as Prometheus): restarted during
/// `for`, the alert keeps its earlier active time (minus nothing: the downtime is not counted as
/// pending, Prometheus' rule); restarted while firing, it is firing again with its old active time
/// and neither Alertmanager's receiver nor the direct webhook ever hears "resolved".
@Suite(.serialized, .timeLimit(.minutes(4)))
struct AlertRestartTests {
    static func activeAlert(_ url: String) async -> (state: String, activeAt: Date)? {
        guard let json = try? await HTTP.getJSON(url + "/api/v1/alerts"),
              let a = ((json["data"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first,
              let state = a["state"] as? String, let at = a["activeAt"] as? String else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let d = f.date(from: at) ?? ISO8601DateFormatter().date(from: at) else { return nil }
        return (state, d)
    }

    @Test func pendingAndFiringSurviveARestart() async throws {
        let dir = try tempDir("alert-restart")
        let collPort = freePort()
        let receivers = try AlertingTests.startReceivers(dir)
        defer { receivers.stop() }
        let (hookPort, amPort, log) = (receivers.hookPort, receivers.amPort, receivers.log)
        try """
            groups:
              - name: edge
                rules:
                  - alert: EdgeTooHot
                    expr: edge_temp_celsius > 50
                    for: 20s
            """.write(toFile: dir + "/rules.yml", atomically: true, encoding: .utf8)
        // A grace period of 0 (Prometheus' default is 10m) so a 20 s `for` is restored at all.
        try """
            rules: { files: [rules.yml], evaluation_interval: 1s, for_grace_period: 0s }
            alerting:
              alertmanagers: [ "http://127.0.0.1:\(amPort)" ]
              webhooks: [ "http://127.0.0.1:\(hookPort)/direct" ]
            """.write(toFile: dir + "/collector.yml", atomically: true, encoding: .utf8)
        let args = ["--listen", "127.0.0.1:\(collPort)", "--data-dir", dir + "/data", "--no-auth", "--config", dir + "/collector.yml"]
        let url = "http://127.0.0.1:\(collPort)"
        var coll = try ChildProcess("collector", try E2E.binary("collector"), args, logDir: dir)
        defer { coll.stop() }
        try await waitUntil("collector to be ready") { await HTTP.get(url + "/-/ready")?.0 == 200 }
        try await waitUntil("Alertmanager to be ready", seconds: 60) { await HTTP.get("http://127.0.0.1:\(amPort)/-/ready")?.0 == 200 }
        // One sample stays current for the 5 m lookback: the alert condition holds throughout.
        try await AlertingTests.write(url, value: 80, at: Int64(Date().timeIntervalSince1970 * 1000))

        // 1. Restart during `for`.
        try await waitUntil("the alert to be pending") { await Self.activeAlert(url)?.state == "pending" }
        let pendingSince = try #require(await Self.activeAlert(url)).activeAt
        // 8 s of the 20 s `for` pass before the restart; they must still count after it.
        try await Task.sleep(for: .seconds(8))
        coll.stop()
        let restartedAt = Date()
        coll = try ChildProcess("collector-2", try E2E.binary("collector"), args, logDir: dir)
        try await waitUntil("collector to be ready again") { await HTTP.get(url + "/-/ready")?.0 == 200 }
        // Restored after the first evaluation: active since before the restart (the old time plus
        // the downtime), not since the restart, so `for` does not start over.
        try await waitUntil("the pending alert to get its earlier active time back", seconds: 20) {
            guard let a = await Self.activeAlert(url) else { return false }
            return a.activeAt < restartedAt
        }
        let restored = try #require(await Self.activeAlert(url))
        #expect(restored.activeAt >= pendingSince.addingTimeInterval(-1), "restored \(restored.activeAt), first \(pendingSince)")

        // 2. Restart while firing.
        try await waitUntil("the firing alert at both receivers", seconds: 90) {
            !AlertingTests.messages(log, path: "/am").isEmpty && !AlertingTests.messages(log, path: "/direct").isEmpty
        }
        let firingSince = try #require(await Self.activeAlert(url)).activeAt
        coll.stop()
        coll = try ChildProcess("collector-3", try E2E.binary("collector"), args, logDir: dir)
        try await waitUntil("collector to be ready a third time") { await HTTP.get(url + "/-/ready")?.0 == 200 }
        try await waitUntil("the alert firing again with its old active time", seconds: 20) {
            guard let a = await Self.activeAlert(url) else { return false }
            return a.state == "firing" && abs(a.activeAt.timeIntervalSince(firingSince)) < 1.01
        }
        // Let the restarted collector send what it sends (firing, to both paths) before looking.
        try await waitUntil("the restarted collector's firing notification", seconds: 20) {
            AlertingTests.messages(log, path: "/direct").count >= 2
        }
        try await Task.sleep(for: .seconds(3))
        for path in ["/am", "/direct"] {
            let statuses = AlertingTests.messages(log, path: path).map { $0["status"] as? String ?? "?" }
            #expect(!statuses.contains("resolved"), "\(path) heard: \(statuses)")
        }
        #expect(coll.isRunning, "collector died: \(coll.logTail())")
    }
}
