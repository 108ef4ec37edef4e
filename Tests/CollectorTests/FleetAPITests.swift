import Foundation
import Logging
import PromQL
import RemoteWrite
import Storage
import Testing

@testable import Collector

@Suite struct FleetAPITests {
    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func remoteWrittenClustersAppearInSummaryAndList() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let t = Self.nowMs - 1000
        // Idle half of the time, and only for the last minute: young data must not read as busy.
        var idle: [(Int64, Double)] = []
        var user: [(Int64, Double)] = []
        for k in 0...4 {
            let at: Int64 = t - 60_000 + Int64(k) * 15_000
            idle.append((at, 100 + 7.5 * Double(k)))
            user.append((at, 50 + 7.5 * Double(k)))
        }
        let (code, msg) = try await s.write(WriteRequest(timeseries: [
            series("up", ["cluster": "store-a", "region": "eu-west", "site": "s1", "job": "node"], [(t, 1)]),
            series("up", ["cluster": "store-b", "region": "us-east", "job": "node"], [(t, 0)]),
            series("node_memory_MemAvailable_bytes", ["cluster": "store-a", "region": "eu-west"], [(t, 25)]),
            series("node_memory_MemTotal_bytes", ["cluster": "store-a", "region": "eu-west"], [(t, 100)]),
            series("node_filesystem_avail_bytes", ["cluster": "store-a", "fstype": "ext4", "mountpoint": "/"], [(t, 40)]),
            series("node_filesystem_size_bytes", ["cluster": "store-a", "fstype": "ext4", "mountpoint": "/"], [(t, 100)]),
            series("node_cpu_seconds_total", ["cluster": "store-a", "cpu": "0", "mode": "idle"], idle),
            series("node_cpu_seconds_total", ["cluster": "store-a", "cpu": "0", "mode": "user"], user),
            series("kube_pod_status_phase", ["cluster": "store-a", "pod": "p1", "phase": "Running"], [(t, 1)]),
            series("kube_pod_status_phase", ["cluster": "store-a", "pod": "p2", "phase": "Running"], [(t, 1)]),
            series("kube_pod_status_phase", ["cluster": "store-a", "pod": "p2", "phase": "Failed"], [(t, 0)]),
        ]))
        #expect(code == 204, "\(msg)")

        let (c1, summary) = try await s.get("/api/v1/fleet/summary")
        #expect(c1 == 200)
        #expect(summary["status"] as? String == "success")
        let data = try #require(summary["data"] as? [String: Any])
        #expect(data["total"] as? Int == 2)
        #expect(data["by_health"] as? [String: Int] == ["healthy": 1, "degraded": 0, "catching_up": 0, "down": 1, "stale": 0])
        let regions = try #require(data["regions"] as? [[String: Any]])
        #expect(regions.map { $0["region"] as! String } == ["eu-west", "us-east"])
        #expect(regions.map { $0["down"] as! Int } == [0, 1])

        let (c2, list) = try await s.get("/api/v1/fleet/clusters")
        #expect(c2 == 200)
        let ld = try #require(list["data"] as? [String: Any])
        #expect(ld["total"] as? Int == 2)
        #expect(ld["offset"] as? Int == 0 && ld["limit"] as? Int == 100)
        let clusters = try #require(ld["clusters"] as? [[String: Any]])
        #expect(clusters.map { $0["cluster"] as! String } == ["store-b", "store-a"])
        let a = clusters[1]
        #expect(a["labels"] as? [String: String] == ["region": "eu-west", "site": "s1"])
        #expect(a["targets_up"] as? Int == 1)
        #expect((a["series"] as? Int ?? 0) >= 8)
        #expect(abs((a["last_seen"] as? Double ?? 0) - Double(t) / 1000) < 0.01)

        let (c3, grid) = try await s.get("/api/v1/fleet/grid")
        #expect(c3 == 200)
        let rows = try #require((grid["data"] as? [String: Any])?["regions"] as? [[String: Any]])
        #expect(rows.map { $0["health"] as! String } == ["h", "D"])

        // The key numbers come from PromQL over what was written; the state goes back in as series.
        let refresher = FleetRefresher(registry: s.server.fleet, tsdb: s.server.tsdb, engine: Engine(), logger: Logger(label: "test"))
        await refresher.refresh()
        let (c4, one) = try await s.get("/api/v1/fleet/clusters/store-a")
        #expect(c4 == 200)
        let od = try #require(one["data"] as? [String: Any])
        #expect(od["memory_percent"] as? Double == 75)
        #expect(od["disk_percent"] as? Double == 60)
        #expect(od["cpu_percent"] as? Double == 50)
        #expect(od["pods"] as? [String: Int] == ["running": 2, "pending": 0, "failed": 0])
        #expect(od["health"] as? String == "healthy")

        let (c5, q) = try await s.get("/api/v1/query?query=fleetscope_cluster_last_seen_seconds")
        #expect(c5 == 200)
        let result = try #require((q["data"] as? [String: Any])?["result"] as? [[String: Any]])
        #expect(result.compactMap { ($0["metric"] as? [String: String])?["cluster"] }.sorted() == ["store-a", "store-b"])
        #expect(result.allSatisfy { ($0["metric"] as? [String: String])?["job"] == "fleetscope" })
        let (_, h) = try await s.get("/api/v1/query?query=fleetscope_cluster_health%3D%3D1")
        let states = try #require((h["data"] as? [String: Any])?["result"] as? [[String: Any]])
        #expect(states.compactMap { ($0["metric"] as? [String: String]).map { "\($0["cluster"]!)=\($0["state"]!)" } }.sorted()
                == ["store-a=healthy", "store-b=down"])

        let (_, metrics) = try await s.get("/metrics")
        let text = metrics["raw"] as? String ?? ""
        #expect(text.contains(#"fleetscope_fleet_clusters{health="down"} 1"#))
        #expect(text.contains(#"fleetscope_fleet_clusters{health="healthy"} 1"#))

        let (c6, missing) = try await s.get("/api/v1/fleet/clusters/store-zzz")
        #expect(c6 == 404)
        #expect(missing["errorType"] as? String == "not_found")
        let (c7, bad) = try await s.get("/api/v1/fleet/clusters?sort=colour")
        #expect(c7 == 400)
        #expect(bad["status"] as? String == "error" && bad["errorType"] as? String == "bad_data")
        #expect((bad["error"] as? String ?? "").contains("invalid parameter \"sort\""))
        let (c8, badHealth) = try await s.get("/api/v1/fleet/clusters?health=sick")
        #expect(c8 == 400)
        #expect((badHealth["error"] as? String ?? "").contains("healthy, degraded, catching_up, down, stale"))
    }

    /// A cluster that writes now, but only samples from ten minutes ago, is delivering a backlog.
    @Test func aClusterSendingOldSamplesIsCatchingUpEverywhere() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let old = Self.nowMs - 600_000
        let (code, msg) = try await s.write(WriteRequest(timeseries: [
            series("up", ["cluster": "store-late", "region": "eu-west", "job": "node"], [(old - 15_000, 1), (old, 1)]),
            series("up", ["cluster": "store-now", "region": "eu-west", "job": "node"], [(Self.nowMs - 1000, 1)]),
        ]))
        #expect(code == 204, "\(msg)")
        let (c1, one) = try await s.get("/api/v1/fleet/clusters/store-late")
        #expect(c1 == 200)
        let d = try #require(one["data"] as? [String: Any])
        #expect(d["health"] as? String == "catching_up")
        let behind = try #require(d["behind_seconds"] as? Int)
        #expect(behind >= 600 && behind < 700)
        #expect(d["catch_up_rate"] is NSNull, "one request: nothing to measure a rate from yet")
        let (_, now) = try await s.get("/api/v1/fleet/clusters/store-now")
        #expect((now["data"] as? [String: Any])?["behind_seconds"] is NSNull)

        let (_, summary) = try await s.get("/api/v1/fleet/summary")
        let sd = try #require(summary["data"] as? [String: Any])
        #expect((sd["by_health"] as? [String: Int])?["catching_up"] == 1)
        #expect((sd["regions"] as? [[String: Any]])?.first?["catching_up"] as? Int == 1)
        let (_, grid) = try await s.get("/api/v1/fleet/grid")
        #expect(((grid["data"] as? [String: Any])?["regions"] as? [[String: Any]])?.first?["health"] as? String == "ch")
        let (_, filtered) = try await s.get("/api/v1/fleet/clusters?health=catching_up")
        #expect(((filtered["data"] as? [String: Any])?["clusters"] as? [[String: Any]])?.map { $0["cluster"] as! String } == ["store-late"])

        let refresher = FleetRefresher(registry: s.server.fleet, tsdb: s.server.tsdb, engine: Engine(), logger: Logger(label: "test"))
        await refresher.refresh()
        let (_, h) = try await s.get("/api/v1/query?query=fleetscope_cluster_health%3D%3D1")
        let states = try #require((h["data"] as? [String: Any])?["result"] as? [[String: Any]])
        #expect(states.compactMap { ($0["metric"] as? [String: String]).map { "\($0["cluster"]!)=\($0["state"]!)" } }.sorted()
                == ["store-late=catching_up", "store-now=healthy"])
        let (_, metrics) = try await s.get("/metrics")
        #expect((metrics["raw"] as? String ?? "").contains(#"fleetscope_fleet_clusters{health="catching_up"} 1"#))
    }

    @Test func viewersSeeOnlyTheirScopeAndTheRegistrySurvivesARestart() async throws {
        let s = try await TestServer(noAuth: false)
        let eu = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "eu-1")
        let us = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "us-1")
        let t = Self.nowMs - 1000
        #expect(try await s.write(WriteRequest(timeseries: [series("up", ["region": "eu"], [(t, 1)])]), token: eu).0 == 204)
        #expect(try await s.write(WriteRequest(timeseries: [series("up", ["region": "us"], [(t, 1)])]), token: us).0 == 204)
        try await AdminCommands.addUser(dataDir: s.dataDir, name: "ana", password: "correct horse", role: "viewer", scope: #"{region="eu"}"#)
        let password = try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(try await s.get("/api/v1/fleet/summary").0 == 401)
        // An ingest token writes; it never reads the fleet.
        let port = s.port
        let (tokenCode, _) = try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int, Data), Error>) in
            Thread { c.resume(with: Result { try rawGet(port: port, path: "/api/v1/fleet/clusters", headers: ["Authorization: Bearer \(eu)"]) }) }.start()
        }
        #expect(tokenCode == 401 || tokenCode == 403)
        let (c1, mine) = try await s.get("/api/v1/fleet/clusters", user: "ana", password: "correct horse")
        #expect(c1 == 200)
        let names = ((mine["data"] as? [String: Any])?["clusters"] as? [[String: Any]])?.map { $0["cluster"] as! String }
        #expect(names == ["eu-1"])
        let (_, sum) = try await s.get("/api/v1/fleet/summary", user: "ana", password: "correct horse")
        #expect((sum["data"] as? [String: Any])?["total"] as? Int == 1)
        #expect(try await s.get("/api/v1/fleet/clusters/us-1", user: "ana", password: "correct horse").0 == 404)
        #expect(try await s.get("/api/v1/fleet/clusters/us-1", user: "admin", password: password).0 == 200)
        let (_, all) = try await s.get("/api/v1/fleet/summary", user: "admin", password: password)
        #expect((all["data"] as? [String: Any])?["total"] as? Int == 2)

        // Shutdown flushes the registry; the next collector on the same directory knows both clusters.
        await s.stop()
        let again = try await TestServer(noAuth: true, dataDir: s.dataDir)
        defer { Task { await again.stop() } }
        let (_, after) = try await again.get("/api/v1/fleet/clusters?sort=name")
        let restored = try #require((after["data"] as? [String: Any])?["clusters"] as? [[String: Any]])
        #expect(restored.map { $0["cluster"] as! String } == ["eu-1", "us-1"])
        #expect(restored.map { $0["region"] as! String } == ["eu", "us"])
        #expect(restored.allSatisfy { abs(($0["last_seen"] as? Double ?? 0) - Double(t) / 1000) < 0.01 })
    }
}
