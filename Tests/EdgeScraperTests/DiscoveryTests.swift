import Foundation
import Logging
import Testing
import Storage
import Synchronization
@testable import EdgeScraper

@Suite struct DiscoveryTests {
    @Test func fileSDParsesJSONAndYAML() throws {
        let json = try FileDiscovery.parse(#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#, path: "/sd/x.json")
        #expect(json.count == 2 && json[0].targets.count == 2)
        #expect(json[0].labels == Labels(["env": "prod", "__meta_filepath": "/sd/x.json"]))
        let yaml = try FileDiscovery.parse("- targets: ['d:4']\n  labels:\n    team: edge\n", path: "/sd/y.yml")
        #expect(yaml[0].targets[0]["__address__"] == "d:4" && yaml[0].labels["team"] == "edge")
        #expect(throws: ConfigError.self) { try FileDiscovery.parse(#"[{"targets": ["a:1"], "lables": {}}]"#, path: "/sd/z.json") }
        #expect(throws: ConfigError.self) { try FileDiscovery.parse(#"{"targets": []}"#, path: "/sd/z.json") }
    }

    @Test(.timeLimit(.minutes(1))) func fileSDReloadsOnChange() async throws {
        let dir = "/tmp/edgecore-filesd-\(nowMillis())"
        mkdir(dir, 0o755)
        try FileIO.write(dir + "/t.json", Array(#"[{"targets": ["a:1"]}]"#.utf8))
        var cfg = FileSDConfig()
        cfg.files = [dir + "/*.json"]
        let updates = Mutex<[[TargetGroup]]>([])
        let task = Task {
            await FileDiscovery(cfg, logger: Logger(label: "t"), pollMillis: 50).run { g in updates.withLock { $0.append(g) } }
        }
        for _ in 0..<100 where updates.withLock({ $0.isEmpty }) { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(updates.withLock { $0.last?.first?.targets.first?["__address__"] } == "a:1")
        // mtime granularity can hide a rewrite within the same tick: add a new file instead too.
        try FileIO.write(dir + "/u.json", Array(#"[{"targets": ["b:2"]}]"#.utf8))
        for _ in 0..<100 where updates.withLock({ $0.last?.count ?? 0 }) < 2 { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(Set(updates.withLock { $0.last ?? [] }.flatMap { $0.targets.compactMap { $0["__address__"] } }) == ["a:1", "b:2"])
        // A broken file keeps its previous targets.
        try FileIO.write(dir + "/u.json", Array("[{".utf8))
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(Set(updates.withLock { $0.last ?? [] }.flatMap { $0.targets.compactMap { $0["__address__"] } }) == ["a:1", "b:2"])
        task.cancel()
        await task.value
    }

    func recordedAPI() throws -> RecordedServer {
        try RecordedServer(routes: [
            "/api/v1/pods": ("application/json", Array(try FileIO.read(fixturePath("kubernetes/pods.json")))),
            "/api/v1/namespaces/shop/pods": ("application/json", Array(try FileIO.read(fixturePath("kubernetes/pods.json")))),
            "/api/v1/nodes": ("application/json", Array(try FileIO.read(fixturePath("kubernetes/nodes.json")))),
        ])
    }

    /// No API server runs here: recorded API responses are served on 127.0.0.1.
    @Test(.timeLimit(.minutes(1))) func kubernetesPodRoleFromRecordedAPI() async throws {
        let server = try recordedAPI()
        defer { server.stop() }
        var k = KubernetesSDConfig()
        k.role = .pod
        k.apiServer = "http://127.0.0.1:\(server.port)"
        k.auth = .bearer(credentials: "tok", credentialsFile: nil, type: "Bearer")
        let groups = try await KubernetesDiscovery(k, transport: LoopbackClient(), logger: Logger(label: "t")).list()
        #expect(server.seen.first?.path == "/api/v1/pods" && server.seen.first?.authorization == "Bearer tok")
        #expect(groups.count == 2 && groups[1].targets.isEmpty)  // the pending pod has no IP yet
        let g = groups[0]
        #expect(g.source == "pod/shop/web-7d4b9c-x2k8p")
        #expect(g.labels["__meta_kubernetes_namespace"] == "shop")
        #expect(g.labels["__meta_kubernetes_pod_name"] == "web-7d4b9c-x2k8p")
        #expect(g.labels["__meta_kubernetes_pod_ip"] == "10.42.0.7")
        #expect(g.labels["__meta_kubernetes_pod_ready"] == "true")
        #expect(g.labels["__meta_kubernetes_pod_phase"] == "Running")
        #expect(g.labels["__meta_kubernetes_pod_node_name"] == "edge-1")
        #expect(g.labels["__meta_kubernetes_pod_host_ip"] == "192.168.1.10")
        #expect(g.labels["__meta_kubernetes_pod_uid"] == "6f1c2a4e-8d3b-4c1a-9e2f-0a1b2c3d4e5f")
        #expect(g.labels["__meta_kubernetes_pod_controller_kind"] == "ReplicaSet")
        #expect(g.labels["__meta_kubernetes_pod_controller_name"] == "web-7d4b9c")
        #expect(g.labels["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == "web")
        #expect(g.labels["__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name"] == "true")
        #expect(g.labels["__meta_kubernetes_pod_annotation_prometheus_io_port"] == "9113")
        // One target per container port, one per port-less container, init containers flagged.
        let addrs = g.targets.map { $0["__address__"] ?? "" }
        #expect(addrs == ["10.42.0.7:80", "10.42.0.7:9113", "10.42.0.7", "10.42.0.7"])
        #expect(g.targets[1]["__meta_kubernetes_pod_container_port_name"] == "metrics")
        #expect(g.targets[1]["__meta_kubernetes_pod_container_port_protocol"] == "TCP")
        #expect(g.targets[1]["__meta_kubernetes_pod_container_init"] == "false")
        #expect(g.targets[3]["__meta_kubernetes_pod_container_init"] == "true")
        #expect(g.targets[3]["__meta_kubernetes_pod_container_id"] == "containerd://aa11")

        // The usual annotation-driven relabeling picks exactly the metrics port.
        let cfg = try ConfigLoader.parse("""
        scrape_configs:
        - job_name: pods
          kubernetes_sd_configs: [{role: pod, api_server: 'http://127.0.0.1:1'}]
          relabel_configs:
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], action: keep, regex: 'true'}
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port], target_label: __tmp_port}
          - {source_labels: [__meta_kubernetes_pod_container_port_number], target_label: __tmp_num}
          - {source_labels: [__tmp_num], action: keepequal, target_label: __tmp_port}
          - {action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)'}
          - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
          - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
        """, file: "t.yml")
        let sc = cfg.scrapeConfigs[0]
        let (targets, _, _) = TargetBuilder.targets(from: groups, config: sc, rules: try Relabel.compile(sc.relabelConfigs))
        #expect(targets.map(\.url) == ["http://10.42.0.7:9113/metrics"])
        #expect(targets.first?.seriesLabels == Labels(["job": "pods", "instance": "10.42.0.7:9113", "namespace": "shop",
                                                       "pod": "web-7d4b9c-x2k8p", "app_kubernetes_io_name": "web", "pod_template_hash": "7d4b9c"]))
    }

    @Test(.timeLimit(.minutes(1))) func kubernetesNodeRoleFromRecordedAPI() async throws {
        let server = try recordedAPI()
        defer { server.stop() }
        var k = KubernetesSDConfig()
        k.role = .node
        k.apiServer = "http://127.0.0.1:\(server.port)/"
        let groups = try await KubernetesDiscovery(k, transport: LoopbackClient(), logger: Logger(label: "t")).list()
        let g = try #require(groups.first)
        #expect(g.labels["__meta_kubernetes_node_name"] == "edge-1")
        #expect(g.labels["__meta_kubernetes_node_provider_id"] == "k3s://edge-1")
        #expect(g.labels["__meta_kubernetes_node_label_node_role_kubernetes_io_control_plane"] == "true")
        #expect(g.labels["__meta_kubernetes_node_annotation_k3s_io_node_args"] == "[\"server\"]")
        let t = try #require(g.targets.first)
        #expect(t["__address__"] == "192.168.1.10:10250" && t["instance"] == "edge-1")
        #expect(t["__meta_kubernetes_node_address_InternalIP"] == "192.168.1.10")
        #expect(t["__meta_kubernetes_node_address_ExternalIP"] == "203.0.113.5")
        #expect(t["__meta_kubernetes_node_address_Hostname"] == "edge-1")
        // Namespaced pod listing uses the namespaced path.
        var p = KubernetesSDConfig()
        p.role = .pod
        p.apiServer = "http://127.0.0.1:\(server.port)"
        p.namespaces = ["shop"]
        _ = try await KubernetesDiscovery(p, transport: LoopbackClient(), logger: Logger(label: "t")).list()
        #expect(server.seen.contains { $0.path == "/api/v1/namespaces/shop/pods" })
        #expect(sanitizeLabelName("a.b/c-d") == "a_b_c_d")
    }

    /// `pods.annotated`: the built-in job lists only this node's pods (NODE_NAME, as a DaemonSet
    /// sets it) and scrapes the annotated port of the annotated pod.
    @Test(.timeLimit(.minutes(1))) func annotatedPodsOfThisNode() async throws {
        let pods = Array(try FileIO.read(fixturePath("kubernetes/pods.json")))
        let server = try RecordedServer(routes: ["/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-1": ("application/json", pods)])
        defer { server.stop() }
        var cfg = try ConfigLoader.parse("node: {enabled: false}\npods: {annotated: true, interval: 30s}\n", file: "t.yml")
        #expect(cfg.pods.annotated && !cfg.pods.enabled)
        setenv("NODE_NAME", "edge-1", 1)
        let specs = BuiltinTargets.specs(cfg)
        unsetenv("NODE_NAME")
        var sc = try #require(specs["kubernetes-pods"]?.scrape)
        #expect(specs.count == 1 && sc.scrapeInterval == 30_000 && sc.kubernetesSDConfigs.first?.nodeName == "edge-1")
        sc.kubernetesSDConfigs[0].apiServer = "http://127.0.0.1:\(server.port)"
        let groups = try await KubernetesDiscovery(sc.kubernetesSDConfigs[0], transport: LoopbackClient(), logger: Logger(label: "t")).list()
        #expect(server.seen.map(\.path) == ["/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-1"])
        let (targets, _, errors) = TargetBuilder.targets(from: groups, config: sc, rules: try Relabel.compile(sc.relabelConfigs))
        #expect(errors.isEmpty)
        #expect(targets.map(\.url) == ["http://10.42.0.7:9113/metrics"])
        #expect(targets.first?.seriesLabels == Labels(["job": "kubernetes-pods", "instance": "10.42.0.7:9113", "namespace": "shop",
                                                       "pod": "web-7d4b9c-x2k8p", "app_kubernetes_io_name": "web", "pod_template_hash": "7d4b9c"]))
        // Without NODE_NAME (not in a DaemonSet) every pod is listed; off by default.
        #expect(BuiltinTargets.specs(cfg)["kubernetes-pods"]?.scrape.kubernetesSDConfigs.first?.nodeName == nil)
        cfg.pods.annotated = false
        #expect(BuiltinTargets.specs(cfg).isEmpty)
    }
}
