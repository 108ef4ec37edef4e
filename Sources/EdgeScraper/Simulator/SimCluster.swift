import Glibc
import Storage

/// One simulated edge cluster: a few nodes with node_exporter-like series, pods with
/// kube-state-metrics- and cAdvisor-like series. All randomness comes from the cluster's own
/// generator, so a seed reproduces the same fleet and the same values tick for tick.
struct SimCluster {
    struct Node {
        var name: String
        var instance: String
        var cpus: Int
        var cpu: [Double] // cpus × modes, seconds
        var busy: Double // 0...1, wanders
        var memTotal: Double
        var memAvail: Double
        var fsSize: [Double]
        var fsAvail: [Double]
        var rxRate: Double
        var rx: [Double]
        var tx: [Double]
        var load1: Double
    }

    struct Container {
        var name: String
        var cpu: Double
        var cpuRate: Double
        var mem: Double
        var memBase: Double
        var restarts: Double
    }

    struct Pod {
        var namespace: String
        var name: String
        var node: Int
        var phase: Int // index into phases
        var containers: [Container]
    }

    enum Failure { case none, silent, upZero }

    static let modes = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]
    static let modeShare: [Double] = [0, 0.01, 0.001, 0.002, 0.005, 0.001, 0.06, 0.2]
    static let phases = ["Failed", "Pending", "Running", "Succeeded", "Unknown"]
    static let mounts: [(device: String, fstype: String, mountpoint: String)] = [
        ("/dev/sda1", "ext4", "/"), ("/dev/sdb1", "xfs", "/var/lib/containerd"),
    ]
    static let netDevices = ["eth0", "lo"]
    static let apps = ["pos-api", "menu-sync", "camera-ingest", "inventory", "kiosk", "payments", "telemetry", "edge-gw", "printer-bridge", "scale-reader"]
    static let namespaces = ["store", "kube-system", "monitoring", "ops"]

    let name: String
    let region: String
    let token: String?
    var rng: SimRNG
    var nodes: [Node] = []
    var pods: [Pod] = []
    var podSerial = 0
    /// Fails for `failLength` ticks out of every `failPeriod`, starting at `failPhase`.
    let failure: Failure
    let failPhase: Int
    static let failPeriod = 40
    static let failLength = 8
    private var wasFailing = false

    init(index: Int, seed: UInt64, seriesTarget: Int, regions: [String], failFraction: Double, token: String?) {
        name = SimCluster.clusterName(index)
        region = regions[index % regions.count]
        self.token = token
        rng = SimRNG(seed: SimRNG.mix(seed, UInt64(index)))
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
            addNode(cpus: cpus)
            series += perNode
        }
        series += 1 // kube-state-metrics up
        while series < target {
            addPod(phase: 2)
            series += 5 + 3 * pods[pods.count - 1].containers.count
        }
    }

    static func clusterName(_ index: Int) -> String {
        let s = String(index + 1)
        return "edge-" + String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    private mutating func addNode(cpus: Int) {
        let i = nodes.count
        let total = Double([4, 8, 16, 32][rng.int(4)]) * 1_073_741_824
        let sizes = [Double(64 + rng.int(448)) * 1_073_741_824, Double(100 + rng.int(900)) * 1_073_741_824]
        let uptime = Double(3600 + rng.int(30 * 86_400))
        var cpu: [Double] = []
        for _ in 0..<cpus {
            for m in 0..<SimCluster.modes.count {
                cpu.append(uptime * (m == 0 ? 0.7 : SimCluster.modeShare[m]) * (0.5 + rng.unit()))
            }
        }
        let rxRate = 1e4 * pow(10, rng.unit() * 2)
        nodes.append(Node(
            name: "\(name)-node-\(i + 1)", instance: "10.\(rng.int(255)).\(rng.int(255)).\(i + 10):9100",
            cpus: cpus, cpu: cpu, busy: 0.1 + 0.4 * rng.unit(),
            memTotal: total, memAvail: total * (0.3 + 0.5 * rng.unit()),
            fsSize: sizes, fsAvail: sizes.map { $0 * (0.3 + 0.6 * rng.unit()) },
            rxRate: rxRate, rx: [uptime * rxRate, uptime * 1e3], tx: [uptime * rxRate * 0.3, uptime * 1e3],
            load1: Double(cpus) * 0.3))
    }

    private mutating func addPod(phase: Int) {
        podSerial += 1
        let app = SimCluster.apps[rng.int(SimCluster.apps.count)]
        let suffix = String(rng.next() & 0xFFFFF, radix: 36)
        var containers: [Container] = []
        let n = rng.chance(0.4) ? 2 : 1
        for c in 0..<n {
            let base = Double(32 + rng.int(480)) * 1_048_576
            containers.append(Container(name: c == 0 ? app : "sidecar", cpu: 0, cpuRate: 0.005 + 0.3 * rng.unit() * rng.unit(),
                                        mem: base, memBase: base, restarts: 0))
        }
        pods.append(Pod(namespace: SimCluster.namespaces[rng.int(SimCluster.namespaces.count)],
                        name: "\(app)-\(podSerial)-\(suffix)", node: rng.int(nodes.count), phase: phase, containers: containers))
    }

    func failureState(tick: Int) -> Failure {
        guard failure != .none else { return .none }
        let p = ((tick - failPhase) % SimCluster.failPeriod + SimCluster.failPeriod) % SimCluster.failPeriod
        return p < SimCluster.failLength ? failure : .none
    }

    /// Advances the model by one interval and writes this tick's samples at `t`.
    /// Returns false when the cluster is silent this tick (nothing to send).
    mutating func tick(_ tick: Int, t: Int64, intervalSeconds dt: Double, into e: inout SimEncoder) -> Bool {
        let state = failureState(tick: tick)
        advance(dt)
        if state == .silent { wasFailing = true; return false }
        let nodeDown = state == .upZero
        for n in nodes {
            emitUp(&e, t, job: "node", instance: n.instance, up: !nodeDown)
            emitUp(&e, t, job: "kubelet", instance: n.name, up: true)
            if nodeDown {
                // Prometheus writes stale markers once when a target stops answering.
                if !wasFailing { emitNode(&e, n, t, stale: true) }
            } else {
                emitNode(&e, n, t, stale: false)
            }
        }
        wasFailing = nodeDown
        emitUp(&e, t, job: "kube-state-metrics", instance: "kube-state-metrics:8080", up: true)
        var deleted: [Pod] = []
        var i = 0
        while i < pods.count {
            // Pods come and go: a replaced pod's series end with stale markers.
            if rng.chance(0.004) {
                deleted.append(pods.remove(at: i))
                addPod(phase: 1)
                continue
            }
            i += 1
        }
        for p in pods { emitPod(&e, p, t, stale: false) }
        for p in deleted { emitPod(&e, p, t, stale: true) }
        // New pods run from their second tick on.
        for j in pods.indices where pods[j].phase == 1 && !rng.chance(0.3) { pods[j].phase = 2 }
        return true
    }

    private mutating func advance(_ dt: Double) {
        for j in nodes.indices {
            var n = nodes[j]
            n.busy = min(0.95, max(0.02, n.busy + (rng.unit() - 0.5) * 0.05))
            if rng.chance(0.0002) {
                // Reboot: every counter starts over.
                for k in n.cpu.indices { n.cpu[k] = 0 }
                n.rx = [0, 0]
                n.tx = [0, 0]
            }
            let modes = SimCluster.modes.count
            for c in 0..<n.cpus {
                var used = 0.0
                for m in 1..<modes {
                    let share = SimCluster.modeShare[m] * (n.busy / 0.3) * (0.7 + 0.6 * rng.unit())
                    n.cpu[c * modes + m] += dt * share
                    used += share
                }
                n.cpu[c * modes] += dt * max(0, 1 - used)
            }
            n.memAvail = min(n.memTotal * 0.95, max(n.memTotal * 0.05, n.memAvail + n.memTotal * (rng.unit() - 0.5) * 0.02))
            for k in n.fsAvail.indices {
                n.fsAvail[k] -= n.fsSize[k] * 0.00002 * rng.unit() * dt
                if n.fsAvail[k] < n.fsSize[k] * 0.08 { n.fsAvail[k] = n.fsSize[k] * 0.6 } // log cleanup
            }
            n.rxRate = max(1e3, n.rxRate * (0.9 + 0.2 * rng.unit()))
            n.rx[0] += dt * n.rxRate
            n.tx[0] += dt * n.rxRate * (0.2 + 0.2 * rng.unit())
            n.rx[1] += dt * 1e3
            n.tx[1] += dt * 1e3
            n.load1 = max(0, n.load1 * 0.8 + 0.2 * Double(n.cpus) * n.busy * (0.5 + rng.unit()))
            nodes[j] = n
        }
        for p in pods.indices {
            for c in pods[p].containers.indices {
                var k = pods[p].containers[c]
                if rng.chance(0.0005) {
                    k.restarts += 1
                    k.cpu = 0
                    k.mem = k.memBase * 0.5
                }
                k.cpu += dt * k.cpuRate * (0.5 + rng.unit())
                k.mem = min(k.memBase * 3, max(k.memBase * 0.3, k.mem + k.memBase * (rng.unit() - 0.48) * 0.05))
                pods[p].containers[c] = k
            }
        }
    }

    private func v(_ x: Double, _ stale: Bool) -> Double { stale ? StaleNaN.value : x }

    private func emitUp(_ e: inout SimEncoder, _ t: Int64, job: String, instance: String, up: Bool) {
        e.begin()
        e.label("__name__", "up"); e.label("cluster", name); e.label("instance", instance); e.label("job", job)
        e.label("region", region)
        e.sample(t, up ? 1 : 0)
        e.end()
    }

    private func emitNode(_ e: inout SimEncoder, _ n: Node, _ t: Int64, stale: Bool) {
        let modes = SimCluster.modes.count
        for c in 0..<n.cpus {
            let cpu = String(c)
            for m in 0..<modes {
                e.begin()
                e.label("__name__", "node_cpu_seconds_total"); e.label("cluster", name); e.label("cpu", cpu)
                e.label("instance", n.instance); e.label("job", "node"); e.label("mode", SimCluster.modes[m])
                e.label("region", region)
                e.sample(t, v(n.cpu[c * modes + m], stale))
                e.end()
            }
        }
        simple(&e, "node_memory_MemAvailable_bytes", n, t, v(n.memAvail, stale))
        simple(&e, "node_memory_MemTotal_bytes", n, t, v(n.memTotal, stale))
        simple(&e, "node_load1", n, t, v(n.load1, stale))
        for (k, m) in SimCluster.mounts.enumerated() {
            for (metric, value) in [("node_filesystem_avail_bytes", n.fsAvail[k]), ("node_filesystem_size_bytes", n.fsSize[k])] {
                e.begin()
                e.label("__name__", metric)
                e.label("cluster", name); e.label("device", m.device); e.label("fstype", m.fstype)
                e.label("instance", n.instance); e.label("job", "node"); e.label("mountpoint", m.mountpoint)
                e.label("region", region)
                e.sample(t, v(value.rounded(), stale))
                e.end()
            }
        }
        for (k, dev) in SimCluster.netDevices.enumerated() {
            for rx in [true, false] {
                e.begin()
                e.label("__name__", rx ? "node_network_receive_bytes_total" : "node_network_transmit_bytes_total")
                e.label("cluster", name); e.label("device", dev); e.label("instance", n.instance); e.label("job", "node")
                e.label("region", region)
                e.sample(t, v((rx ? n.rx[k] : n.tx[k]).rounded(), stale))
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
        let ksm = "kube-state-metrics:8080"
        for (i, phase) in SimCluster.phases.enumerated() {
            e.begin()
            e.label("__name__", "kube_pod_status_phase"); e.label("cluster", name); e.label("instance", ksm)
            e.label("job", "kube-state-metrics"); e.label("namespace", p.namespace); e.label("phase", phase)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(i == p.phase ? 1 : 0, stale))
            e.end()
        }
        let node = nodes[min(p.node, nodes.count - 1)].name
        for c in p.containers {
            e.begin()
            e.label("__name__", "container_cpu_usage_seconds_total"); e.label("cluster", name); e.label("container", c.name)
            e.label("instance", node); e.label("job", "kubelet"); e.label("namespace", p.namespace); e.label("node", node)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(c.cpu, stale))
            e.end()
            e.begin()
            e.label("__name__", "container_memory_working_set_bytes"); e.label("cluster", name); e.label("container", c.name)
            e.label("instance", node); e.label("job", "kubelet"); e.label("namespace", p.namespace); e.label("node", node)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(c.mem.rounded(), stale))
            e.end()
            e.begin()
            e.label("__name__", "kube_pod_container_status_restarts_total"); e.label("cluster", name); e.label("container", c.name)
            e.label("instance", ksm); e.label("job", "kube-state-metrics"); e.label("namespace", p.namespace)
            e.label("pod", p.name); e.label("region", region)
            e.sample(t, v(c.restarts, stale))
            e.end()
        }
    }
}

