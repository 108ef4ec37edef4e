import Glibc
import Synchronization

/// Built-in node collector: node_exporter's names, labels, HELP and TYPE for cpu, meminfo,
/// loadavg, filesystem, diskstats, netdev, stat, time and uname, read from /proc and /sys
/// (paths configurable so tests can point at fixture trees). Defaults follow the
/// node_exporter 1.5 that Debian ships, including its device and mount-point excludes.
public struct NodeCollector: LocalCollector {
    public let config: NodeConfig

    public static let defaultMountPointsExclude = "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
    public static let defaultFSTypesExclude =
        "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
    public static let defaultDiskExclude = "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"
    public static let defaultNetdevExclude = "^lo$"

    /// USER_HZ: /proc/stat counts in 1/100 s on every Linux ABI node_exporter supports.
    static let userHZ = 100.0

    let stuck = StuckMounts()

    static func mayHang(_ fsType: String) -> Bool {
        ["nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "9p", "afs", "sshfs"].contains(fsType) || fsType.hasPrefix("fuse")
    }

    public init(_ config: NodeConfig) {
        self.config = config
    }

    func proc(_ p: String) -> String { config.procPath + "/" + p }
    func sys(_ p: String) -> String { config.sysPath + "/" + p }

    public func collect() throws -> [UInt8] {
        var w = MetricWriter()
        guard let stat = FileIO.readIfPresent(proc("stat")) else {
            throw NodeCollectorError(message: "cannot read \(proc("stat")); set node.proc_path to the host's /proc")
        }
        writeStat(stat, &w)
        if let s = FileIO.readIfPresent(proc("meminfo")) { writeMeminfo(s, &w) }
        if let s = FileIO.readIfPresent(proc("loadavg")) { writeLoadavg(s, &w) }
        writeFilesystems(&w)
        if let s = FileIO.readIfPresent(proc("diskstats")) { writeDiskstats(s, &w) }
        if let s = FileIO.readIfPresent(proc("net/dev")) { writeNetdev(s, &w) }
        writeTime(&w)
        writeUname(&w)
        return w.bytes
    }

    static func fields<S: StringProtocol>(_ line: S) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Substring($0) }
    }

    static func lines(_ s: String) -> [Substring] { s.split(separator: "\n") }

    // The default excludes are matched by hand: Swift's regex engine costs about 2 MiB of
    // resident memory once touched, a seventh of the edge binary's budget. Tests check these
    // against the patterns above.
    static let excludedMountPrefixes = ["/dev", "/proc", "/run", "/sys", "/mnt", "/media"]
    static let excludedFSTypes: Set<String> = [
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "fusectl",
        "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore", "rpc_pipefs", "securityfs",
        "selinuxfs", "squashfs", "sysfs", "tracefs",
    ]

    static func mountPointExcluded(_ mp: String) -> Bool {
        for p in excludedMountPrefixes where mp == p || mp.hasPrefix(p + "/") { return true }
        for p in ["/var/lib/docker/", "/var/lib/containers/storage/"] where mp.hasPrefix(p) && mp.utf8.count > p.utf8.count {
            // `.+` then `($|/)`: anything non-empty after the prefix, except a lone newline.
            return mp.utf8.dropFirst(p.utf8.count).contains { $0 != 0x0A }
        }
        return false
    }

    static func fsTypeExcluded(_ t: String) -> Bool { excludedFSTypes.contains(t) }

    /// `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`
    static func diskExcluded(_ name: String) -> Bool {
        let b = Array(name.utf8)
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func digitsToEnd(_ i: Int) -> Bool { i < b.count && b[i...].allSatisfy(isDigit) }
        func digits(_ i: Int) -> Int { var j = i; while j < b.count, isDigit(b[j]) { j += 1 }; return j }
        for p in ["ram", "loop", "fd"] where name.hasPrefix(p) { if digitsToEnd(p.utf8.count) { return true } }
        for p in ["hd", "sd", "vd", "xvd"] where name.hasPrefix(p) {
            let i = p.utf8.count
            if i < b.count, b[i] >= 0x61, b[i] <= 0x7A, digitsToEnd(i + 1) { return true }
        }
        if name.hasPrefix("nvme") {
            var i = digits(4)
            guard i > 4, i < b.count, b[i] == UInt8(ascii: "n") else { return false }
            let j = digits(i + 1)
            guard j > i + 1, j < b.count, b[j] == UInt8(ascii: "p") else { return false }
            i = j + 1
            return digitsToEnd(i)
        }
        return false
    }

    static func netdevExcluded(_ dev: String) -> Bool { dev == "lo" }

    // MARK: /proc/stat (cpu and stat collectors)

    func writeStat(_ s: String, _ w: inout MetricWriter) {
        let modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
        var cpus: [(String, [Double])] = []
        var scalars: [String: Double] = [:]
        for line in NodeCollector.lines(s) {
            let f = NodeCollector.fields(line)
            guard let key = f.first else { continue }
            if key.hasPrefix("cpu") && key.count > 3 {
                let vals = f.dropFirst().map { (Double($0) ?? 0) / NodeCollector.userHZ }
                cpus.append((String(key.dropFirst(3)), Array(vals)))
            } else if f.count >= 2 {
                scalars[String(key)] = Double(f[1])
            }
        }
        if !cpus.isEmpty {
            w.family("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.")
            for (cpu, vals) in cpus {
                for (i, mode) in modes.enumerated() where i < vals.count {
                    w.sample("node_cpu_seconds_total", [("cpu", cpu), ("mode", mode)], vals[i])
                }
            }
        }
        if cpus.contains(where: { $0.1.count >= 10 }) {
            w.family("node_cpu_guest_seconds_total", "counter", "Seconds the CPUs spent in guests (VMs) for each mode.")
            for (cpu, vals) in cpus where vals.count >= 10 {
                w.sample("node_cpu_guest_seconds_total", [("cpu", cpu), ("mode", "nice")], vals[9])
                w.sample("node_cpu_guest_seconds_total", [("cpu", cpu), ("mode", "user")], vals[8])
            }
        }
        let stats: [(String, String, String)] = [
            ("intr", "node_intr_total", "Total number of interrupts serviced."),
            ("ctxt", "node_context_switches_total", "Total number of context switches."),
            ("btime", "node_boot_time_seconds", "Node boot time, in unixtime."),
            ("processes", "node_forks_total", "Total number of forks."),
            ("procs_running", "node_procs_running", "Number of processes in runnable state."),
            ("procs_blocked", "node_procs_blocked", "Number of processes blocked waiting for I/O to complete."),
        ]
        for (key, name, help) in stats {
            guard let v = scalars[key] else { continue }
            let counter = name.hasSuffix("_total")
            w.family(name, counter ? "counter" : "gauge", help)
            w.sample(name, [], v)
        }
    }

    // MARK: meminfo

    func writeMeminfo(_ s: String, _ w: inout MetricWriter) {
        var entries: [(String, Double)] = []
        for line in NodeCollector.lines(s) {
            let f = NodeCollector.fields(line)
            guard f.count >= 2, f[0].hasSuffix(":"), var v = Double(f[1]) else { continue }
            var key = String(f[0].dropLast())
            // Active(anon) -> Active_anon, as node_exporter's `\((.*)\)` -> `_${1}`.
            if let open = key.firstIndex(of: "("), key.hasSuffix(")") {
                key = String(key[..<open]) + "_" + String(key[key.index(after: open)..<key.index(before: key.endIndex)])
            }
            if f.count == 3 { v *= 1024; key += "_bytes" }
            entries.append((key, v))
        }
        // node_exporter emits families sorted by name.
        for (key, v) in entries.sorted(by: { $0.0 < $1.0 }) {
            let name = "node_memory_" + key
            w.family(name, "gauge", "Memory information field \(key).")
            w.sample(name, [], v)
        }
    }

    // MARK: loadavg

    func writeLoadavg(_ s: String, _ w: inout MetricWriter) {
        let f = NodeCollector.fields(s)
        guard f.count >= 3 else { return }
        for (i, (name, help)) in [("node_load1", "1m load average."), ("node_load5", "5m load average."),
                                  ("node_load15", "15m load average.")].enumerated() {
            guard let v = Double(f[i]) else { continue }
            w.family(name, "gauge", help)
            w.sample(name, [], v)
        }
    }

    // MARK: filesystem

    struct Mount: Hashable {
        var device: String
        var mountPoint: String
        var fsType: String
        var options: String
    }

    func mounts() -> [Mount] {
        guard let text = FileIO.readIfPresent(proc("1/mounts")) ?? FileIO.readIfPresent(proc("mounts")) else { return [] }
        var out: [Mount] = []
        for line in NodeCollector.lines(text) {
            let f = NodeCollector.fields(line)
            guard f.count >= 4 else { continue }
            var mp = String(f[1])
            mp = replacing(mp, "\\040", " ")
            mp = replacing(mp, "\\011", "\t")
            out.append(Mount(device: String(f[0]), mountPoint: rootfsStripPrefix(mp), fsType: String(f[2]), options: String(f[3])))
        }
        return out
    }

    func rootfsStripPrefix(_ p: String) -> String {
        let root = config.rootfsPath
        if root == "/" || root.isEmpty { return p }
        guard p.hasPrefix(root) else { return p }
        let stripped = String(p.dropFirst(root.count))
        return stripped.isEmpty ? "/" : stripped
    }

    func rootfsFilePath(_ p: String) -> String {
        let root = config.rootfsPath
        if root == "/" || root.isEmpty { return p }
        return root + p
    }

    func writeFilesystems(_ w: inout MetricWriter) {
        struct Stats { var m: Mount; var error: Bool; var size = 0.0, free = 0.0, avail = 0.0, files = 0.0, filesFree = 0.0, ro = 0.0 }
        var stats: [Stats] = []
        var seen: Set<Mount> = []
        for m in mounts() {
            if NodeCollector.mountPointExcluded(m.mountPoint) || NodeCollector.fsTypeExcluded(m.fsType) { continue }
            guard seen.insert(m).inserted else { continue }
            if stuck.contains(m.mountPoint) { continue }
            // statvfs reports statfs' f_bsize and block counts, which node_exporter multiplies.
            var buf = statvfs()
            if NodeCollector.mayHang(m.fsType) {
                // A dead NFS server blocks statvfs forever: ask on a separate thread and skip
                // the mount (as node_exporter's stuck-mount watcher does) until it answers.
                switch stuck.statvfsWithTimeout(rootfsFilePath(m.mountPoint), key: m.mountPoint, timeoutMillis: 1000) {
                case .ok(let b): buf = b
                case .failed: stats.append(Stats(m: m, error: true)); continue
                case .timedOut: continue
                }
            } else if statvfs(rootfsFilePath(m.mountPoint), &buf) != 0 {
                stats.append(Stats(m: m, error: true))
                continue
            }
            let bsize = Double(buf.f_bsize)
            let ro: Double = m.options.split(separator: ",").contains("ro") ? 1 : 0
            stats.append(Stats(m: m, error: false, size: Double(buf.f_blocks) * bsize, free: Double(buf.f_bfree) * bsize,
                               avail: Double(buf.f_bavail) * bsize, files: Double(buf.f_files), filesFree: Double(buf.f_ffree), ro: ro))
        }
        guard !stats.isEmpty else { return }
        func labels(_ s: Stats) -> [(String, String)] { [("device", s.m.device), ("fstype", s.m.fsType), ("mountpoint", s.m.mountPoint)] }
        let families: [(String, String, (Stats) -> Double)] = [
            ("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", { $0.avail }),
            ("node_filesystem_files", "Filesystem total file nodes.", { $0.files }),
            ("node_filesystem_files_free", "Filesystem total free file nodes.", { $0.filesFree }),
            ("node_filesystem_free_bytes", "Filesystem free space in bytes.", { $0.free }),
            ("node_filesystem_readonly", "Filesystem read-only status.", { $0.ro }),
            ("node_filesystem_size_bytes", "Filesystem size in bytes.", { $0.size }),
        ]
        w.family("node_filesystem_device_error", "gauge", "Whether an error occurred while getting statistics for the given device.")
        for s in stats { w.sample("node_filesystem_device_error", labels(s), s.error ? 1 : 0) }
        for (name, help, value) in families {
            w.family(name, "gauge", help)
            for s in stats where !s.error { w.sample(name, labels(s), value(s)) }
        }
    }

    // MARK: diskstats

    func writeDiskstats(_ s: String, _ w: inout MetricWriter) {
        // Columns after major, minor, name; scale converts sectors to bytes and ms to seconds.
        let columns: [(String, String, String, Double)] = [
            ("node_disk_reads_completed_total", "counter", "The total number of reads completed successfully.", 1),
            ("node_disk_reads_merged_total", "counter", "The total number of reads merged.", 1),
            ("node_disk_read_bytes_total", "counter", "The total number of bytes read successfully.", 512),
            ("node_disk_read_time_seconds_total", "counter", "The total number of seconds spent by all reads.", 0.001),
            ("node_disk_writes_completed_total", "counter", "The total number of writes completed successfully.", 1),
            ("node_disk_writes_merged_total", "counter", "The number of writes merged.", 1),
            ("node_disk_written_bytes_total", "counter", "The total number of bytes written successfully.", 512),
            ("node_disk_write_time_seconds_total", "counter", "This is the total number of seconds spent by all writes.", 0.001),
            ("node_disk_io_now", "gauge", "The number of I/Os currently in progress.", 1),
            ("node_disk_io_time_seconds_total", "counter", "Total seconds spent doing I/Os.", 0.001),
            ("node_disk_io_time_weighted_seconds_total", "counter", "The weighted # of seconds spent doing I/Os.", 0.001),
            ("node_disk_discards_completed_total", "counter", "The total number of discards completed successfully.", 1),
            ("node_disk_discards_merged_total", "counter", "The total number of discards merged.", 1),
            ("node_disk_discarded_sectors_total", "counter", "The total number of sectors discarded successfully.", 1),
            ("node_disk_discard_time_seconds_total", "counter", "This is the total number of seconds spent by all discards.", 0.001),
            ("node_disk_flush_requests_total", "counter", "The total number of flush requests completed successfully", 1),
            ("node_disk_flush_requests_time_seconds_total", "counter", "This is the total number of seconds spent by all flush requests.", 0.001),
        ]
        var disks: [(name: String, major: String, minor: String, vals: [Double])] = []
        for line in NodeCollector.lines(s) {
            let f = NodeCollector.fields(line)
            guard f.count >= 14 else { continue }
            let dev = String(f[2])
            if NodeCollector.diskExcluded(dev) { continue }
            disks.append((dev, String(f[0]), String(f[1]), f.dropFirst(3).map { Double($0) ?? 0 }))
        }
        guard !disks.isEmpty else { return }
        var families: [(String, String, String, [(String, Double)])] = columns.enumerated().map { i, c in
            (c.0, c.1, c.2, disks.compactMap { d in i < d.vals.count ? (d.name, d.vals[i] * c.3) : nil })
        }
        families.sort { $0.0 < $1.0 }
        for (name, type, help, samples) in families where !samples.isEmpty {
            w.family(name, type, help)
            for (dev, v) in samples { w.sample(name, [("device", dev)], v) }
        }
        w.family("node_disk_info", "gauge", "Info of /sys/block/<block_device>.")
        for d in disks {
            let udev = udevProperties(d.major, d.minor)
            w.sample("node_disk_info", [
                ("device", d.name), ("major", d.major), ("minor", d.minor),
                ("model", udev["ID_MODEL"] ?? ""), ("path", udev["ID_PATH"] ?? ""), ("revision", udev["ID_REVISION"] ?? ""),
                ("serial", udev["ID_SERIAL_SHORT"] ?? ""), ("wwn", udev["ID_WWN"] ?? ""),
            ], 1)
        }
    }

    func udevProperties(_ major: String, _ minor: String) -> [String: String] {
        guard let text = FileIO.readIfPresent("/run/udev/data/b\(major):\(minor)") else { return [:] }
        var out: [String: String] = [:]
        for line in NodeCollector.lines(text) where line.hasPrefix("E:") {
            let kv = line.dropFirst(2).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
        }
        return out
    }

    // MARK: netdev

    func writeNetdev(_ s: String, _ w: inout MetricWriter) {
        let names = ["receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo", "receive_frame",
                     "receive_compressed", "receive_multicast", "transmit_bytes", "transmit_packets", "transmit_errs",
                     "transmit_drop", "transmit_fifo", "transmit_colls", "transmit_carrier", "transmit_compressed"]
        var devs: [(String, [Double])] = []
        for line in NodeCollector.lines(s).dropFirst(2) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let dev = line[..<colon].trimmingSpaces
            if NodeCollector.netdevExcluded(dev) { continue }
            let vals = NodeCollector.fields(line[line.index(after: colon)...]).map { Double($0) ?? 0 }
            guard vals.count >= 16 else { continue }
            devs.append((dev, vals))
        }
        guard !devs.isEmpty else { return }
        for (i, n) in names.enumerated().sorted(by: { $0.element < $1.element }) {
            let name = "node_network_\(n)_total"
            w.family(name, "counter", "Network device statistic \(n).")
            for (dev, vals) in devs { w.sample(name, [("device", dev)], vals[i]) }
        }
    }

    // MARK: time and uname

    func writeTime(_ w: inout MetricWriter) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        w.family("node_time_seconds", "gauge", "System time in seconds since epoch (1970).")
        w.sample("node_time_seconds", [], Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
        var t = time_t(ts.tv_sec)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        let zone = tm.tm_zone.map { String(cString: $0) } ?? "UTC"
        w.family("node_time_zone_offset_seconds", "gauge", "System time zone offset in seconds.")
        w.sample("node_time_zone_offset_seconds", [("time_zone", zone)], Double(tm.tm_gmtoff))
    }

    func writeUname(_ w: inout MetricWriter) {
        var u = utsname()
        guard uname(&u) == 0 else { return }
        func str<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                let bytes = raw.prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        w.family("node_uname_info", "gauge", "Labeled system information as provided by the uname system call.")
        w.sample("node_uname_info", [
            ("domainname", str(u.__domainname)), ("machine", str(u.machine)), ("nodename", str(u.nodename)),
            ("release", str(u.release)), ("sysname", str(u.sysname)), ("version", str(u.version)),
        ], 1)
    }
}

public struct NodeCollectorError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// `s` with every occurrence of `target` replaced, on bytes (mount paths are short).
func replacing(_ s: String, _ target: String, _ with: String) -> String {
    let b = Array(s.utf8), t = Array(target.utf8)
    guard !t.isEmpty, b.count >= t.count else { return s }
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if i + t.count <= b.count && b[i..<(i + t.count)].elementsEqual(t) {
            out.append(contentsOf: with.utf8)
            i += t.count
        } else {
            out.append(b[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Mount points whose statvfs has not returned yet; shared by the collector's scrapes.
final class StuckMounts: Sendable {
    private let hung = Mutex<Set<String>>([])

    enum Outcome { case ok(Glibc.statvfs), failed, timedOut }

    func contains(_ key: String) -> Bool { hung.withLock { $0.contains(key) } }

    final class Call: @unchecked Sendable {
        // Written by the worker thread before `done` is set, read by the caller after.
        let path: String
        let key: String
        let owner: StuckMounts
        var buf = Glibc.statvfs()
        var rc: Int32 = -1
        let done = Atomic<Bool>(false)
        init(path: String, key: String, owner: StuckMounts) { self.path = path; self.key = key; self.owner = owner }
    }

    func statvfsWithTimeout(_ path: String, key: String, timeoutMillis: Int) -> Outcome {
        let call = Call(path: path, key: key, owner: self)
        var tid = pthread_t()
        let ctx = Unmanaged.passRetained(call).toOpaque()
        let rc = pthread_create(&tid, nil, { raw in
            let call = Unmanaged<StuckMounts.Call>.fromOpaque(raw!).takeRetainedValue()
            call.rc = callStatvfs(call.path, &call.buf)
            call.done.store(true, ordering: .releasing)
            // If the caller gave up, this mount was marked hung; it answered, so clear it.
            call.owner.hung.withLock { _ = $0.remove(call.key) }
            return nil
        }, ctx)
        guard rc == 0 else {
            Unmanaged<Call>.fromOpaque(ctx).release()
            return .failed
        }
        pthread_detach(tid)
        var waited = 0
        while !call.done.load(ordering: .acquiring) {
            if waited >= timeoutMillis * 10 {
                hung.withLock { _ = $0.insert(key) }
                // The worker may have finished between the check and the insert.
                if call.done.load(ordering: .acquiring) { hung.withLock { _ = $0.remove(key) } } else { return .timedOut }
                break
            }
            usleep(100)
            waited += 1
        }
        return call.rc == 0 ? .ok(call.buf) : .failed
    }
}

private func callStatvfs(_ path: String, _ buf: inout statvfs) -> Int32 { statvfs(path, &buf) }
