import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

@testable import Collector

/// Rules with `storage.remote` against a real VictoriaMetrics: recorded series, ALERTS and
/// ALERTS_FOR_STATE reach the backend through the forward queue (not the local TSDB, which
/// nothing reads in remote mode), and the `for` restore after a restart reads ALERTS_FOR_STATE
/// from the backend.
@Suite(.serialized, .timeLimit(.minutes(4))) struct RemoteRuleOutputTests {
    @Test func ruleOutputReachesTheBackendAndRestoreReadsIt() async throws {
        let dir = try tempDir("remote-rules")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vmPort = freePort()
        let vm = "http://127.0.0.1:\(vmPort)"
        let backend = try RemoteBackendTests.start(.victoriaMetrics, dir: dir, port: vmPort)
        defer { backend.stop() }
        try await waitUntil("victoria-metrics to become ready") { await HTTP.get(vm + "/health")?.0 == 200 || !backend.isRunning }

        // Before the collector starts: the alert's ALERTS_FOR_STATE as a previous collector
        // left it (active for 30 minutes, last written 5 s ago), and the alert's condition.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let activeAt = now / 1000 - 1800
        let forState = TimeSeries(labels: [Label("__name__", "ALERTS_FOR_STATE"), Label("alertname", "Hot"), Label("cluster", "c1")],
                                  samples: [Sample(t: now - 5_000, v: Double(activeAt))])
        #expect(try await HTTP.remoteWrite(vm + "/api/v1/write", WriteRequest(timeseries: [forState])).0 == 204)
        let writer = Task {
            while !Task.isCancelled {
                let t = Int64(Date().timeIntervalSince1970 * 1000)
                let temp = TimeSeries(labels: [Label("__name__", "temp"), Label("cluster", "c1")], samples: [Sample(t: t, v: 80)])
                _ = try? await HTTP.remoteWrite(vm + "/api/v1/write", WriteRequest(timeseries: [temp]))
                _ = await HTTP.get(vm + "/internal/force_flush")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        defer { writer.cancel() }
        // The restore runs once, after the first evaluation: the condition must be visible by then.
        try await waitUntil("the old ALERTS_FOR_STATE and the condition to be searchable") {
            _ = await HTTP.get(vm + "/internal/force_flush")
            let old = await Self.value(vm, "ALERTS_FOR_STATE{alertname=\"Hot\"}[1h]", matrix: true)
            let condition = await Self.value(vm, "temp > 50")
            return old == Double(activeAt) && condition == 80
        }

        try """
            groups:
              - name: g
                rules:
                  - alert: Hot
                    expr: temp > 50
                    for: 1h
                  - record: cluster:temp:doubled
                    expr: temp * 2
            """.write(toFile: dir + "/rules.yml", atomically: true, encoding: .utf8)
        let startedAt = Date()
        let s = try await TestServer(dataDir: dir + "/data") {
            $0.remoteStorage = RemoteStorageOptions(writeURL: vm + "/api/v1/write", queryURL: vm)
            $0.ruleFiles = [dir + "/rules.yml"]
            $0.evaluationIntervalMs = 1_000
            $0.forGracePeriodMs = 0
        }
        defer { Task { await s.stop() } }

        // Restored from the backend: active since about 30 minutes ago (plus the 5 s "downtime"),
        // not since this start, although the local TSDB has never seen ALERTS_FOR_STATE.
        try await waitUntil("the alert's active time restored from the backend") {
            guard let a = s.server.rules.activeAlerts().first?.alert else { return false }
            return a.activeAtMs < Int64(startedAt.timeIntervalSince1970 * 1000) - 60_000
        }
        let restored = try #require(s.server.rules.activeAlerts().first?.alert)
        #expect(restored.state == .pending)
        #expect(restored.activeAtMs >= activeAt * 1000 && restored.activeAtMs <= activeAt * 1000 + 60_000, "\(restored.activeAtMs) vs \(activeAt * 1000)")

        // The rule output reached VictoriaMetrics through the forward queue.
        try await waitUntil("the recorded series and ALERTS in victoria-metrics") {
            _ = await HTTP.get(vm + "/internal/force_flush")
            let recorded = await Self.value(vm, "cluster:temp:doubled{cluster=\"c1\"}")
            let alerts = await Self.value(vm, "ALERTS{alertname=\"Hot\",alertstate=\"pending\",cluster=\"c1\"}")
            let forStateNow = await Self.value(vm, "ALERTS_FOR_STATE{alertname=\"Hot\",cluster=\"c1\"}")
            return recorded == 160 && alerts == 1 && forStateNow == Double(restored.activeAtMs / 1000)
        }
        // And not into the local TSDB.
        let local = try s.server.tsdb.querier(mint: 0, maxt: Int64.max / 2)
        #expect(try local.select([LabelMatcher(.equal, "__name__", "cluster:temp:doubled")]).isEmpty)
        #expect(try local.select([LabelMatcher(.equal, "__name__", "ALERTS")]).isEmpty)
    }

    /// The first value of an instant query straight to VictoriaMetrics (for a matrix, the last sample's).
    static func value(_ base: String, _ query: String, matrix: Bool = false) async -> Double? {
        let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        guard let json = try? await HTTP.getJSON(base + "/api/v1/query?query=\(q)"),
              let first = ((json["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first else { return nil }
        let pair = matrix ? (first["values"] as? [[Any]])?.last : first["value"] as? [Any]
        return (pair?.last as? String).flatMap(Double.init)
    }
}
