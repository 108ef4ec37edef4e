import Glibc
import Synchronization
import YAMLTree

/// What the kubelet's `/pods` says about a pod, to turn cgroup directory names (pod UID,
/// container ID) into cAdvisor's `namespace`, `pod`, `container` and `image` labels.
public struct PodInfo: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// Container runtime ID without the `containerd://` scheme → (container name, image).
    public var containers: [String: (name: String, image: String)]

    public static func == (a: PodInfo, b: PodInfo) -> Bool {
        a.namespace == b.namespace && a.name == b.name && a.containers.keys.sorted() == b.containers.keys.sorted()
            && a.containers.allSatisfy { b.containers[$0.key]?.name == $0.value.name && b.containers[$0.key]?.image == $0.value.image }
    }
}

public enum KubeletPods {
    /// Parses a kubelet `/pods` (or API server PodList) response: UID → pod info.
    public static func parse(_ json: [UInt8]) throws -> [String: PodInfo] {
        let doc = try YAML.parse(String(decoding: json, as: UTF8.self))
        var out: [String: PodInfo] = [:]
        for pod in doc["items"]?.sequence ?? [] {
            guard let uid = pod["metadata"]?["uid"]?.scalar else { continue }
            var info = PodInfo(namespace: pod["metadata"]?["namespace"]?.scalar ?? "",
                               name: pod["metadata"]?["name"]?.scalar ?? "", containers: [:])
            for key in ["containerStatuses", "initContainerStatuses"] {
                for c in pod["status"]?[key]?.sequence ?? [] {
                    guard let full = c["containerID"]?.scalar else { continue }
                    let id = full.split(separator: "/").last.map(String.init) ?? full
                    info.containers[id] = (c["name"]?.scalar ?? "", c["image"]?.scalar ?? "")
                }
            }
            out[uid] = info
        }
        return out
    }
}

/// Reads cgroup v2 under kubepods directly (`cpu.stat`, `memory.current`, `memory.stat`,
/// `io.stat`) into cAdvisor's metric names, for sites where the kubelet is not reachable.
/// Works with both the systemd (`kubepods.slice/...-pod<uid>.slice/cri-containerd-<id>.scope`)
/// and cgroupfs (`kubepods/burstable/pod<uid>/<id>`) layouts.
public struct CgroupCollector: LocalCollector {
    public let root: String
    let sysPath: String
    let procPath: String
    /// Supplies pod names; without it `pod` is the pod UID and `container` the container ID.
    let pods: @Sendable () -> [String: PodInfo]

    public init(root: String, sysPath: String = "/sys", procPath: String = "/proc",
                pods: @escaping @Sendable () -> [String: PodInfo] = { [:] }) {
        self.root = root
        self.sysPath = sysPath
        self.procPath = procPath
        self.pods = pods
    }

    struct Found {
        var path: String       // cgroup path relative to root, as cAdvisor's `id`
        var podUID: String
        var containerID: String?
    }

    func discover() -> [Found] {
        var out: [Found] = []
        for top in ["kubepods.slice", "kubepods"] where FileIO.isDirectory(root + "/" + top) {
            walk("/" + top, depth: 0, podUID: nil, &out)
        }
        return out
    }

    private func walk(_ rel: String, depth: Int, podUID: String?, _ out: inout [Found]) {
        guard depth < 4, let entries = FileIO.list(root + rel) else { return }
        for e in entries where FileIO.isDirectory(root + rel + "/" + e) {
            let child = rel + "/" + e
            if let uid = podUID {
                out.append(Found(path: child, podUID: uid, containerID: containerID(e)))
            } else if let uid = CgroupCollector.podUID(e) {
                out.append(Found(path: child, podUID: uid, containerID: nil))
                walk(child, depth: depth + 1, podUID: uid, &out)
            } else {
                walk(child, depth: depth + 1, podUID: nil, &out)
            }
        }
    }

    /// `kubepods-burstable-pod12ab_34cd.slice` or `pod12ab-34cd` → `12ab-34cd`.
    static func podUID(_ dir: String) -> String? {
        var name = Substring(dir)
        if name.hasSuffix(".slice") { name = name.dropLast(6) }
        guard let r = name.ranges(of: "pod").last else { return nil }
        let uid = name[r.upperBound...]
        guard !uid.isEmpty, uid.allSatisfy({ $0.isHexDigit || $0 == "_" || $0 == "-" }) else { return nil }
        return uid.replacingUnderscores
    }

    /// `cri-containerd-<id>.scope`, `docker-<id>.scope`, `crio-<id>.scope` or a bare ID.
    func containerID(_ dir: String) -> String {
        var name = Substring(dir)
        if name.hasSuffix(".scope") { name = name.dropLast(6) }
        if let dash = name.lastIndex(of: "-") { name = name[name.index(after: dash)...] }
        return String(name)
    }

    public func collect() throws -> [UInt8] {
        guard FileIO.isDirectory(root) else {
            throw NodeCollectorError(message: "cgroup root \(root) does not exist; set pods.cgroup_root to the cgroup v2 mount")
        }
        let names = pods()
        var w = MetricWriter()
        struct Row {
            var labels: [(String, String)]
            var cpu: [String: Double]
            var mem: [String: Double]
            var current: Double?
            var swap: Double?
            var events: [String: Double]
            var io: [(String, [String: Double])]
            var net: [(String, [Double])]
        }
        var rows: [Row] = []
        for f in discover() {
            let dir = root + f.path
            let info = names[f.podUID]
            var labels: [(String, String)] = []
            if let cid = f.containerID {
                let c = info?.containers[cid]
                labels.append(("container", c?.name ?? String(cid.prefix(12))))
                labels.append(("id", f.path))
                if let img = c?.image, !img.isEmpty { labels.append(("image", img)) }
            } else {
                labels.append(("id", f.path))
            }
            labels.append(("namespace", info?.namespace ?? ""))
            labels.append(("pod", info?.name ?? f.podUID))
            labels = labels.filter { !$0.1.isEmpty }
            rows.append(Row(labels: labels,
                            cpu: CgroupCollector.keyValues(FileIO.readIfPresent(dir + "/cpu.stat")),
                            mem: CgroupCollector.keyValues(FileIO.readIfPresent(dir + "/memory.stat")),
                            current: FileIO.readIfPresent(dir + "/memory.current").flatMap { Double($0.trimmingSpaces) },
                            swap: FileIO.readIfPresent(dir + "/memory.swap.current").flatMap { Double($0.trimmingSpaces) },
                            events: CgroupCollector.keyValues(FileIO.readIfPresent(dir + "/memory.events")),
                            io: ioStat(FileIO.readIfPresent(dir + "/io.stat")),
                            net: f.containerID == nil ? podNetwork(dir) : []))
        }
        func family(_ name: String, _ type: String, _ help: String, _ value: (Row) -> Double?) {
            var started = false
            for r in rows {
                guard let v = value(r) else { continue }
                if !started { w.family(name, type, help); started = true }
                w.sample(name, name == "container_cpu_usage_seconds_total" ? r.labels + [("cpu", "total")] : r.labels, v)
            }
        }
        family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.") { $0.cpu["usage_usec"].map { $0 / 1e6 } }
        family("container_cpu_user_seconds_total", "counter", "Cumulative user cpu time consumed in seconds.") { $0.cpu["user_usec"].map { $0 / 1e6 } }
        family("container_cpu_system_seconds_total", "counter", "Cumulative system cpu time consumed in seconds.") { $0.cpu["system_usec"].map { $0 / 1e6 } }
        family("container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals.") { $0.cpu["nr_periods"] }
        family("container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals.") { $0.cpu["nr_throttled"] }
        family("container_cpu_cfs_throttled_seconds_total", "counter", "Total time duration the container has been throttled.") { $0.cpu["throttled_usec"].map { $0 / 1e6 } }
        family("container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including all memory regardless of when it was accessed") { $0.current }
        family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.") { r in
            // cAdvisor: usage minus inactive file pages, floored at zero.
            guard let u = r.current else { return nil }
            let inactive = r.mem["inactive_file"] ?? 0
            return u > inactive ? u - inactive : 0
        }
        family("container_memory_rss", "gauge", "Size of RSS in bytes.") { $0.mem["anon"] }
        family("container_memory_cache", "gauge", "Number of bytes of page cache memory.") { $0.mem["file"] }
        family("container_memory_mapped_file", "gauge", "Size of memory mapped files in bytes.") { $0.mem["file_mapped"] }
        family("container_memory_swap", "gauge", "Container swap usage in bytes.") { $0.swap }
        family("container_oom_events_total", "counter", "Count of out of memory events observed for the container") { $0.events["oom_kill"] }
        let ioFamilies: [(String, String, String)] = [
            ("container_fs_reads_bytes_total", "rbytes", "Cumulative count of bytes read"),
            ("container_fs_writes_bytes_total", "wbytes", "Cumulative count of bytes written"),
            ("container_fs_reads_total", "rios", "Cumulative count of reads completed"),
            ("container_fs_writes_total", "wios", "Cumulative count of writes completed"),
        ]
        for (name, key, help) in ioFamilies {
            var started = false
            for r in rows {
                for (dev, vals) in r.io {
                    guard let v = vals[key] else { continue }
                    if !started { w.family(name, "counter", help); started = true }
                    w.sample(name, [("device", dev)] + r.labels, v)
                }
            }
        }
        // Network is per pod (all containers share the sandbox's namespace), as in cAdvisor.
        let netFamilies: [(String, Int, String)] = [
            ("container_network_receive_bytes_total", 0, "Cumulative count of bytes received"),
            ("container_network_receive_packets_total", 1, "Cumulative count of packets received"),
            ("container_network_receive_errors_total", 2, "Cumulative count of errors encountered while receiving"),
            ("container_network_receive_packets_dropped_total", 3, "Cumulative count of packets dropped while receiving"),
            ("container_network_transmit_bytes_total", 8, "Cumulative count of bytes transmitted"),
            ("container_network_transmit_packets_total", 9, "Cumulative count of packets transmitted"),
            ("container_network_transmit_errors_total", 10, "Cumulative count of errors encountered while transmitting"),
            ("container_network_transmit_packets_dropped_total", 11, "Cumulative count of packets dropped while transmitting"),
        ]
        for (name, column, help) in netFamilies {
            var started = false
            for r in rows {
                for (iface, vals) in r.net where column < vals.count {
                    if !started { w.family(name, "counter", help); started = true }
                    w.sample(name, [("interface", iface)] + r.labels, vals[column])
                }
            }
        }
        return w.bytes
    }

    /// The pod's network devices, read through any process in the pod (they share one
    /// network namespace): /proc/<pid>/net/dev without the loopback device.
    func podNetwork(_ podDir: String) -> [(String, [Double])] {
        var pid: Substring? = nil
        for child in FileIO.list(podDir) ?? [] where pid == nil {
            pid = FileIO.readIfPresent(podDir + "/" + child + "/cgroup.procs")?.split(separator: "\n").first
        }
        guard let p = pid, let text = FileIO.readIfPresent("\(procPath)/\(p)/net/dev") else { return [] }
        var out: [(String, [Double])] = []
        for line in text.split(separator: "\n").dropFirst(2) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let dev = line[..<colon].trimmingSpaces
            if dev == "lo" { continue }
            let vals = line[line.index(after: colon)...].split(separator: " ").compactMap { Double($0) }
            if vals.count >= 16 { out.append((dev, vals)) }
        }
        return out
    }

    static func keyValues(_ text: String?) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in (text ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, let v = Double(f[1]) { out[String(f[0])] = v }
        }
        return out
    }

    /// `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per device, device named as
    /// cAdvisor does (`/dev/sda`) through /sys/dev/block/<maj:min>/uevent.
    func ioStat(_ text: String?) -> [(String, [String: Double])] {
        var out: [(String, [String: Double])] = []
        for line in (text ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let majmin = f.first else { continue }
            var vals: [String: Double] = [:]
            for kv in f.dropFirst() {
                let p = kv.split(separator: "=")
                if p.count == 2, let v = Double(p[1]) { vals[String(p[0])] = v }
            }
            out.append((deviceName(String(majmin)), vals))
        }
        return out
    }

    func deviceName(_ majmin: String) -> String {
        if let ev = FileIO.readIfPresent(sysPath + "/dev/block/\(majmin)/uevent") {
            for line in ev.split(separator: "\n") where line.hasPrefix("DEVNAME=") {
                return "/dev/" + line.dropFirst(8)
            }
        }
        return majmin
    }
}

/// Caches the kubelet's /pods answer for the cgroup collector, refreshed in the background,
/// so a scrape never waits on the kubelet.
public final class PodNameCache: Sendable {
    private let state = Mutex<[String: PodInfo]>([:])
    public init() {}
    public func set(_ pods: [String: PodInfo]) { state.withLock { $0 = pods } }
    public func get() -> [String: PodInfo] { state.withLock { $0 } }
}

extension Substring {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}
