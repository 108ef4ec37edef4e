import Foundation
import RemoteWrite
import Storage

/// splitmix64: the same seed gives the same fleet on every run and every system.
struct Rng {
    var s: UInt64
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// How a series' value moves from one scrape to the next. Values are rounded the way the real
/// exporters round them (CPU seconds to 1/100 s, bytes and counts to integers, load to 1/100),
/// because that is what decides how well each TSDB compresses.
enum Kind {
    case counter(perSec: Double, quantum: Double)
    case gauge(base: Double, spread: Double, quantum: Double)
    case constant(Double)
    case bucket(handler: Int, share: Double)
    case histSum(handler: Int)
    case histCount(handler: Int)
}

struct SeriesDef {
    var labels: [Label]
    var kind: Kind
}

/// One edge cluster: a node_exporter-like node (~59 series), cAdvisor-like containers (64) and an
/// application histogram (28 = 2 handlers × (12 buckets + sum + count)). 151 series per cluster.
func clusterSeries(cluster c: Int, regions: [String]) -> [SeriesDef] {
    let cluster = String(format: "edge-%05d", c)
    let region = regions[c % regions.count]
    let ip = "10.\(c / 65536 % 256).\(c / 256 % 256).\(c % 256)"
    var out: [SeriesDef] = []
    func add(_ name: String, _ job: String, _ instance: String, _ extra: [(String, String)], _ kind: Kind) {
        var ls = [Label("__name__", name), Label("cluster", cluster), Label("region", region),
                  Label("job", job), Label("instance", instance)]
        for (k, v) in extra { ls.append(Label(k, v)) }
        ls.sort()
        out.append(SeriesDef(labels: ls, kind: kind))
    }
    let node = ip + ":9100"
    let modes: [(String, Double)] = [("idle", 0.80), ("user", 0.10), ("system", 0.05), ("iowait", 0.02),
                                     ("irq", 0.002), ("softirq", 0.01), ("steal", 0.0), ("nice", 0.001)]
    for cpu in 0..<2 { for (m, share) in modes {
        add("node_cpu_seconds_total", "node", node, [("cpu", "\(cpu)"), ("mode", m)], .counter(perSec: share, quantum: 0.01))
    } }
    let mem = 8.0 * 1024 * 1024 * 1024
    add("node_memory_MemTotal_bytes", "node", node, [], .constant(mem))
    for (n, share) in [("MemFree", 0.2), ("MemAvailable", 0.5), ("Buffers", 0.02), ("Cached", 0.3), ("Active", 0.35),
                       ("Inactive", 0.2), ("Dirty", 0.0005)] {
        add("node_memory_\(n)_bytes", "node", node, [], .gauge(base: mem * share, spread: mem * share * 0.05, quantum: 4096))
    }
    add("node_memory_SwapTotal_bytes", "node", node, [], .constant(0))
    add("node_memory_SwapFree_bytes", "node", node, [], .constant(0))
    for n in ["node_load1", "node_load5", "node_load15"] {
        add(n, "node", node, [], .gauge(base: 0.8, spread: 0.5, quantum: 0.01))
    }
    for (dev, mp, size) in [("/dev/sda1", "/", 100e9), ("/dev/sda2", "/var", 400e9), ("tmpfs", "/run", 1.6e9)] {
        let l = [("device", dev), ("fstype", dev == "tmpfs" ? "tmpfs" : "ext4"), ("mountpoint", mp)]
        add("node_filesystem_size_bytes", "node", node, l, .constant(size))
        add("node_filesystem_free_bytes", "node", node, l, .gauge(base: size * 0.4, spread: size * 0.001, quantum: 4096))
        add("node_filesystem_avail_bytes", "node", node, l, .gauge(base: size * 0.35, spread: size * 0.001, quantum: 4096))
        add("node_filesystem_files_free", "node", node, l, .gauge(base: 6e6, spread: 1e3, quantum: 1))
    }
    for dev in ["eth0", "lo"] {
        add("node_network_receive_bytes_total", "node", node, [("device", dev)], .counter(perSec: 60_000, quantum: 1))
        add("node_network_transmit_bytes_total", "node", node, [("device", dev)], .counter(perSec: 25_000, quantum: 1))
        add("node_network_receive_packets_total", "node", node, [("device", dev)], .counter(perSec: 80, quantum: 1))
        add("node_network_transmit_packets_total", "node", node, [("device", dev)], .counter(perSec: 50, quantum: 1))
    }
    for dev in ["sda", "sdb"] {
        add("node_disk_reads_completed_total", "node", node, [("device", dev)], .counter(perSec: 5, quantum: 1))
        add("node_disk_writes_completed_total", "node", node, [("device", dev)], .counter(perSec: 20, quantum: 1))
        add("node_disk_read_bytes_total", "node", node, [("device", dev)], .counter(perSec: 40_000, quantum: 512))
        add("node_disk_written_bytes_total", "node", node, [("device", dev)], .counter(perSec: 150_000, quantum: 512))
    }
    add("node_boot_time_seconds", "node", node, [], .constant(1_764_000_000 + Double(c)))
    add("up", "node", node, [], .constant(1))

    let kubelet = ip + ":10250"
    let pods: [(String, String, String)] = [
        ("kube-system", "coredns-5d78c9869d-\(c % 97)x", "coredns"), ("kube-system", "kube-proxy-\(c % 89)q", "kube-proxy"),
        ("pos", "pos-api-7f9c-\(c % 83)a", "api"), ("pos", "pos-worker-6b8d-\(c % 79)b", "worker"),
        ("monitoring", "edge-scraper-\(c % 73)z", "edge-scraper"), ("inventory", "inventory-\(c % 71)k", "inventory"),
        ("payments", "payments-\(c % 67)m", "payments"), ("ingress", "ingress-nginx-\(c % 61)c", "controller"),
    ]
    for (ns, pod, container) in pods {
        let l = [("namespace", ns), ("pod", pod), ("container", container)]
        add("container_cpu_usage_seconds_total", "kubelet", kubelet, l, .counter(perSec: 0.05, quantum: 0.000001))
        add("container_memory_working_set_bytes", "kubelet", kubelet, l, .gauge(base: 200e6, spread: 5e6, quantum: 4096))
        add("container_memory_rss", "kubelet", kubelet, l, .gauge(base: 150e6, spread: 3e6, quantum: 4096))
        add("container_network_receive_bytes_total", "kubelet", kubelet, l, .counter(perSec: 5_000, quantum: 1))
        add("container_network_transmit_bytes_total", "kubelet", kubelet, l, .counter(perSec: 3_000, quantum: 1))
        add("container_fs_reads_bytes_total", "kubelet", kubelet, l, .counter(perSec: 1_000, quantum: 4096))
        add("container_fs_writes_bytes_total", "kubelet", kubelet, l, .counter(perSec: 8_000, quantum: 4096))
        add("container_spec_memory_limit_bytes", "kubelet", kubelet, l, .constant(512 * 1024 * 1024))
    }

    let app = ip + ":8080"
    let les = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
    let shares = [0.02, 0.08, 0.25, 0.5, 0.7, 0.85, 0.93, 0.97, 0.99, 0.995, 0.999, 1.0]
    for (h, handler) in ["/api/orders", "/api/health"].enumerated() {
        for (le, share) in zip(les, shares) {
            add("http_request_duration_seconds_bucket", "app", app, [("handler", handler), ("le", le)], .bucket(handler: h, share: share))
        }
        add("http_request_duration_seconds_sum", "app", app, [("handler", handler)], .histSum(handler: h))
        add("http_request_duration_seconds_count", "app", app, [("handler", handler)], .histCount(handler: h))
    }
    return out
}

/// The values of every series of one cluster, advanced one scrape at a time.
struct ClusterState {
    var rng: Rng
    var values: [Double]
    var requests: [Double] = [0, 0]      // per handler: observations this scrape
    var hsum: [Double] = [0, 0]
    var hcount: [Double] = [0, 0]

    init(seed: UInt64, defs: [SeriesDef]) {
        rng = Rng(s: seed)
        values = defs.map { d in
            switch d.kind {
            case .constant(let v): return v
            case .gauge(let base, _, let q): return (base / q).rounded() * q
            default: return 0
            }
        }
        var r = rng
        for i in defs.indices {    // counters start somewhere, not at zero
            if case .counter(let perSec, let q) = defs[i].kind { values[i] = ((perSec * 86_400 * (1 + r.unit())) / q).rounded() * q }
        }
        rng = r
    }

    mutating func step(defs: [SeriesDef], intervalSec: Double) {
        for h in 0..<2 { requests[h] = Double(20 + rng.next() % 200) * (h == 0 ? 1 : 0.2) }
        for i in defs.indices {
            switch defs[i].kind {
            case .constant: break
            case .counter(let perSec, let q):
                let inc = perSec * intervalSec * (0.5 + rng.unit())
                values[i] += (inc / q).rounded() * q
                // Keep decimal counters decimal: rounding error would otherwise creep in.
                if q < 1 { values[i] = (values[i] / q).rounded() * q }
            case .gauge(let base, let spread, let q):
                var v = values[i] + (rng.unit() - 0.5) * spread * 0.2
                v = min(max(v, base - spread), base + spread)
                values[i] = (v / q).rounded() * q
            case .bucket(let h, let share):
                values[i] += (requests[h] * share).rounded(.down)
            case .histSum(let h):
                values[i] = ((values[i] + requests[h] * 0.08 * (0.5 + rng.unit())) * 1000).rounded() / 1000
            case .histCount(let h):
                values[i] += requests[h]
            }
        }
    }
}
