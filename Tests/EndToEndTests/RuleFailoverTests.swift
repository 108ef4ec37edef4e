import Foundation
import RemoteWrite
import Storage
import Synchronization
import Testing
import TestSupport

/// Two collector binaries run as one: the same rule file, one PostgreSQL (`state.postgres`: the
/// rule lease and the shared alert state) and one VictoriaMetrics (`storage.remote`). Exactly one
/// evaluates and notifies; `kill -9` it while its alert fires, and the other takes the lease
/// over, carries the alert on (same active time) without notifying "firing" again, and sends
/// the one "resolved" when the condition clears.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct RuleFailoverTests {
    @Test func killedLeaseHolderIsReplacedWithoutDuplicateNotifications() async throws {
        let dir = try tempDir("rule-failover")
        let pg = try PostgresServer(logDir: dir)
        defer { pg.stop() }
        let vmPort = freePort(), hookPort = freePort()
        let vm = "http://127.0.0.1:\(vmPort)"
        let victoria = try ChildProcess("victoria-metrics", try E2E.peer("/usr/bin/victoria-metrics", package: "victoria-metrics"), [
            "-httpListenAddr=127.0.0.1:\(vmPort)", "-storageDataPath=\(dir)/vm", "-search.latencyOffset=0s", "-search.disableCache",
        ], logDir: dir)
        defer { victoria.stop() }
        let log = dir + "/hook.jsonl"
        let hook = try ChildProcess("receiver", "/usr/bin/python3", ["-c", AlertingTests.receiver, String(hookPort), log], logDir: dir)
        defer { hook.stop() }
        try await waitUntil("victoria-metrics to be ready") { await HTTP.get(vm + "/health")?.0 == 200 }

        try """
            groups:
              - name: edge
                rules:
                  - alert: EdgeTooHot
                    expr: edge_temp_celsius > 50
                    for: 2s
            """.write(toFile: dir + "/rules.yml", atomically: true, encoding: .utf8)
        try """
            rules: { files: [rules.yml], evaluation_interval: 1s }
            alerting:
              webhooks: [ "http://127.0.0.1:\(hookPort)/direct" ]
            storage:
              remote:
                write_url: \(vm)/api/v1/write
                query_url: \(vm)
            state:
              postgres: "\(pg.url)"
            """.write(toFile: dir + "/collector.yml", atomically: true, encoding: .utf8)

        // The condition, written straight to the backend every half second (both replicas read it there).
        let temperature = Temperature(80)
        let writer = Task {
            while !Task.isCancelled {
                let s = TimeSeries(labels: [Label("__name__", "edge_temp_celsius"), Label("cluster", "store-1")],
                                   samples: [Sample(t: Int64(Date().timeIntervalSince1970 * 1000), v: temperature.value)])
                _ = try? await HTTP.remoteWrite(vm + "/api/v1/write", WriteRequest(timeseries: [s]))
                _ = await HTTP.get(vm + "/internal/force_flush")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        defer { writer.cancel() }

        let ports = [freePort(), freePort()]
        let urls = ports.map { "http://127.0.0.1:\($0)" }
        var collectors: [ChildProcess] = []
        defer { for c in collectors { c.stop() } }
        for (i, port) in ports.enumerated() {
            collectors.append(try ChildProcess("collector-\(i)", try E2E.binary("collector"), [
                "--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data-\(i)", "--no-auth", "--config", dir + "/collector.yml",
            ], logDir: dir))
        }
        for url in urls { try await waitUntil("\(url) to be ready") { await HTTP.get(url + "/-/ready")?.0 == 200 } }

        // One holder, and it notifies "firing" once.
        try await waitUntil("the firing notification", seconds: 60) { !Self.statuses(log).isEmpty }
        // Exactly one holder: never two; a moment with none (a renewal late on a busy machine) is waited out.
        var held: [Bool?] = []
        try await waitUntil("exactly one lease holder") {
            held = await urls.asyncMap { await Self.leaseHeld($0) }
            #expect(held.filter { $0 == true }.count <= 1, "lease held: \(held)")
            return held.filter { $0 == true }.count == 1
        }
        let holder = try #require(held.firstIndex(of: true)), survivor = 1 - holder
        let firedAt = try #require(Self.firstAlert(log)?["startsAt"] as? String)
        // The other replica shows the holder's alert (shared state), without evaluating.
        try await waitUntil("the non-holder to show the shared firing alert") {
            await Self.alert(urls[survivor]).map { $0.state == "firing" && $0.activeAt == firedAt } ?? false
        }

        collectors[holder].kill9()
        let killedAt = Date()
        try await waitUntil("the survivor to take the lease over") { await Self.leaseHeld(urls[survivor]) == true }
        // Two evaluations of its own after the kill: time enough to have sent a duplicate.
        try await waitUntil("the survivor to evaluate the rules") {
            guard let last = await Self.lastEvaluation(urls[survivor]) else { return false }
            return last > killedAt.addingTimeInterval(2)
        }
        let carried = try #require(await Self.alert(urls[survivor]))
        #expect(carried.state == "firing" && carried.activeAt == firedAt, "\(carried) vs \(firedAt)")
        #expect(Self.statuses(log) == ["firing"], "after the takeover: \(Self.statuses(log))")

        // The condition clears: one "resolved", from the survivor.
        temperature.value = 20
        try await waitUntil("the resolved notification", seconds: 60) { Self.statuses(log).contains("resolved") }
        let resolvedSeen = Date()
        try await waitUntil("two more evaluations") {
            guard let last = await Self.lastEvaluation(urls[survivor]) else { return false }
            return last > resolvedSeen.addingTimeInterval(2)
        }
        #expect(Self.statuses(log) == ["firing", "resolved"], "\(Self.statuses(log))")
        #expect(collectors[survivor].isRunning, "survivor died: \(collectors[survivor].logTail())")
    }

    /// The status of every alert in every webhook message, in order.
    static func statuses(_ log: String) -> [String] {
        AlertingTests.messages(log, path: "/direct").flatMap { m in
            ((m["alerts"] as? [[String: Any]]) ?? []).map { $0["status"] as? String ?? "?" }
        }
    }

    static func firstAlert(_ log: String) -> [String: Any]? {
        (AlertingTests.messages(log, path: "/direct").first?["alerts"] as? [[String: Any]])?.first
    }

    /// `fleetscope_rule_lease_held` from /metrics.
    static func leaseHeld(_ url: String) async -> Bool? {
        guard let (code, body) = await HTTP.get(url + "/metrics"), code == 200 else { return nil }
        let line = String(decoding: body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("fleetscope_rule_lease_held ") }
        return line.map { $0.hasSuffix(" 1") || $0.hasSuffix(" 1.0") }
    }

    static func alert(_ url: String) async -> (state: String, activeAt: String)? {
        guard let json = try? await HTTP.getJSON(url + "/api/v1/alerts"),
              let a = ((json["data"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first,
              let state = a["state"] as? String, let at = a["activeAt"] as? String else { return nil }
        return (state, at)
    }

    /// The group's last evaluation, from /api/v1/rules.
    static func lastEvaluation(_ url: String) async -> Date? {
        guard let json = try? await HTTP.getJSON(url + "/api/v1/rules"),
              let g = ((json["data"] as? [String: Any])?["groups"] as? [[String: Any]])?.first,
              let text = g["lastEvaluation"] as? String else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}

/// The value the writer sends, changed by the test.
final class Temperature: Sendable {
    private let v: Mutex<Double>
    init(_ v: Double) { self.v = Mutex(v) }
    var value: Double {
        get { v.withLock { $0 } }
        set { v.withLock { $0 = newValue } }
    }
}

extension Array {
    func asyncMap<T>(_ f: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for e in self { out.append(await f(e)) }
        return out
    }
}
