import Foundation
import Logging
import Testing
import Storage
@testable import EdgeScraper

@Suite struct PodsCollectorTests {
    let podUID = "6f1c2a4e-8d3b-4c1a-9e2f-0a1b2c3d4e5f"
    let guaranteedUID = "0b9a8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
    let containerPath = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1c2a4e_8d3b_4c1a_9e2f_0a1b2c3d4e5f.slice/cri-containerd-3c1e5f7a9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e.scope"

    @Test func podUIDsFromDirectoryNames() {
        #expect(CgroupCollector.podUID("kubepods-burstable-pod6f1c2a4e_8d3b_4c1a_9e2f_0a1b2c3d4e5f.slice") == podUID)
        #expect(CgroupCollector.podUID("pod6f1c2a4e-8d3b-4c1a-9e2f-0a1b2c3d4e5f") == podUID)
        #expect(CgroupCollector.podUID("kubepods-burstable.slice") == nil)
        #expect(CgroupCollector(root: "/").containerID("cri-containerd-abc123.scope") == "abc123")
        #expect(CgroupCollector(root: "/").containerID("abc123") == "abc123")
    }

    @Test func kubeletPodsResponse() throws {
        let pods = try KubeletPods.parse(Array(try FileIO.read(fixturePath("kubelet/pods.json"))))
        let web = try #require(pods[podUID])
        #expect(web.namespace == "shop" && web.name == "web-7d4b9c")
        #expect(web.containers["3c1e5f7a9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e"]?.name == "nginx")
    }

    @Test func cgroupFixtureToCAdvisorNames() throws {
        let pods = try KubeletPods.parse(Array(try FileIO.read(fixturePath("kubelet/pods.json"))))
        let c = CgroupCollector(root: fixturePath("cgroup"), sysPath: fixturePath("sys"), procPath: fixturePath("proc"), pods: { pods })
        let s = try Scraped(try c.collect())
        let container = Labels(["__name__": "container_cpu_usage_seconds_total", "container": "nginx", "cpu": "total",
                                "id": containerPath, "image": "docker.io/library/nginx:1.25", "namespace": "shop", "pod": "web-7d4b9c"])
        #expect(s.samples[container] == 1.25)
        func value(_ name: String, _ labels: Labels) -> Double? {
            s.samples[labels.setting("__name__", name).removing(["cpu"])]
        }
        #expect(value("container_memory_usage_bytes", container) == 31_457_280)
        // working set = usage - inactive_file
        #expect(value("container_memory_working_set_bytes", container) == Double(31_457_280 - 20_971_520))
        #expect(value("container_memory_rss", container) == 52_428_800)
        #expect(value("container_memory_cache", container) == 41_943_040)
        #expect(value("container_cpu_cfs_throttled_seconds_total", container) == 0)
        #expect(s.samples[container.setting("__name__", "container_fs_reads_bytes_total").removing(["cpu"]).setting("device", "/dev/sda")] == 4096)
        #expect(s.samples[container.setting("__name__", "container_fs_writes_total").removing(["cpu"]).setting("device", "/dev/sda")] == 2)
        // Pod-level cgroup: no container label. The pod unknown to the kubelet keeps its UID.
        let podLevel = s.family("container_memory_usage_bytes").keys.filter { $0["container"] == nil }
        #expect(Set(podLevel.compactMap { $0["pod"] }) == ["web-7d4b9c", guaranteedUID])
        let unknown = s.family("container_cpu_usage_seconds_total").keys.filter { $0["pod"] == guaranteedUID && $0["container"] != nil }
        #expect(unknown.first?["container"] == "9f8e7d6c5b4a")
        #expect(s.types["container_cpu_usage_seconds_total"] == "counter" && s.types["container_memory_working_set_bytes"] == "gauge")
        #expect(value("container_oom_events_total", container) == 1)
        // Pod network through a process of the pod, loopback excluded.
        let podNet = Labels(["__name__": "container_network_receive_bytes_total", "interface": "eth0", "namespace": "shop", "pod": "web-7d4b9c",
                             "id": "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1c2a4e_8d3b_4c1a_9e2f_0a1b2c3d4e5f.slice"])
        #expect(s.samples[podNet] == 1_234_567)
        #expect(s.samples[podNet.setting("__name__", "container_network_transmit_packets_dropped_total")] == 4)
        #expect(s.family("container_network_receive_bytes_total").count == 1)
        #expect(throws: NodeCollectorError.self) { try CgroupCollector(root: "/nonexistent").collect() }
    }

    /// Kubelet endpoints are not available here: the test serves recorded /metrics/cadvisor and
    /// /metrics/resource responses on 127.0.0.1 and points pods.kubelet.url at them.
    @Test(.timeLimit(.minutes(1))) func kubeletTargetsThroughTheManager() async throws {
        let server = try RecordedServer(routes: [
            "/metrics/cadvisor": ("text/plain; version=0.0.4", Array(try FileIO.read(fixturePath("kubernetes/cadvisor.txt")))),
            "/metrics/resource": ("text/plain; version=0.0.4", Array(try FileIO.read(fixturePath("kubernetes/resource.txt")))),
        ])
        defer { server.stop() }
        let tokenFile = "/tmp/edgecore-kubelet-token-\(server.port)"
        try FileIO.write(tokenFile, Array("s3cret\n".utf8))
        let cfg = try ConfigLoader.parse("""
        global: {scrape_interval: 1s, external_labels: {cluster: shop-7}}
        node: {enabled: false}
        pods:
          enabled: true
          kubelet: {url: 'http://127.0.0.1:\(server.port)', bearer_token_file: \(tokenFile)}
        """, file: "t.yml")
        let sink = CollectingSink()
        let mgr = ScrapeManager(config: cfg, transport: LoopbackClient(), sink: sink, logger: Logger(label: "t"))
        let run = Task { await mgr.run() }
        for _ in 0..<100 where series(sink.all, "up").count < 2 { try await Task.sleep(nanoseconds: 50_000_000) }
        run.cancel()
        await run.value
        let ws = try #require(series(sink.all, "container_memory_working_set_bytes").first)
        let l = Labels(ws.labels)
        #expect(l["job"] == "cadvisor" && l["pod"] == "web-7d4b9c-x2k8p" && l["cluster"] == "shop-7" && l["instance"] == "127.0.0.1:\(server.port)")
        #expect(ws.samples[0].t == 1_732_510_000_000)
        #expect(series(sink.all, "node_memory_working_set_bytes").first.map { Labels($0.labels)["job"] } == "kubelet")
        #expect(series(sink.all, "up").allSatisfy { $0.samples[0].v == 1 })
        #expect(server.seen.allSatisfy { $0.authorization == "Bearer s3cret" })
    }

    /// The cgroup path with pod names from a recorded kubelet /pods response on loopback.
    @Test(.timeLimit(.minutes(1))) func cgroupPoolWithKubeletPodNames() async throws {
        let server = try RecordedServer(routes: [
            "/pods": ("application/json", Array(try FileIO.read(fixturePath("kubelet/pods.json")))),
        ])
        defer { server.stop() }
        let cfg = try ConfigLoader.parse("""
        global: {scrape_interval: 1s}
        node: {enabled: false}
        pods:
          enabled: true
          cgroup_root: \(fixturePath("cgroup"))
          kubelet: {enabled: false, url: 'http://127.0.0.1:\(server.port)'}
        """, file: "t.yml")
        let sink = CollectingSink()
        let mgr = ScrapeManager(config: cfg, transport: LoopbackClient(), sink: sink, logger: Logger(label: "t"))
        let run = Task { await mgr.run() }
        func named() -> Bool {
            series(sink.all, "container_memory_working_set_bytes").contains { Labels($0.labels)["pod"] == "web-7d4b9c" }
        }
        for _ in 0..<100 where !named() { try await Task.sleep(nanoseconds: 50_000_000) }
        run.cancel()
        await run.value
        #expect(named())
        #expect(series(sink.all, "up").first.map { Labels($0.labels)["job"] } == "cadvisor")
        #expect(server.seen.contains { $0.path == "/pods" })
    }
}
