import Foundation
import Storage
import Synchronization
import Testing
import TSDB

@testable import Collector

/// A clock the test moves by hand.
final class FakeClock: Sendable {
    private let ms: Mutex<Int64>
    init(_ start: Int64 = 1_800_000_000_000) { ms = Mutex(start) }
    var now: Int64 { ms.withLock { $0 } }
    func advance(seconds: Double) { ms.withLock { $0 += Int64(seconds * 1000) } }
    func set(_ v: Int64) { ms.withLock { $0 = v } }
    var read: @Sendable () -> Int64 { { [self] in self.now } }
}

func fleetSeries(_ name: String, _ labels: [String: String], _ samples: [(Int64, Double)]) -> SeriesSamples {
    var l = labels
    l["__name__"] = name
    return SeriesSamples(labels: Labels(l), samples: samples.map { Sample(t: $0.0, v: $0.1) })
}

func makeRegistry(_ clock: FakeClock, downAfter: Int64 = 120_000, staleAfter: Int64 = 3_600_000) throws -> FleetRegistry {
    FleetRegistry(store: nil, options: fleetOptions(downAfter: downAfter, staleAfter: staleAfter), clock: clock.read)
}

func fleetOptions(downAfter: Int64 = 120_000, staleAfter: Int64 = 3_600_000) -> FleetOptions {
    var o = FleetOptions()
    o.downAfterMs = downAfter
    o.staleAfterMs = staleAfter
    return o
}

/// A registry on `fleet.sqlite` at `path`, loaded.
func makeRegistry(_ clock: FakeClock, path: String) async throws -> FleetRegistry {
    try await FleetRegistry.open(path: path, options: fleetOptions(), clock: clock.read)
}

func apiJSON(_ r: APIResponse) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
}

@Suite struct FleetRegistryTests {
    @Test func freshThenDownThenStaleThenBack() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let first = clock.now - 1000
        reg.record(cluster: "store-1", series: [fleetSeries("up", ["job": "node"], [(first, 1)])])
        var c = try #require(reg.cluster("store-1"))
        #expect(c.health == .healthy)
        #expect(c.lastSeenMs == clock.now - 1000)
        #expect(c.firstSeenMs == clock.now - 1000)
        #expect(c.targetsUp == 1 && c.targetsDown == 0)

        clock.advance(seconds: 110)
        #expect(reg.cluster("store-1")?.health == .healthy)
        clock.advance(seconds: 20)
        #expect(reg.cluster("store-1")?.health == .down)
        clock.advance(seconds: 3600)
        #expect(reg.cluster("store-1")?.health == .stale)

        reg.record(cluster: "store-1", series: [fleetSeries("up", ["job": "node"], [(clock.now, 1)])])
        c = try #require(reg.cluster("store-1"))
        #expect(c.health == .healthy)
        #expect(c.lastSeenMs == clock.now)
        #expect(c.firstSeenMs == first)
        #expect(reg.cluster("unknown") == nil)
    }

    @Test func samplesFromTheFutureDoNotKeepAClusterAlive() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        reg.record(cluster: "skewed", series: [fleetSeries("m", [:], [(clock.now + 3_600_000, 1)])])
        #expect(reg.cluster("skewed")?.lastSeenMs == clock.now)
        clock.advance(seconds: 180)
        #expect(reg.cluster("skewed")?.health == .down)
    }

    @Test func upZeroMakesDegradedOrDown() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let t = clock.now
        reg.record(cluster: "a", series: [
            fleetSeries("up", ["job": "node", "instance": "n1"], [(t, 1)]),
            fleetSeries("up", ["job": "kubelet", "instance": "n1"], [(t, 0)]),
        ])
        var c = try #require(reg.cluster("a"))
        #expect(c.health == .degraded)
        #expect(c.targetsUp == 1 && c.targetsDown == 1)

        // The latest value per series counts; an older sample arriving late changes nothing.
        reg.record(cluster: "a", series: [
            fleetSeries("up", ["job": "node", "instance": "n1"], [(t + 15_000, 0)]),
            fleetSeries("up", ["job": "kubelet", "instance": "n1"], [(t - 15_000, 1)]),
        ])
        c = try #require(reg.cluster("a"))
        #expect(c.health == .down)
        #expect(c.targetsUp == 0 && c.targetsDown == 2)

        // A stale marker means the target went away: it no longer counts as down.
        reg.record(cluster: "a", series: [
            fleetSeries("up", ["job": "node", "instance": "n1"], [(t + 30_000, 1)]),
            fleetSeries("up", ["job": "kubelet", "instance": "n1"], [(t + 30_000, StaleNaN.value)]),
        ])
        c = try #require(reg.cluster("a"))
        #expect(c.health == .healthy)
        #expect(c.targetsUp == 1 && c.targetsDown == 0)
    }

    @Test func failedPodsDegrade() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        reg.record(cluster: "a", series: [fleetSeries("up", [:], [(clock.now, 1)])])
        reg.record(cluster: "b", series: [fleetSeries("up", [:], [(clock.now, 1)])])
        reg.applyDerived(FleetDerived(cpuPercent: ["a": 41.2], memoryPercent: [:], diskPercent: ["b": 63],
                                      pods: ["a": PodCounts(running: 12, pending: 1, failed: 2), "b": PodCounts(running: 3)]))
        let a = try #require(reg.cluster("a"))
        #expect(a.health == .degraded)
        #expect(a.cpuPercent == 41.2)
        #expect(a.memoryPercent == nil)
        #expect(a.pods == PodCounts(running: 12, pending: 1, failed: 2))
        #expect(reg.cluster("b")?.health == .healthy)
        #expect(reg.cluster("b")?.diskPercent == 63)
        reg.applyAlerts(firingByCluster: ["b": 2])
        #expect(reg.cluster("b")?.health == .degraded)
        #expect(reg.cluster("b")?.alertsFiring == 2)
        reg.applyAlerts(firingByCluster: [:])
        #expect(reg.cluster("b")?.health == .healthy)
        // A failed query (nil map) keeps the previous numbers.
        reg.applyDerived(FleetDerived(cpuPercent: nil, memoryPercent: nil, diskPercent: nil, pods: nil))
        #expect(reg.cluster("a")?.cpuPercent == 41.2)
    }

    @Test func withoutATokenSeriesAreGroupedByTheirClusterLabel() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let t = clock.now
        reg.record(cluster: nil, series: [
            fleetSeries("up", ["cluster": "a", "region": "eu-west", "site": "s1"], [(t, 1)]),
            fleetSeries("up", ["cluster": "b", "region": "us-east"], [(t, 0)]),
            fleetSeries("node_load1", ["cluster": "a"], [(t - 5000, 1), (t, 2)]),
            fleetSeries("orphan", [:], [(t, 1)]),
        ])
        #expect(reg.count == 2)
        let a = try #require(reg.cluster("a"))
        #expect(a.region == "eu-west" && a.site == "s1")
        #expect(a.samplesTotal == 3)
        #expect(a.firstSeenMs == t - 5000)
        #expect(a.health == .healthy)
        let b = try #require(reg.cluster("b"))
        #expect(b.region == "us-east")
        #expect(b.health == .down)

        // Series without samples are no sign of life.
        reg.record(cluster: "empty", series: [fleetSeries("up", [:], [])])
        #expect(reg.cluster("empty") == nil)

        // With a token, the token's cluster owns every series, whatever they say.
        reg.record(cluster: "x", series: [fleetSeries("up", ["cluster": "x", "exported_cluster": "a"], [(t, 1)])])
        #expect(reg.count == 3)
        #expect(reg.cluster("a")?.samplesTotal == 3)
    }

    @Test func seriesCountAndRateFollowTheTraffic() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        // 40 series every 10 s: 4 samples/s.
        for _ in 0..<60 {
            let t = clock.now
            reg.record(cluster: "a", series: (0..<40).map { fleetSeries("m", ["i": String($0)], [(t, 1)]) })
            clock.advance(seconds: 10)
        }
        let c = try #require(reg.cluster("a"))
        // A HyperLogLog estimate with a per-process hash seed: within a few standard errors.
        #expect(c.series >= 30 && c.series <= 50)
        #expect(c.samplesPerSecond > 3 && c.samplesPerSecond < 5)
        #expect(c.samplesTotal == 2400)
        // Silence: after two windows nothing counts as active any more, and the rate decays.
        clock.advance(seconds: 700)
        let quiet = try #require(reg.cluster("a"))
        #expect(quiet.series == 0)
        #expect(quiet.samplesPerSecond < 0.1)
    }

    @Test func restartKeepsEveryClusterAndItsLastSeen() async throws {
        let dir = NSTemporaryDirectory() + "fleet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = FakeClock()
        let t = clock.now
        do {
            let reg = try await makeRegistry(clock, path: dir + "/fleet.sqlite")
            reg.record(cluster: nil, series: [
                fleetSeries("up", ["cluster": "a", "region": "eu-west", "site": "s1"], [(t - 60_000, 1), (t, 1)]),
                fleetSeries("up", ["cluster": "b", "region": "us-east"], [(t, 0)]),
            ])
            reg.applyDerived(FleetDerived(cpuPercent: ["a": 12.5], pods: ["a": PodCounts(running: 4, pending: 0, failed: 1)]))
            try await reg.flush()
            // A second change after a flush is written by the next one (close).
            reg.record(cluster: "c", series: [fleetSeries("up", [:], [(t, 1)])])
            // Key numbers and a last-seen only seconds newer wait for the final flush.
            clock.advance(seconds: 5)
            reg.record(cluster: "b", series: [fleetSeries("up", ["cluster": "b", "region": "us-east"], [(t + 5000, 0)])])
            reg.applyDerived(FleetDerived(diskPercent: ["b": 90]))
            try await reg.flush()
            try await reg.close()
        }
        let reg = try await makeRegistry(clock, path: dir + "/fleet.sqlite")
        #expect(reg.count == 3)
        let a = try #require(reg.cluster("a"))
        #expect(a.lastSeenMs == t && a.firstSeenMs == t - 60_000)
        #expect(a.region == "eu-west" && a.site == "s1")
        #expect(a.samplesTotal == 2)
        #expect(a.cpuPercent == 12.5)
        #expect(a.pods == PodCounts(running: 4, pending: 0, failed: 1))
        #expect(a.health == .degraded)
        let b = try #require(reg.cluster("b"))
        #expect(b.targetsDown == 1 && b.health == .down)
        #expect(b.lastSeenMs == t + 5000)
        #expect(b.diskPercent == 90)
        #expect(reg.cluster("c")?.health == .healthy)
        clock.advance(seconds: 7200)
        #expect(reg.cluster("a")?.health == .stale)
    }

    @Test func stateSeriesCarryEveryStateWithOneForTheCurrentOne() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        reg.record(cluster: nil, series: [fleetSeries("up", ["cluster": "a", "region": "eu"], [(clock.now - 2000, 0)])])
        let out = FleetRefresher.stateSeries(reg.snapshot(), at: clock.now)
        #expect(out.count == 1 + FleetHealth.allCases.count)
        let last = try #require(out.first { $0.labels.metricName == "fleetscope_cluster_last_seen_seconds" })
        #expect(last.labels == Labels(["__name__": "fleetscope_cluster_last_seen_seconds", "cluster": "a", "region": "eu", "job": "fleetscope"]))
        #expect(last.samples == [Sample(t: clock.now, v: Double(clock.now - 2000) / 1000)])
        let ones = out.filter { $0.labels.metricName == "fleetscope_cluster_health" && $0.samples[0].v == 1 }
        #expect(ones.map { $0.labels["state"] } == ["down"])
        #expect(Set(out.compactMap { $0.labels["state"] }) == ["healthy", "degraded", "catching_up", "down", "stale"])
    }

    /// An edge back after a 10-minute outage sends its queued backlog oldest first, a minute of
    /// samples every 5 s: reachable, but its newest sample is old. Not down: catching up, with
    /// how far behind and how fast the gap closes; healthy once the newest sample is recent.
    @Test func aBacklogAfterAnOutageIsCatchingUpNotDown() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let outageStart = clock.now
        reg.record(cluster: "edge", series: [fleetSeries("up", ["job": "node"], [(outageStart, 1)])])
        clock.advance(seconds: 600)
        var c = try #require(reg.cluster("edge"))
        #expect(c.health == .down)
        #expect(c.behindMs == nil && c.catchUpRate == nil)

        var newest = outageStart
        var states: [FleetHealth] = []
        var rates: [Double] = []
        for _ in 0..<40 {
            clock.advance(seconds: 5)
            let minute = (1...4).map { (newest + Int64($0) * 15_000, 1.0) }
            newest += 60_000
            reg.record(cluster: "edge", series: [fleetSeries("up", ["job": "node"], minute)])
            c = try #require(reg.cluster("edge"))
            states.append(c.health)
            if c.health == .catchingUp {
                #expect(c.behindMs == clock.now - newest)
                #expect(c.lastSeenMs == newest)
                if let r = c.catchUpRate { rates.append(r) }
            } else {
                #expect(c.behindMs == nil && c.catchUpRate == nil)
            }
            if c.health == .healthy { break }
        }
        #expect(states.first == .catchingUp)
        #expect(states.last == .healthy)
        #expect(!states.contains(.down))
        // 60 s of samples per 5 s of wall time: the gap shrinks by 11 s every second.
        #expect(!rates.isEmpty)
        #expect(rates.allSatisfy { abs($0 - 11) < 0.01 }, "\(rates)")

        // Stuck mid-backlog: nothing arrives any more, so after down_after it is down again.
        let stuck = try makeRegistry(clock)
        stuck.record(cluster: "edge", series: [fleetSeries("up", ["job": "node"], [(clock.now - 900_000, 1)])])
        #expect(stuck.cluster("edge")?.health == .catchingUp)
        #expect(stuck.cluster("edge")?.behindMs == 900_000)
        #expect(stuck.cluster("edge")?.catchUpRate == nil, "one request: no rate yet")
        clock.advance(seconds: 121)
        #expect(stuck.cluster("edge")?.health == .down)
        let series = FleetRefresher.stateSeries(stuck.snapshot(), at: clock.now)
        #expect(series.filter { $0.samples[0].v == 1 }.compactMap { $0.labels["state"] } == ["down"])
    }

    @Test func aBacklogThatFallsFurtherBehindHasANegativeRateAndOldSilenceIsNotAveragedIn() async throws {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let start = clock.now - 3_600_000
        reg.record(cluster: "slow", series: [fleetSeries("m", [:], [(start, 1)])])
        // Half a second of samples per second of wall time: falling behind.
        for k in 1...12 {
            clock.advance(seconds: 10)
            reg.record(cluster: "slow", series: [fleetSeries("m", [:], [(start + Int64(k) * 5_000, 1)])])
        }
        let c = try #require(reg.cluster("slow"))
        #expect(c.health == .catchingUp)
        let rate = try #require(c.catchUpRate)
        #expect(abs(rate + 0.5) < 0.01, "\(rate)")
        #expect(FleetRefresher.stateSeries(reg.snapshot(), at: clock.now)
            .filter { $0.samples[0].v == 1 }.compactMap { $0.labels["state"] } == ["catching_up"])

        // Silent for 10 minutes, then one request: the rate starts over instead of averaging the silence.
        clock.advance(seconds: 600)
        reg.record(cluster: "slow", series: [fleetSeries("m", [:], [(start + 70_000, 1)])])
        #expect(reg.cluster("slow")?.health == .catchingUp)
        #expect(reg.cluster("slow")?.catchUpRate == nil)
    }
}

@Suite struct FleetQueryTests {
    /// 30 clusters over three regions (and some without one), with varied health and numbers.
    func fleet() throws -> (FakeClock, FleetRegistry) {
        let clock = FakeClock()
        let reg = try makeRegistry(clock)
        let t = clock.now
        var cpu: [String: Double] = [:]
        for i in 0..<30 {
            let name = String(format: "store-%02d", i)
            let region = ["eu-west", "us-east", "ap-south", ""][i % 4]
            var labels = ["cluster": name]
            if !region.isEmpty { labels["region"] = region }
            let age: Int64 = i % 5 == 0 ? 300_000 : (i % 7 == 0 ? 7_200_000 : 0)
            let upValue: Double = i % 3 == 0 ? 0 : 1
            // Sent when it was current: an old sample that arrived now would be catching up.
            clock.set(t - age)
            reg.record(cluster: nil, series: [
                fleetSeries("up", labels.merging(["job": "node"]) { a, _ in a }, [(t - age, 1)]),
                fleetSeries("up", labels.merging(["job": "pods"]) { a, _ in a }, [(t - age, upValue)]),
            ])
            if i % 2 == 0 { cpu[name] = Double((i * 37) % 100) }
        }
        clock.set(t)
        reg.applyDerived(FleetDerived(cpuPercent: cpu))
        return (clock, reg)
    }

    func list(_ api: FleetAPI, _ q: String, scope: Scope = []) throws -> (Int, [[String: Any]]) {
        let r = api.clusters(Params(query: q), scope: scope)
        #expect(r.status == 200)
        let data = try #require(try apiJSON(r)["data"] as? [String: Any])
        return (try #require(data["total"] as? Int), try #require(data["clusters"] as? [[String: Any]]))
    }

    @Test func defaultOrderIsWorstFirstThenName() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let (total, page) = try list(api, "limit=1000")
        #expect(total == 30)
        let ranks: [String: Int] = ["down": 0, "degraded": 1, "catching_up": 2, "stale": 3, "healthy": 4]
        let keys: [String] = page.map { c -> String in
            let rank: Int = ranks[c["health"] as! String]!
            return "\(rank) " + (c["cluster"] as! String)
        }
        #expect(keys == keys.sorted())
        #expect(Set(page.map { $0["health"] as! String }) == ["down", "degraded", "stale", "healthy"])
    }

    @Test func filtersSortAndPage() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let (all, everything) = try list(api, "sort=name&limit=1000")
        #expect(all == 30)
        #expect(everything.map { $0["cluster"] as! String } == (0..<30).map { String(format: "store-%02d", $0) })

        let (n, down) = try list(api, "health=down,degraded&sort=name&order=desc")
        #expect(n == down.count)
        #expect(down.allSatisfy { ["down", "degraded"].contains($0["health"] as! String) })
        #expect(down.map { $0["cluster"] as! String } == down.map { $0["cluster"] as! String }.sorted(by: >))

        let (found, hits) = try list(api, "search=ORE-1")
        #expect(found == 10)
        #expect(hits.allSatisfy { ($0["cluster"] as! String).hasPrefix("store-1") })

        let (eu, euPage) = try list(api, "region=eu-west&sort=name&limit=3&offset=2")
        #expect(eu == 8)
        #expect(euPage.map { $0["cluster"] as! String } == ["store-08", "store-12", "store-16"])
        let (noRegion, _) = try list(api, "region=%22%22")
        #expect(noRegion == 7)

        // Numbers sort with missing values last in both directions.
        let (_, byCPU) = try list(api, "sort=cpu&order=desc&limit=1000")
        let cpus = byCPU.compactMap { $0["cpu_percent"] as? Double }
        #expect(cpus.count == 15)
        #expect(cpus == cpus.sorted(by: >))
        #expect(byCPU.prefix(15).allSatisfy { $0["cpu_percent"] is Double })
        #expect(byCPU.suffix(15).allSatisfy { $0["cpu_percent"] is NSNull })
        let (_, byCPUAsc) = try list(api, "sort=cpu&order=asc&limit=1000")
        #expect(byCPUAsc.compactMap { $0["cpu_percent"] as? Double } == cpus.reversed())
        #expect(byCPUAsc.last?["cpu_percent"] is NSNull)

        let (_, byLast) = try list(api, "sort=last_seen&order=asc&limit=1000")
        let seen = byLast.map { $0["last_seen"] as! Double }
        #expect(seen == seen.sorted())

        // Equal numbers (every cluster sent two series; those silent for two hours count none now)
        // fall back to name order, in both directions.
        let (_, bySeries) = try list(api, "sort=series&order=desc&limit=1000")
        let expected = everything.enumerated().sorted { a, b in
            let (x, y) = (a.element["series"] as! Int, b.element["series"] as! Int)
            return x != y ? x > y : a.offset < b.offset
        }.map { $0.element["cluster"] as! String }
        #expect(Set(everything.map { $0["series"] as! Int }).count == 2)
        #expect(bySeries.map { $0["cluster"] as! String } == expected)

        let (past, empty) = try list(api, "offset=100")
        #expect(past == 30 && empty.isEmpty)
    }

    @Test func badParametersAreRejectedByName() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let cases: [(String, String)] = [
            ("sort=color", "\"sort\""), ("order=up", "\"order\""), ("limit=0", "\"limit\""), ("limit=1001", "\"limit\""),
            ("limit=ten", "\"limit\""), ("offset=-1", "\"offset\""), ("health=sick", "\"health\""),
            ("health=catching up", "\"health\""),
        ]
        for (q, name) in cases {
            let r = api.clusters(Params(query: q), scope: [])
            #expect(r.status == 400, "\(q)")
            let j = try apiJSON(r)
            #expect(j["status"] as? String == "error")
            #expect(j["errorType"] as? String == "bad_data")
            #expect((j["error"] as? String ?? "").contains(name), "\(q): \(j)")
        }
        let msg = try apiJSON(api.clusters(Params(query: "sort=color"), scope: []))["error"] as? String
        #expect(msg?.contains("samples_per_second") == true)
    }

    @Test func gridCharactersMatchTheNameOrderedList() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let grid = try #require(try apiJSON(api.grid(scope: []))["data"] as? [String: Any])
        let regions = try #require(grid["regions"] as? [[String: Any]])
        #expect(regions.map { $0["region"] as! String } == ["", "ap-south", "eu-west", "us-east"])
        let code = ["healthy": "h", "degraded": "d", "catching_up": "c", "down": "D", "stale": "s"]
        var seen = 0
        for row in regions {
            let region = row["region"] as! String
            let chars = Array(row["health"] as! String)
            seen += chars.count
            let q = region.isEmpty ? "region=%22%22" : "region=\(region)"
            for (i, ch) in chars.enumerated() {
                let (_, one) = try list(api, "\(q)&sort=name&order=asc&offset=\(i)&limit=1")
                #expect(one.count == 1)
                #expect(code[one[0]["health"] as! String] == String(ch))
            }
        }
        #expect(seen == 30)
    }

    @Test func summaryCountsByHealthAndRegion() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let data = try #require(try apiJSON(api.summary(scope: []))["data"] as? [String: Any])
        #expect(data["total"] as? Int == 30)
        let by = try #require(data["by_health"] as? [String: Int])
        #expect(by.values.reduce(0, +) == 30)
        let (downCount, _) = try list(api, "health=down")
        #expect(by["down"] == downCount)
        let regions = try #require(data["regions"] as? [[String: Any]])
        #expect(regions.map { $0["region"] as! String } == ["", "ap-south", "eu-west", "us-east"])
        #expect(regions.map { $0["total"] as! Int } == [7, 7, 8, 8])
        for r in regions {
            #expect(r["total"] as! Int == ["healthy", "degraded", "catching_up", "down", "stale"].map { r[$0] as! Int }.reduce(0, +))
        }
        #expect(data["generated_at"] is Double)
    }

    @Test func scopeNarrowsEveryEndpoint() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let scope = Scope(try ScopeParser.parse(#"{region=~"eu-.*|us-east"}"#))
        let (n, page) = try list(api, "limit=1000", scope: scope)
        #expect(n == 16)
        #expect(page.allSatisfy { ["eu-west", "us-east"].contains($0["region"] as! String) })
        let summary = try #require(try apiJSON(api.summary(scope: scope))["data"] as? [String: Any])
        #expect(summary["total"] as? Int == 16)
        let grid = try #require(try apiJSON(api.grid(scope: scope))["data"] as? [String: Any])
        #expect((grid["regions"] as? [[String: Any]])?.map { $0["region"] as! String } == ["eu-west", "us-east"])
        #expect(api.cluster("store-00", scope: scope).status == 200)
        let hidden = api.cluster("store-02", scope: scope)
        #expect(hidden.status == 404)
        #expect(try apiJSON(hidden)["errorType"] as? String == "not_found")
        #expect(api.cluster("store-02", scope: []).status == 200)
        let byName = Scope(try ScopeParser.parse(#"{cluster="store-05"}"#))
        #expect(try list(api, "", scope: byName).0 == 1)
    }

    @Test func oneClusterHasTheDocumentedShape() async throws {
        let (_, reg) = try fleet()
        let api = FleetAPI(registry: reg)
        let c = try #require(try apiJSON(api.cluster("store-04", scope: []))["data"] as? [String: Any])
        #expect(c["cluster"] as? String == "store-04")
        #expect(c["region"] as? String == "eu-west")
        #expect(c["labels"] as? [String: String] == ["region": "eu-west"])
        for k in ["health", "first_seen", "last_seen", "samples_per_second", "series", "cpu_percent", "memory_percent",
                  "disk_percent", "pods", "targets_up", "targets_down", "alerts_firing"] {
            #expect(c[k] != nil, "\(k)")
        }
        #expect(c["memory_percent"] is NSNull)
        #expect(c["behind_seconds"] is NSNull && c["catch_up_rate"] is NSNull, "set only while catching up")
        #expect(c["targets_up"] as? Int == 2)
        #expect(api.cluster("nope", scope: []).status == 404)
    }
}

@Suite struct FleetConfigTests {
    func load(_ yaml: String) throws -> CollectorOptions {
        let path = NSTemporaryDirectory() + "fleet-config-\(UUID().uuidString).yml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var o = CollectorOptions()
        try o.apply(configFile: path)
        return o
    }

    @Test func fleetSectionSetsThresholds() async throws {
        let o = try load("fleet:\n  down_after: 30s\n  stale_after: 10m\n  refresh_interval: 5s\n")
        #expect(o.fleet.downAfterMs == 30_000)
        #expect(o.fleet.staleAfterMs == 600_000)
        #expect(o.fleet.refreshInterval == .seconds(5))
        let d = try load("storage:\n  retention: 1d\n")
        #expect(d.fleet.downAfterMs == 120_000 && d.fleet.staleAfterMs == 3_600_000)
    }

    @Test func badFleetConfigIsNamed() async throws {
        #expect { try load("fleet:\n  down_after: 2m\n  stale: 1h\n") } throws: { "\($0)".contains(":3: unknown key \"stale\" in fleet") }
        #expect { try load("fleet:\n  down_after: soon\n") } throws: { "\($0)".contains("fleet.down_after: invalid duration \"soon\"") }
        #expect { try load("fleet:\n  down_after: 2h\n  stale_after: 1h\n") } throws: { "\($0)".contains("must not be shorter") }
    }
}
