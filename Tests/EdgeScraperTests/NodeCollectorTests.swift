import Foundation
import Testing
import Storage
import TestSupport
@testable import EdgeScraper

/// Parsed exposition keyed by series text, for comparisons.
struct Scraped {
    var samples: [Labels: Double] = [:]
    var types: [String: String] = [:]
    var helps: [String: String] = [:]

    init(_ bytes: [UInt8]) throws {
        let p = try ExpositionParser.parse(bytes, format: .prometheusText)
        for s in p.samples { samples[Labels(p.labels(of: s))] = s.value }
        let names = ["", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"]
        for m in p.metadata {
            types[m.family] = m.type == .unknown ? "untyped" : names[m.type.rawValue]
            helps[m.family] = m.help
        }
    }

    func family(_ name: String) -> [Labels: Double] { samples.filter { $0.key.metricName == name } }
    func families(_ pred: (String) -> Bool) -> Set<String> { Set(samples.keys.compactMap(\.metricName).filter(pred)) }
}

@Suite struct NodeCollectorTests {
    func fixtureCollector() -> NodeCollector {
        var c = NodeConfig()
        c.procPath = fixturePath("node/proc")
        c.sysPath = fixturePath("node/sys")
        c.rootfsPath = "/"
        return NodeCollector(c)
    }

    @Test func fixtureTree() throws {
        let s = try Scraped(try fixtureCollector().collect())
        #expect(s.samples[Labels(["__name__": "node_cpu_seconds_total", "cpu": "0", "mode": "user"])] == 13932.8)
        #expect(s.samples[Labels(["__name__": "node_cpu_seconds_total", "cpu": "1", "mode": "softirq"])] == 30.45)
        #expect(s.family("node_cpu_seconds_total").count == 16)
        #expect(s.samples[Labels(["__name__": "node_context_switches_total"])] == 38_014_093)
        #expect(s.samples[Labels(["__name__": "node_boot_time_seconds"])] == 1_418_183_276)
        #expect(s.samples[Labels(["__name__": "node_forks_total"])] == 26442)
        #expect(s.samples[Labels(["__name__": "node_intr_total"])] == 8_885_917)
        #expect(s.samples[Labels(["__name__": "node_procs_running"])] == 2)
        #expect(s.samples[Labels(["__name__": "node_procs_blocked"])] == 1)
        #expect(s.samples[Labels(["__name__": "node_memory_MemTotal_bytes"])] == Double(15_666_184 * 1024))
        #expect(s.samples[Labels(["__name__": "node_memory_Active_anon_bytes"])] == Double(3_402_608 * 1024))
        #expect(s.samples[Labels(["__name__": "node_memory_Inactive_file_bytes"])] == Double(3_402_610 * 1024))
        #expect(s.samples[Labels(["__name__": "node_memory_HugePages_Total"])] == 0)
        #expect(s.helps["node_memory_MemFree_bytes"] == "Memory information field MemFree_bytes.")
        #expect(s.samples[Labels(["__name__": "node_load15"])] == 0.39)
        // Disks: ram/loop/partitions excluded by node_exporter's default regex.
        #expect(Set(s.family("node_disk_reads_completed_total").keys.compactMap { $0["device"] }) == ["sda", "nvme0n1"])
        #expect(s.samples[Labels(["__name__": "node_disk_read_bytes_total", "device": "sda"])] == Double(1_003_346_126 * 512))
        #expect(abs((s.samples[Labels(["__name__": "node_disk_io_time_seconds_total", "device": "sda"])] ?? 0) - 9653.88) < 1e-9)
        #expect(s.samples[Labels(["__name__": "node_disk_discards_completed_total", "device": "nvme0n1"])] == 12)
        #expect(s.family("node_disk_discards_completed_total").count == 1)
        // Network: lo excluded; errs/drop columns.
        #expect(s.family("node_network_receive_bytes_total").count == 1)
        #expect(s.samples[Labels(["__name__": "node_network_receive_errs_total", "device": "eth0"])] == 1)
        #expect(s.samples[Labels(["__name__": "node_network_transmit_drop_total", "device": "eth0"])] == 8)
        #expect(s.samples[Labels(["__name__": "node_network_transmit_colls_total", "device": "eth0"])] == 10)
        // Filesystems: /proc and /run excluded; unreadable mounts report device_error 1 only.
        let errs = s.family("node_filesystem_device_error")
        #expect(Set(errs.keys.compactMap { $0["mountpoint"] }) == ["/", "/srv/with space", "/srv/missing", "/srv/nfs"])
        #expect(errs[Labels(["__name__": "node_filesystem_device_error", "device": "/dev/sdc1", "fstype": "xfs", "mountpoint": "/srv/missing"])] == 1)
        #expect(Set(s.family("node_filesystem_size_bytes").keys.compactMap { $0["mountpoint"] }) == ["/"])
        #expect(s.types["node_cpu_seconds_total"] == "counter" && s.types["node_filesystem_size_bytes"] == "gauge")
        #expect(s.family("node_uname_info").count == 1)
    }

    @Test func networkMountsAreStattedOnAWatchedThread() {
        let stuck = StuckMounts()
        if case .ok(let b) = stuck.statvfsWithTimeout("/", key: "/", timeoutMillis: 1000) { #expect(b.f_blocks > 0) } else { Issue.record("statvfs of / failed") }
        if case .failed = stuck.statvfsWithTimeout("/nonexistent/mount", key: "x", timeoutMillis: 1000) {} else { Issue.record("expected failure") }
        #expect(!stuck.contains("/") && !stuck.contains("x"))
        #expect(NodeCollector.mayHang("nfs4") && NodeCollector.mayHang("fuse.sshfs") && !NodeCollector.mayHang("ext4"))
    }

    /// The hand-written default excludes agree with node_exporter's regexes (Go's unanchored match).
    @Test func defaultExcludesMatchTheirRegexes() throws {
        func check(_ pattern: String, _ f: (String) -> Bool, _ inputs: [String]) throws {
            let re = try Regex(pattern)
            for s in inputs { #expect(f(s) == ((try? re.firstMatch(in: s)) != nil), "\(pattern) on \(s)") }
        }
        try check(NodeCollector.defaultMountPointsExclude, NodeCollector.mountPointExcluded, [
            "/", "/dev", "/dev/shm", "/devices", "/proc", "/run", "/run/user/1000", "/runner", "/sys/fs/cgroup", "/mnt", "/mnt/x",
            "/media/usb", "/mediax", "/var/lib/docker", "/var/lib/docker/", "/var/lib/docker/overlay2/x", "/var/lib/containers/storage/o",
            "/var/lib/containers/storage/", "/home", "/srv/data", "/boot/efi",
        ])
        try check(NodeCollector.defaultFSTypesExclude, NodeCollector.fsTypeExcluded, [
            "ext4", "xfs", "tmpfs", "cgroup", "cgroup2", "cgroup3", "proc", "procfs", "overlay", "overlayfs", "nfs4", "squashfs", "vfat",
        ])
        try check(NodeCollector.defaultDiskExclude, NodeCollector.diskExcluded, [
            "sda", "sda1", "sdab1", "vda", "vda2", "xvda1", "hdb3", "nvme0n1", "nvme0n1p1", "nvme10n2p13", "nvmen1p1", "nvme0n1p",
            "ram0", "ram", "loop7", "loopx", "fd0", "dm-0", "md0", "mmcblk0", "mmcblk0p1", "zram0", "sr0",
        ])
        try check(NodeCollector.defaultNetdevExclude, NodeCollector.netdevExcluded, ["lo", "lo0", "eth0", "xlo"])
    }

    @Test func missingProcIsAnError() {
        var c = NodeConfig()
        c.procPath = "/nonexistent"
        #expect(throws: NodeCollectorError.self) { try NodeCollector(c).collect() }
    }

    /// The proof: the real prometheus-node-exporter (Debian's 1.5) and our collector read the
    /// same machine at the same moment and must agree on names, label sets, HELP/TYPE and values.
    @Test(.timeLimit(.minutes(1))) func matchesRealNodeExporter() async throws {
        guard case let (proc, port)? = try await startNodeExporter() else { return }
        defer { proc.stop() }
        // Our reads bracket theirs, so values that move (counters, gauges on a busy machine)
        // are compared against the range they covered while node_exporter read them.
        let before = try Scraped(try NodeCollector(NodeConfig()).collect())
        let theirsBytes = Loopback.get(port: port, path: "/metrics").flatMap { $0.0 == 200 ? $0.2 : nil }
        let ours = try Scraped(try NodeCollector(NodeConfig()).collect())
        let theirs = try Scraped(try #require(theirsBytes))

        let exact = ["node_boot_time_seconds", "node_uname_info", "node_filesystem_size_bytes", "node_filesystem_files",
                     "node_filesystem_readonly", "node_filesystem_device_error", "node_memory_MemTotal_bytes", "node_disk_info"]
        var compared: [String] = ["node_cpu_seconds_total", "node_cpu_guest_seconds_total", "node_load1", "node_load5", "node_load15", "node_time_seconds",
                                  "node_context_switches_total", "node_forks_total", "node_intr_total", "node_procs_running",
                                  "node_procs_blocked", "node_boot_time_seconds", "node_uname_info"]
        compared += ["size_bytes", "free_bytes", "avail_bytes", "files", "files_free", "readonly", "device_error"].map { "node_filesystem_" + $0 }
        compared += ["receive", "transmit"].flatMap { d in ["bytes", "packets", "errs", "drop"].map { "node_network_\(d)_\($0)_total" } }
        let diskFamilies = theirs.families { $0.hasPrefix("node_disk_") && !$0.hasPrefix("node_disk_ata") }
        compared += diskFamilies
        let memFamilies = theirs.families { $0.hasPrefix("node_memory_") }
        #expect(ours.families { $0.hasPrefix("node_memory_") } == memFamilies)
        compared += memFamilies
        #expect(!diskFamilies.isEmpty && !memFamilies.isEmpty)

        var valuesCompared = 0
        for name in ["node_cpu_seconds_total", "node_load1", "node_filesystem_size_bytes", "node_network_receive_bytes_total",
                     "node_boot_time_seconds", "node_uname_info", "node_context_switches_total", "node_disk_io_time_seconds_total"] {
            #expect(!theirs.family(name).isEmpty, "node_exporter did not report \(name)")
        }
        defer { #expect(valuesCompared > 100, "only \(valuesCompared) values compared") }
        for name in compared {
            let a = ours.family(name), b = theirs.family(name)
            #expect(Set(a.keys) == Set(b.keys), "label sets of \(name): ours \(a.keys.sorted()) theirs \(b.keys.sorted())")
            #expect(ours.types[name] == theirs.types[name], "TYPE of \(name)")
            #expect(ours.helps[name] == theirs.helps[name], "HELP of \(name)")
            for (labels, theirValue) in b {
                guard let mine = a[labels] else { continue }
                valuesCompared += 1
                let tol = tolerance(name, theirValue, exact: exact.contains(name))
                let earlier = before.samples[labels] ?? mine
                let lo = min(earlier, mine) - tol, hi = max(earlier, mine) + tol
                #expect(theirValue >= lo && theirValue <= hi, "\(labels): ours \(earlier)...\(mine) theirs \(theirValue) (tolerance \(tol))")
            }
        }
    }

    /// Same input, same output: node_exporter reads our fixture /proc through --path.procfs,
    /// so every value must match exactly (filesystem space comes from the live root and moves).
    @Test(.timeLimit(.minutes(1))) func matchesNodeExporterOnTheFixtureTree() async throws {
        guard case let (proc, port)? = try await startNodeExporter([
            "--path.procfs=\(fixturePath("node/proc"))",
            "--path.sysfs=\(fixturePath("node/sys"))", "--no-collector.netdev.netlink", "--collector.disable-defaults",
            "--collector.cpu", "--collector.meminfo", "--collector.loadavg", "--collector.filesystem",
            "--collector.diskstats", "--collector.netdev", "--collector.stat",
        ]) else { return }
        defer { proc.stop() }
        let theirs = try Scraped(try #require(Loopback.get(port: port, path: "/metrics").flatMap { $0.0 == 200 ? $0.2 : nil }))
        let ours = try Scraped(try fixtureCollector().collect())
        let families = theirs.families { $0.hasPrefix("node_") && !$0.hasPrefix("node_scrape_") && $0 != "node_exporter_build_info" }
        #expect(families.count > 40)
        let moving: Set<String> = ["node_filesystem_avail_bytes", "node_filesystem_free_bytes", "node_filesystem_files_free"]
        for name in families.sorted() {
            let a = ours.family(name), b = theirs.family(name)
            #expect(Set(a.keys) == Set(b.keys), "label sets of \(name): ours \(a.keys.sorted()) theirs \(b.keys.sorted())")
            #expect(ours.types[name] == theirs.types[name] && ours.helps[name] == theirs.helps[name], "HELP/TYPE of \(name)")
            for (labels, v) in b {
                guard let mine = a[labels] else { continue }
                if moving.contains(name) {
                    #expect(abs(mine - v) <= max(v * 0.01, 256 * 1_048_576), "\(labels): ours \(mine) theirs \(v)")
                } else {
                    #expect(mine.bitPattern == v.bitPattern, "\(labels): ours \(mine) theirs \(v)")
                }
            }
        }
    }

    /// How far two reads a few milliseconds apart may differ on a shared, busy machine.
    func tolerance(_ name: String, _ v: Double, exact: Bool) -> Double {
        if exact { return 0 }
        switch name {
        case "node_cpu_seconds_total": return 3  // two CPUs over the ~1 s between the reads
        case "node_time_seconds": return 10
        case let n where n.hasPrefix("node_load"): return 3
        case "node_procs_running", "node_procs_blocked": return 256  // instantaneous counts under a parallel build
        case let n where n.hasPrefix("node_memory_"): return max(abs(v) * 0.05, 64 * 1_048_576)
        case let n where n.hasPrefix("node_filesystem_"): return max(abs(v) * 0.01, 256 * 1_048_576)
        default: return max(abs(v) * 0.05, 1000)
        }
    }
}
