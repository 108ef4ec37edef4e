import Glibc
import Logging
import RemoteWrite
import Storage
import TSDB

// Micro benchmark of decode -> validate -> TSDB append (WAL + head), CPU-ns per sample.
// Usage: IngestBench [clusters=200] [scrapes=12]; bench/ingest/hotpath.sh builds and runs it.
let args = CommandLine.arguments
let clusters = args.count > 1 ? Int(args[1])! : 200
let scrapes = args.count > 2 ? Int(args[2])! : 12

func pad5(_ n: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, 5 - s.count)) + s }

func clusterSeries(_ c: Int) -> [[Label]] {
    let cluster = "edge-" + pad5(c)
    let regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]
    let region = regions[c % regions.count]
    let ip = "10.\(c / 65536 % 256).\(c / 256 % 256).\(c % 256)"
    var out: [[Label]] = []
    func add(_ name: String, _ job: String, _ instance: String, _ extra: [(String, String)]) {
        var ls = [Label("__name__", name), Label("cluster", cluster), Label("region", region),
                  Label("job", job), Label("instance", instance)]
        for (k, v) in extra { ls.append(Label(k, v)) }
        ls.sort()
        out.append(ls)
    }
    let node = ip + ":9100"
    for cpu in 0..<2 { for m in ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"] {
        add("node_cpu_seconds_total", "node", node, [("cpu", "\(cpu)"), ("mode", m)])
    } }
    for n in ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Active", "Inactive", "Dirty", "SwapTotal", "SwapFree"] {
        add("node_memory_\(n)_bytes", "node", node, [])
    }
    for n in ["node_load1", "node_load5", "node_load15"] { add(n, "node", node, []) }
    for (dev, mp) in [("/dev/sda1", "/"), ("/dev/sda2", "/var"), ("tmpfs", "/run")] {
        let l = [("device", dev), ("fstype", dev == "tmpfs" ? "tmpfs" : "ext4"), ("mountpoint", mp)]
        for n in ["node_filesystem_size_bytes", "node_filesystem_free_bytes", "node_filesystem_avail_bytes", "node_filesystem_files_free"] {
            add(n, "node", node, l)
        }
    }
    for dev in ["eth0", "lo"] {
        for n in ["node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_network_receive_packets_total", "node_network_transmit_packets_total"] {
            add(n, "node", node, [("device", dev)])
        }
    }
    for dev in ["sda", "sdb"] {
        for n in ["node_disk_reads_completed_total", "node_disk_writes_completed_total", "node_disk_read_bytes_total", "node_disk_written_bytes_total"] {
            add(n, "node", node, [("device", dev)])
        }
    }
    add("node_boot_time_seconds", "node", node, [])
    add("up", "node", node, [])
    let kubelet = ip + ":10250"
    let pods: [(String, String, String)] = [
        ("kube-system", "coredns-5d78c9869d-\(c % 97)x", "coredns"), ("kube-system", "kube-proxy-\(c % 89)q", "kube-proxy"),
        ("pos", "pos-api-7f9c-\(c % 83)a", "api"), ("pos", "pos-worker-6b8d-\(c % 79)b", "worker"),
        ("monitoring", "edge-scraper-\(c % 73)z", "edge-scraper"), ("inventory", "inventory-\(c % 71)k", "inventory"),
        ("payments", "payments-\(c % 67)m", "payments"), ("ingress", "ingress-nginx-\(c % 61)c", "controller"),
    ]
    for (ns, pod, container) in pods {
        let l = [("namespace", ns), ("pod", pod), ("container", container)]
        for n in ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_memory_rss",
                  "container_network_receive_bytes_total", "container_network_transmit_bytes_total",
                  "container_fs_reads_bytes_total", "container_fs_writes_bytes_total", "container_spec_memory_limit_bytes"] {
            add(n, "kubelet", kubelet, l)
        }
    }
    let app = ip + ":8080"
    for handler in ["/api/orders", "/api/health"] {
        for le in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"] {
            add("http_request_duration_seconds_bucket", "app", app, [("handler", handler), ("le", le)])
        }
        add("http_request_duration_seconds_sum", "app", app, [("handler", handler)])
        add("http_request_duration_seconds_count", "app", app, [("handler", handler)])
    }
    return out
}

// Pre-generate snappy bodies, 2,000 samples each, scrape by scrape.
var all: [[Label]] = []
for c in 0..<clusters { all.append(contentsOf: clusterSeries(c)) }
var bodies: [[[UInt8]]] = []
var x: UInt64 = 42
for sc in 0..<scrapes {
    var reqs: [[UInt8]] = []
    let t = Int64(1_764_000_000_000) + Int64(sc) * 15_000
    var i = 0
    while i < all.count {
        let end = min(i + 2000, all.count)
        var ts: [TimeSeries] = []
        for j in i..<end {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let v = Double((x >> 40) % 100_000) / 100 + Double(sc * 10)
            ts.append(TimeSeries(labels: all[j], samples: [Sample(t: t, v: v)]))
        }
        reqs.append(WireEncoder.encodeCompressed(WriteRequest(timeseries: ts)))
        i = end
    }
    bodies.append(reqs)
}

// Same checks as Collector's SeriesValidator on the success path.
func validate(_ ts: TimeSeries) -> Labels? {
    if ts.problem != nil { return nil }
    var pairs = ts.labels
    pairs.sort { $0.name < $1.name }
    var out: [Label] = []
    out.reserveCapacity(pairs.count + 1)
    var name: String?
    for (i, l) in pairs.enumerated() {
        if i > 0 && pairs[i - 1].name == l.name { return nil }
        guard isValidLabelName(l.name) else { return nil }
        if l.name == Labels.metricName { name = l.value }
        if l.value.isEmpty { continue }
        out.append(l)
    }
    guard let name, isValidMetricName(name) else { return nil }
    return Labels(sortedUnchecked: out)
}

func cpuNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

let dir = "/tmp/ingest-hotpath-data-\(getpid())"
var logger = Logger(label: "bench")
logger.logLevel = .error
let db = try TSDB.open(directory: dir, logger: logger)
var decodeNs: UInt64 = 0, appendNs: UInt64 = 0
var firstNs: UInt64 = 0, firstSamples = 0, steadyNs: UInt64 = 0, steadySamples = 0, accepted = 0
for (sc, reqs) in bodies.enumerated() {
    let c0 = cpuNanos()
    var n = 0
    for body in reqs {
        let a = cpuNanos()
        let req = try WireDecoder.decode(try Snappy.decompress(body))
        var batch: [SeriesSamples] = []
        batch.reserveCapacity(req.timeseries.count)
        for ts in req.timeseries {
            if let l = validate(ts) { batch.append(SeriesSamples(labels: l, samples: ts.samples)); n += ts.samples.count }
        }
        let b = cpuNanos()
        let r = try await db.append(batch)
        accepted += r.accepted
        let c = cpuNanos()
        decodeNs += b - a; appendNs += c - b
    }
    let dt = cpuNanos() - c0
    if sc == 0 { firstNs = dt; firstSamples = n } else { steadyNs += dt; steadySamples += n }
}
try db.close()
_ = system("rm -rf '\(dir)'")
let total = firstSamples + steadySamples
print("clusters=\(clusters) scrapes=\(scrapes) samples=\(total) accepted=\(accepted)")
print("first scrape (new series): \(firstNs / UInt64(firstSamples)) CPU-ns/sample")
print("steady scrapes:            \(steadyNs / UInt64(max(1, steadySamples))) CPU-ns/sample")
print("  decode+validate \(decodeNs / UInt64(total)) ns/sample, append \(appendNs / UInt64(total)) ns/sample (all scrapes)")
