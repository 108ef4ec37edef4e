import DurableIO
import Glibc
import RemoteWrite
import Storage
import Synchronization
import Testing
@testable import EdgeScraper

@Suite struct SimulatorTests {
    func request(_ c: SimCluster, at t: Int64, intervalMs: Int64 = 15_000) throws -> WriteRequest? {
        var e = SimEncoder()
        guard c.samples(at: t, intervalMs: intervalMs, into: &e) else { return nil }
        let req = try WireDecoder.decode(e.body)
        #expect(req.sampleCount == e.samples)
        return req
    }

    static func key(_ ts: TimeSeries) -> String { ts.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }

    @Test func seriesAreWellFormedAndLabelledWithClusterAndRegion() throws {
        let c = SimCluster(index: 6, seed: 42, seriesTarget: 500, regions: ["r1", "r2", "r3"], failFraction: 0, token: nil)
        let req = try #require(try request(c, at: 1_000_005))
        #expect(c.name == "edge-00007")
        #expect(req.timeseries.count > 400 && req.timeseries.count < 600)
        var seen = Set<[Label]>()
        for ts in req.timeseries {
            #expect(ts.labels == ts.labels.sorted { $0.name < $1.name }, "labels must be sorted by name")
            #expect(Set(ts.labels.map(\.name)).count == ts.labels.count)
            #expect(ts.labels.first { $0.name == "cluster" }?.value == "edge-00007")
            #expect(ts.labels.first { $0.name == "region" }?.value == "r1")
            #expect(ts.samples.count == 1 && ts.samples[0].t == 1_000_005)
            #expect(seen.insert(ts.labels).inserted, "duplicate series \(ts.labels)")
        }
        let names = Set(req.timeseries.map { $0.labels[0].value })
        for n in ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
                  "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_network_receive_bytes_total",
                  "node_network_transmit_bytes_total", "node_load1", "kube_pod_status_phase",
                  "kube_pod_container_status_restarts_total", "container_cpu_usage_seconds_total",
                  "container_memory_working_set_bytes", "up"] {
            #expect(names.contains(n), "missing \(n)")
        }
    }

    @Test func sameSeedSameFleet() throws {
        let a = SimCluster(index: 3, seed: 7, seriesTarget: 300, regions: ["x"], failFraction: 0.5, token: nil)
        let b = SimCluster(index: 3, seed: 7, seriesTarget: 300, regions: ["x"], failFraction: 0.5, token: nil)
        let other = SimCluster(index: 3, seed: 8, seriesTarget: 300, regions: ["x"], failFraction: 0.5, token: nil)
        var differs = false
        for k in Int64(0)..<50 {
            var ea = SimEncoder(), eb = SimEncoder(), eo = SimEncoder()
            let t = 1_764_800_000_000 + k * 15_000
            let sa = a.samples(at: t, intervalMs: 15_000, into: &ea)
            let sb = b.samples(at: t, intervalMs: 15_000, into: &eb)
            _ = other.samples(at: t, intervalMs: 15_000, into: &eo)
            #expect(sa == sb)
            #expect(ea.body == eb.body)
            if ea.body != eo.body { differs = true }
        }
        #expect(differs)
    }

    /// The fix for issue 17: a second run (another process, another start time, a backfill
    /// over what the first run wrote) must write bit-identical samples for the same instants.
    @Test func samplesArePureFunctionsOfAbsoluteTimeWhateverTheStart() throws {
        let interval: Int64 = 15_000
        let base: Int64 = 1_764_800_000_000 // on the grid
        for index in [0, 5, 17] {
            let first = SimCluster(index: index, seed: 11, seriesTarget: 300, regions: ["r"], failFraction: 0.5, token: nil)
            // The "second run" starts 37 minutes later and also walks back over the first run's hour.
            let second = SimCluster(index: index, seed: 11, seriesTarget: 300, regions: ["r"], failFraction: 0.5, token: nil)
            var fromFirst: [Int64: [UInt8]] = [:]
            for k in Int64(0)..<240 {
                var e = SimEncoder()
                if first.samples(at: base + k * interval, intervalMs: interval, into: &e) { fromFirst[base + k * interval] = e.body }
            }
            var compared = 0
            for k in stride(from: Int64(388), through: 0, by: -1) {
                let t = base + k * interval - 148 * interval
                var e = SimEncoder()
                let sent = second.samples(at: t, intervalMs: interval, into: &e)
                guard k >= 148, k - 148 < 240 else { continue }
                #expect(sent == (fromFirst[t] != nil))
                if let body = fromFirst[t] { #expect(e.body == body, "cluster \(index) at \(t) differs"); compared += 1 }
            }
            #expect(compared > 150)
        }
    }

    @Test func countersGrowExceptAtRebootsAndRestarts() throws {
        let c = SimCluster(index: 0, seed: 1, seriesTarget: 400, regions: ["r"], failFraction: 0, token: nil)
        // Every node reboots once per window: walk a bit over one window in 5-minute steps.
        let step: Int64 = 300_000
        let start: Int64 = 1_764_800_000_000
        let steps = Int(SimCluster.rebootWindowMs / step) + 300
        let nodeByInstance = Dictionary(uniqueKeysWithValues: c.nodes.map { ($0.instance, $0) })
        var last: [String: (v: Double, t: Int64)] = [:]
        var decreases = 0, increases = 0, staleMarkers = 0
        var podsSeen = Set<String>()
        for k in 0..<steps {
            let t = start + Int64(k) * step
            guard let req = try request(c, at: t, intervalMs: step) else { continue }
            for ts in req.timeseries {
                let name = ts.labels[0].value
                let v = ts.samples[0].v
                if StaleNaN.isStale(v) { staleMarkers += 1; continue }
                if let pod = ts.labels.first(where: { $0.name == "pod" }) { podsSeen.insert(pod.value) }
                guard name.hasSuffix("_total") else { continue }
                let key = Self.key(ts)
                defer { last[key] = (v, t) }
                guard let prev = last[key] else { continue }
                if v > prev.v { increases += 1; continue }
                if v == prev.v { continue }
                decreases += 1
                if name.hasPrefix("node_") {
                    let instance = try #require(ts.labels.first { $0.name == "instance" }?.value)
                    let n = try #require(nodeByInstance[instance])
                    let bootNow = SimCluster.lastEvent(key: n.key, t: t, windowMs: SimCluster.rebootWindowMs)
                    #expect(bootNow > prev.t, "\(key) went down from \(prev.v) to \(v) without a reboot")
                    #expect(v <= Double(t - bootNow) / 1000 * 2e6, "a reboot starts counters from zero")
                } else {
                    #expect(name == "container_cpu_usage_seconds_total", "\(key) went down from \(prev.v) to \(v)")
                }
            }
        }
        #expect(decreases > 0, "nodes reboot once per window")
        #expect(increases > decreases * 100, "counters should mostly grow")
        #expect(staleMarkers > 0, "replaced pods end their series with stale markers")
        #expect(podsSeen.count > c.pods.count, "pods come and go")
    }

    @Test func flakyClustersGoSilentOrReportDown() throws {
        var silent = 0, down = 0
        for i in 0..<20 {
            let c = SimCluster(index: i, seed: 3, seriesTarget: 100, regions: ["r"], failFraction: 1, token: nil)
            for k in 0..<Int64(SimCluster.failPeriod) {
                guard let req = try request(c, at: (k + 1) * 1000, intervalMs: 1000) else { silent += 1; continue }
                if req.timeseries.contains(where: { $0.labels[0].value == "up" && $0.samples[0].v == 0 }) { down += 1 }
            }
        }
        // Every cluster fails for failLength of every failPeriod ticks, one way or the other.
        #expect(silent + down == 20 * SimCluster.failLength)
        #expect(silent > 0 && down > 0)
    }

    @Test func tokenFileFormats() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path + "/tokens"
        func write(_ s: String) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            try FS.writeAll(fd, Array(s.utf8), path: path)
            close(fd)
        }
        var o = SimulatorOptions()
        try write("# per cluster\nedge-00001 tok-a\nedge-00002\ttok-b\n\n")
        try o.loadTokens(file: path)
        #expect(o.tokens == ["edge-00001": "tok-a", "edge-00002": "tok-b"])
        #expect(o.defaultToken == nil)
        try write("only-one-token\n")
        try o.loadTokens(file: path)
        #expect(o.defaultToken == "only-one-token")
        try write("edge-00001 a b\n")
        #expect(throws: QueueError.self) { try o.loadTokens(file: path) }
    }

    func playFleet(backfillBeforeLive: Bool) async throws -> [String: [Int64]] {
        let rx = try await TestReceiver()
        defer { Task { await rx.stop() } }
        var o = SimulatorOptions()
        o.clusters = 4
        o.seriesPerCluster = 300
        o.remoteWrite = rx.url
        o.intervalMs = 200
        o.durationMs = 600
        o.backfillMs = 2_000
        o.failFraction = 0
        o.maxSamplesPerRequest = 2_000
        o.backfillBeforeLive = backfillBeforeLive
        o.tokens = ["edge-00001": "t1", "edge-00002": "t2", "edge-00003": "t3"]
        o.defaultToken = "shared"
        let sim = FleetSimulator(options: o, transport: NIOHTTPTransport())
        let summary = await sim.run()
        #expect(summary.failedRequests == 0)
        #expect(summary.samples == rx.acceptedSamples)
        #expect(summary.backfilledClusters == 4 && summary.liveClusters == 4)
        var perCluster: [String: [Int64]] = [:]
        for s in rx.seen {
            let req = try #require(s.request)
            #expect(req.sampleCount <= 2_000)
            let cluster = try #require(req.timeseries.first?.labels.first { $0.name == "cluster" }?.value)
            #expect(req.timeseries.allSatisfy { $0.labels.contains(Label("cluster", cluster)) })
            let auth = s.headers.first { $0.name.lowercased() == "authorization" }?.value
            #expect(auth == "Bearer " + (o.tokens[cluster] ?? "shared"))
            let upTimes = req.timeseries.filter { $0.labels[0].value == "up" && $0.labels.contains(Label("job", "kube-state-metrics")) }
                .flatMap { $0.samples.map(\.t) }
            perCluster[cluster, default: []] += upTimes
        }
        #expect(perCluster.count == 4)
        for (_, ts) in perCluster {
            // 10 backfilled intervals and 3 live ones, on the absolute grid, one interval apart.
            #expect(ts.count == 13)
            #expect(ts.allSatisfy { $0 % 200 == 0 })
            let sorted = ts.sorted()
            #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 == 200 })
        }
        return perCluster
    }

    @Test func playsAFleetLiveFirstWithHistoryBeside() async throws {
        _ = try await playFleet(backfillBeforeLive: false)
    }

    @Test func playsAFleetHistoryFirstInTimeOrder() async throws {
        let perCluster = try await playFleet(backfillBeforeLive: true)
        for (_, ts) in perCluster { #expect(ts == ts.sorted()) }
    }
}
