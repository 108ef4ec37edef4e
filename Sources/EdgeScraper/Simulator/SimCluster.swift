import Glibc
import Storage

/// One simulated edge cluster: a few nodes with node_exporter-like series, pods with
/// kube-state-metrics- and cAdvisor-like series.
///
/// Every sample is a pure function of (seed, cluster, series, absolute time): the cluster's
/// shape (nodes, pod slots, rates) comes from its own seeded generator, and every value at `t`
/// is computed in closed form from that shape and `t` alone — no state is carried from tick
/// to tick. So two runs, a backfill over an hour an earlier run already wrote, or a restart
/// in the middle all write bit-identical samples, which the collector stores once.
/// Counters are integrals of deterministic rates since the last reboot (or container
/// restart), and those happen at hash-chosen instants: they never go down otherwise.
struct SimCluster: Sendable {
    /// A sinusoid over absolute time: amplitude, period and phase in whole milliseconds, so
    /// the angle is computed exactly (`t mod period`) however large `t` is.
    struct Wave: Sendable {
        var amplitude: Double
        var periodMs: Int64
        var phaseMs: Int64

        @inline(__always) func angle(_ t: Int64) -> Double {
            let p = SimCluster.floorMod(t &+ phaseMs, periodMs)
            return 2 * Double.pi * Double(p) / Double(periodMs)
        }

        @inline(__always) func value(_ t: Int64) -> Double { amplitude * sin(angle(t)) }

        /// ∫ value dt over [from, to], in value·seconds.
        @inline(__always) func integral(_ from: Int64, _ to: Int64) -> Double {
            amplitude * Double(periodMs) / (2 * Double.pi * 1000) * (cos(angle(from)) - cos(angle(to)))
        }
    }

    struct Node: Sendable {
        var name: String
        var instance: String
        var cpus: Int
        var cpuLabels: [String]
        /// Hash key for this node's reboots and noise.
        var key: UInt64
        /// busy(t) = busyBase + slow(t) + fast(t), always within 0.02...0.95.
        var busyBase: Double
        var busySlow: Wave
        var busyFast: Wave
        /// Per (cpu, mode ≥ 1): the mode's share of busy time, so idle = 1 − busy·Σ shares > 0.
        var modeRate: [Double]
        /// Per cpu: Σ over non-idle modes of `modeRate`.
        var usedRate: [Double]
        var memTotal: Double
        var memAvailBase: Double
        var memWave: Wave
        var fsSize: [Double]
        /// Filesystems fill up and are cleaned: a sawtooth of this period.
        var fsPeriodMs: [Int64]
        var fsPhaseMs: [Int64]
        var rxRate: Double
        var rxWave: Wave
        var txShare: Double
    }

    struct ContainerSlot: Sendable {
        var name: String
        var key: UInt64
        var cpuRate: Double
        var cpuWave: Wave
        var memBase: Double
        var memWave: Wave
    }

    /// A pod slot: one pod at a time, replaced by a new one (new name) every `lifetimeMs`.
    struct PodSlot: Sendable {
        var namespace: String
        var app: String
        var serial: Int
        var key: UInt64
        var node: Int
        var lifetimeMs: Int64
        var phaseMs: Int64
        var containers: [ContainerSlot]
    }

    /// The pod a slot holds at some instant.
    struct Pod {
        var slot: Int
        var generation: Int64
        var name: String
        var startMs: Int64
        var phase: Int // index into phases
    }

    enum Failure: Sendable { case none, silent, upZero }

    static let modes = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]
    static let modeShare: [Double] = [0, 0.01, 0.001, 0.002, 0.005, 0.001, 0.06, 0.2]
    static let phases = ["Failed", "Pending", "Running", "Succeeded", "Unknown"]
    static let mounts: [(device: String, fstype: String, mountpoint: String)] = [
        ("/dev/sda1", "ext4", "/"), ("/dev/sdb1", "xfs", "/var/lib/containerd"),
    ]
    static let netDevices = ["eth0", "lo"]
    static let apps = ["pos-api", "menu-sync", "camera-ingest", "inventory", "kiosk", "payments", "telemetry", "edge-gw", "printer-bridge", "scale-reader"]
    static let namespaces = ["store", "kube-system", "monitoring", "ops"]
    /// Each node reboots once in every window of this length, at a hash-chosen instant.
    static let rebootWindowMs: Int64 = 3 * 86_400_000
    /// Each container restarts once in every window of this length.
    static let restartWindowMs: Int64 = 12 * 3_600_000
    /// Fails for `failLength` ticks out of every `failPeriod` (absolute tick numbers), from `failPhase`.
    static let failPeriod = 40
    static let failLength = 8

    let name: String
    let region: String
    let token: String?
    let key: UInt64
    private(set) var nodes: [Node] = []
    private(set) var pods: [PodSlot] = []
    let failure: Failure
    let failPhase: Int

    init(index: Int, seed: UInt64, seriesTarget: Int, regions: [String], failFraction: Double, token: String?) {
        name = SimCluster.clusterName(index)
        region = regions[index % regions.count]
        self.token = token
        key = SimRNG.mix(seed, UInt64(index))
        var rng = SimRNG(seed: key)
        if rng.chance(failFraction) {
            failure = rng.chance(0.5) ? .silent : .upZero
        } else {
            failure = .none
        }
        failPhase = rng.int(SimCluster.failPeriod)
        let target = max(seriesTarget, 20)
        var nodeCount = 1 + rng.int(3)
        var series = 0
        while nodes.count < nodeCount {
            let cpus = [2, 4, 4, 8][rng.int(4)]
            let perNode = 8 * cpus + 14
            if series + perNode > target * 2 / 3 && !nodes.isEmpty { nodeCount = nodes.count; break }
            addNode(cpus: cpus, &rng)
            series += perNode
        }
        series += 1 // kube-state-metrics up
        while series < target {
            addPod(&rng)
            series += 5 + 3 * pods[pods.count - 1].containers.count
        }
    }

    static func clusterName(_ index: Int) -> String {
        let s = String(index + 1)
        return "edge-" + String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    private static func wave(_ rng: inout SimRNG, amplitude: Double, minMs: Int64, maxMs: Int64) -> Wave {
        let period = minMs + Int64(rng.int(Int(maxMs - minMs)))
        return Wave(amplitude: amplitude, periodMs: period, phaseMs: Int64(rng.int(Int(period))))
    }

    private mutating func addNode(cpus: Int, _ rng: inout SimRNG) {
        let i = nodes.count
        let total = Double([4, 8, 16, 32][rng.int(4)]) * 1_073_741_824
        let sizes = [Double(64 + rng.int(448)) * 1_073_741_824, Double(100 + rng.int(900)) * 1_073_741_824]
        let busy = 0.1 + 0.4 * rng.unit()
        let room = min(busy - 0.02, 0.95 - busy)
        let slowAmplitude = room * 0.6 * rng.unit()
        let slow = Self.wave(&rng, amplitude: slowAmplitude, minMs: 1_200_000, maxMs: 10_800_000)
        let fastAmplitude = room * 0.4 * rng.unit()
        let fast = Self.wave(&rng, amplitude: fastAmplitude, minMs: 120_000, maxMs: 900_000)
        let modes = SimCluster.modes.count
        var modeRate: [Double] = []
        var usedRate: [Double] = []
        for _ in 0..<cpus {
            var used = 0.0
            for m in 0..<modes {
                // Shares are scaled so Σ ≤ 0.93: with busy ≤ 0.95 idle always grows.
                let r = m == 0 ? 0 : SimCluster.modeShare[m] / 0.3 * (0.7 + 0.3 * rng.unit())
                modeRate.append(r)
                used += r
            }
            usedRate.append(used)
        }
        let memAmplitude = 0.05 + 0.1 * rng.unit()
        let mem = Self.wave(&rng, amplitude: memAmplitude, minMs: 1_800_000, maxMs: 14_400_000)
        let memBase = 0.35 + 0.4 * rng.unit()
        var fsPeriod: [Int64] = [], fsPhase: [Int64] = []
        for _ in sizes {
            let p = Int64(1 + rng.int(9)) * 86_400_000 + Int64(rng.int(86_400_000))
            fsPeriod.append(p)
            fsPhase.append(Int64(rng.int(Int(p))))
        }
        let rxRate = 1e4 * pow(10, rng.unit() * 2)
        let rxWave = Self.wave(&rng, amplitude: 0.5, minMs: 300_000, maxMs: 3_600_000)
        let nodeName = "\(name)-node-\(i + 1)"
        nodes.append(Node(
            name: nodeName, instance: "10.\(rng.int(255)).\(rng.int(255)).\(i + 10):9100",
            cpus: cpus, cpuLabels: (0..<cpus).map { String($0) }, key: SimRNG.mix(key, UInt64(i + 1)),
            busyBase: busy, busySlow: slow, busyFast: fast, modeRate: modeRate, usedRate: usedRate,
            memTotal: total, memAvailBase: memBase, memWave: mem,
            fsSize: sizes, fsPeriodMs: fsPeriod, fsPhaseMs: fsPhase,
            rxRate: rxRate, rxWave: rxWave, txShare: 0.2 + 0.2 * rng.unit()))
    }

    private mutating func addPod(_ rng: inout SimRNG) {
        let serial = pods.count + 1
        let app = SimCluster.apps[rng.int(SimCluster.apps.count)]
        var containers: [ContainerSlot] = []
        let n = rng.chance(0.4) ? 2 : 1
        for c in 0..<n {
            let base = Double(32 + rng.int(480)) * 1_048_576
            containers.append(ContainerSlot(
                name: c == 0 ? app : "sidecar", key: SimRNG.mix(key, UInt64(serial * 16 + c) + 1_000_000),
                cpuRate: 0.005 + 0.3 * rng.unit() * rng.unit(),
                cpuWave: Self.wave(&rng, amplitude: 0.5, minMs: 120_000, maxMs: 1_800_000),
                memBase: base, memWave: Self.wave(&rng, amplitude: 0.3, minMs: 600_000, maxMs: 7_200_000)))
        }
        // Pods live about an hour on average, as before (a replacement chance of 0.4 % per 15 s tick).
        let life = Int64(1_800_000 + rng.int(5_400_000))
        pods.append(PodSlot(namespace: SimCluster.namespaces[rng.int(SimCluster.namespaces.count)], app: app, serial: serial,
                            key: SimRNG.mix(key, UInt64(serial) + 2_000_000), node: rng.int(nodes.count),
                            lifetimeMs: life, phaseMs: Int64(rng.int(Int(life))), containers: containers))
    }

    // MARK: closed forms

    @inline(__always) static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    @inline(__always) static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

    /// Index of the window holding the last event at or before `t`, when every window of
    /// `windowMs` holds exactly one event at an instant chosen by hashing (key, window).
    @inline(__always) static func lastEventWindow(key: UInt64, t: Int64, windowMs: Int64) -> Int64 {
        let k = floorDiv(t, windowMs)
        return eventTime(key: key, window: k, windowMs: windowMs) <= t ? k : k - 1
    }

    @inline(__always) static func eventTime(key: UInt64, window k: Int64, windowMs: Int64) -> Int64 {
        k * windowMs + Int64(SimRNG.mix(key, UInt64(bitPattern: k)) % UInt64(windowMs))
    }

    /// The last event at or before `t` (a reboot, a restart).
    @inline(__always) static func lastEvent(key: UInt64, t: Int64, windowMs: Int64) -> Int64 {
        eventTime(key: key, window: lastEventWindow(key: key, t: t, windowMs: windowMs), windowMs: windowMs)
    }

    /// Deterministic noise in [0, 1) for (key, t).
    @inline(__always) static func noise(_ key: UInt64, _ t: Int64) -> Double {
        Double(SimRNG.mix(key, UInt64(bitPattern: t)) >> 11) * 0x1p-53
    }

    func failureState(tick: Int64) -> Failure {
        guard failure != .none else { return .none }
        let p = SimCluster.floorMod(tick - Int64(failPhase), Int64(SimCluster.failPeriod))
        return p < Int64(SimCluster.failLength) ? failure : .none
    }

    /// The pod in `slot` at `t`.
    func pod(_ slot: Int, at t: Int64) -> Pod {
        let s = pods[slot]
        let gen = SimCluster.floorDiv(t &+ s.phaseMs, s.lifetimeMs)
        let start = gen * s.lifetimeMs - s.phaseMs
        let h = SimRNG.mix(s.key, UInt64(bitPattern: gen))
        let suffix = String(h & 0xFFFFF, radix: 36)
        // A new pod is Pending for its first 0–45 s.
        let pending = Int64(h >> 60 & 3) * 15_000
        return Pod(slot: slot, generation: gen, name: "\(s.app)-\(s.serial)-\(suffix)", startMs: start,
                   phase: t - start < pending ? 1 : 2)
    }

    /// Writes this cluster's samples at `t` (a multiple of `intervalMs` in normal use).
    /// Returns false when the cluster is silent then (nothing to send). `intervalMs` only
    /// places the stale markers: at the first tick of a failure and of a pod's replacement.
    func samples(at t: Int64, intervalMs: Int64, into e: inout SimEncoder) -> Bool {
        let tick = SimCluster.floorDiv(t, intervalMs)
        let state = failureState(tick: tick)
        if state == .silent { return false }
        let nodeDown = state == .upZero
        // Prometheus writes stale markers once, when a target stops answering.
        let firstDownTick = nodeDown && failureState(tick: tick - 1) == .none
        for n in nodes {
            emitUp(&e, t, job: "node", instance: n.instance, up: !nodeDown)
            emitUp(&e, t, job: "kubelet", instance: n.name, up: true)
            if !nodeDown {
                emitNode(&e, n, t, stale: false)
            } else if firstDownTick {
                emitNode(&e, n, t, stale: true)
            }
        }
        emitUp(&e, t, job: "kube-state-metrics", instance: "kube-state-metrics:8080", up: true)
        for s in pods.indices {
            let p = pod(s, at: t)
            emitPod(&e, p, t, stale: false)
            // A replaced pod's series end with stale markers at its successor's first tick.
            if p.startMs > t - intervalMs {
                emitPod(&e, pod(s, at: p.startMs - 1), t, stale: true)
            }
        }
        return true
    }

    // MARK: emit

    private func v(_ x: Double, _ stale: Bool) -> Double { stale ? StaleNaN.value : x }

    private func emitUp(_ e: inout SimEncoder, _ t: Int64, job: String, instance: String, up: Bool) {
        e.begin()
        e.label("__name__", "up"); e.label("cluster", name); e.label("instance", instance); e.label("job", job)
        e.label("region", region)
        e.sample(t, up ? 1 : 0)
        e.end()
    }

    private func emitNode(_ e: inout SimEncoder, _ n: Node, _ t: Int64, stale: Bool) {
        let boot = SimCluster.lastEvent(key: n.key, t: t, windowMs: SimCluster.rebootWindowMs)
        let upSeconds = Double(t - boot) / 1000
        // ∫ busy over [boot, t], in seconds.
        let busySeconds = n.busyBase * upSeconds + n.busySlow.integral(boot, t) + n.busyFast.integral(boot, t)
        let busyNow = n.busyBase + n.busySlow.value(t) + n.busyFast.value(t)
        let modes = SimCluster.modes.count
        for c in 0..<n.cpus {
            let cpu = n.cpuLabels[c]
            for m in 0..<modes {
                let seconds = m == 0 ? upSeconds - busySeconds * n.usedRate[c] : busySeconds * n.modeRate[c * modes + m]
                e.begin()
                e.label("__name__", "node_cpu_seconds_total"); e.label("cluster", name); e.label("cpu", cpu)
                e.label("instance", n.instance); e.label("job", "node"); e.label("mode", SimCluster.modes[m])
                e.label("region", region)
                e.sample(t, v(seconds, stale))
                e.end()
            }
        }
        let memShare = min(0.95, max(0.05, n.memAvailBase + n.memWave.value(t) + 0.02 * (SimCluster.noise(n.key, t) - 0.5)))
        simple(&e, "node_memory_MemAvailable_bytes", n, t, v((n.memTotal * memShare).rounded(), stale))
        simple(&e, "node_memory_MemTotal_bytes", n, t, v(n.memTotal, stale))
        let load = Double(n.cpus) * busyNow * (0.7 + 0.6 * SimCluster.noise(n.key &+ 1, t))
        simple(&e, "node_load1", n, t, v((load * 100).rounded() / 100, stale))
        for (k, m) in SimCluster.mounts.enumerated() {
            // Fills from 60 % free down to 8 %, then a log cleanup frees it again.
            let fill = Double(SimCluster.floorMod(t &+ n.fsPhaseMs[k], n.fsPeriodMs[k])) / Double(n.fsPeriodMs[k])
            let avail = n.fsSize[k] * (0.6 - 0.52 * fill)
            for (metric, value) in [("node_filesystem_avail_bytes", avail), ("node_filesystem_size_bytes", n.fsSize[k])] {
                e.begin()
                e.label("__name__", metric)
                e.label("cluster", name); e.label("device", m.device); e.label("fstype", m.fstype)
                e.label("instance", n.instance); e.label("job", "node"); e.label("mountpoint", m.mountpoint)
                e.label("region", region)
                e.sample(t, v(value.rounded(), stale))
                e.end()
            }
        }
        let rxBytes = n.rxRate * (upSeconds + n.rxWave.integral(boot, t))
        let loBytes = 1e3 * upSeconds
        for (k, dev) in SimCluster.netDevices.enumerated() {
            for rx in [true, false] {
                let bytes = k == 0 ? (rx ? rxBytes : rxBytes * n.txShare) : loBytes
                e.begin()
                e.label("__name__", rx ? "node_network_receive_bytes_total" : "node_network_transmit_bytes_total")
                e.label("cluster", name); e.label("device", dev); e.label("instance", n.instance); e.label("job", "node")
                e.label("region", region)
                e.sample(t, v(bytes.rounded(), stale))
                e.end()
            }
        }
    }

    private func simple(_ e: inout SimEncoder, _ metric: StaticString, _ n: Node, _ t: Int64, _ value: Double) {
        e.begin()
        e.label("__name__", String(describing: metric)); e.label("cluster", name); e.label("instance", n.instance)
        e.label("job", "node"); e.label("region", region)
        e.sample(t, value)
        e.end()
    }

    private func emitPod(_ e: inout SimEncoder, _ p: Pod, _ t: Int64, stale: Bool) {
        let slot = pods[p.slot]
        let ksm = "kube-state-metrics:8080"
        for (i, phase) in SimCluster.phases.enumerated() {
            e.begin()
            e.label("__name__", "kube_pod_status_phase"); e.label("cluster", name); e.label("instance", ksm)
            e.label("job", "kube-state-metrics"); e.label("namespace", slot.namespace); e.label("phase", phase)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(i == p.phase ? 1 : 0, stale))
            e.end()
        }
        let node = nodes[min(slot.node, nodes.count - 1)].name
        for c in slot.containers {
            // Restarts: one per window at a hash-chosen instant; the count since the pod started.
            let lastRestartWindow = SimCluster.lastEventWindow(key: c.key, t: t, windowMs: SimCluster.restartWindowMs)
            let beforeStart = SimCluster.lastEventWindow(key: c.key, t: p.startMs, windowMs: SimCluster.restartWindowMs)
            let restarts = Double(max(0, lastRestartWindow - beforeStart))
            let lastRestart = SimCluster.eventTime(key: c.key, window: lastRestartWindow, windowMs: SimCluster.restartWindowMs)
            let since = max(p.startMs, lastRestart)
            let cpu = c.cpuRate * (Double(t - since) / 1000 + c.cpuWave.integral(since, t))
            let mem = (c.memBase * (1 + c.memWave.value(t) + 0.05 * (SimCluster.noise(c.key, t) - 0.5))).rounded()
            e.begin()
            e.label("__name__", "container_cpu_usage_seconds_total"); e.label("cluster", name); e.label("container", c.name)
            e.label("instance", node); e.label("job", "kubelet"); e.label("namespace", slot.namespace); e.label("node", node)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(cpu, stale))
            e.end()
            e.begin()
            e.label("__name__", "container_memory_working_set_bytes"); e.label("cluster", name); e.label("container", c.name)
            e.label("instance", node); e.label("job", "kubelet"); e.label("namespace", slot.namespace); e.label("node", node)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(mem, stale))
            e.end()
            e.begin()
            e.label("__name__", "kube_pod_container_status_restarts_total"); e.label("cluster", name); e.label("container", c.name)
            e.label("instance", ksm); e.label("job", "kube-state-metrics"); e.label("namespace", slot.namespace)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(restarts, stale))
            e.end()
        }
    }
}
