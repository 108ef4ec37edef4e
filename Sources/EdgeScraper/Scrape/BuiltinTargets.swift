import Glibc
import Logging
import Storage

/// The `node:` and `pods:` sections turned into scrape pools, so built-in collectors get the
/// same report series, staleness and external labels as any other target.
enum BuiltinTargets {
    static func specs(_ cfg: EdgeConfig) -> [String: ScrapeManager.PoolSpec] {
        var out: [String: ScrapeManager.PoolSpec] = [:]
        let ext = cfg.global.externalLabels
        if cfg.node.enabled {
            var sc = ScrapeConfig()
            sc.jobName = cfg.node.jobName
            sc.scrapeInterval = cfg.node.interval ?? cfg.global.scrapeInterval
            sc.scrapeTimeout = min(cfg.global.scrapeTimeout, sc.scrapeInterval)
            out[sc.jobName] = .init(scrape: sc, external: ext, builtin: "node", node: cfg.node)
        }
        if cfg.pods.annotated {
            var sc = annotatedPods
            sc.scrapeInterval = cfg.pods.interval ?? cfg.global.scrapeInterval
            sc.scrapeTimeout = min(cfg.global.scrapeTimeout, sc.scrapeInterval)
            sc.kubernetesSDConfigs[0].nodeName = ownNode()
            out[sc.jobName] = .init(scrape: sc, external: ext)
        }
        guard cfg.pods.enabled else { return out }
        let interval = cfg.pods.interval ?? cfg.global.scrapeInterval
        let kubelet = cfg.pods.kubelet
        if kubelet.enabled {
            for (job, path) in [("cadvisor", "/metrics/cadvisor"), ("kubelet", "/metrics/resource")] {
                var sc = ScrapeConfig()
                sc.jobName = job
                sc.scrapeInterval = interval
                sc.scrapeTimeout = min(cfg.global.scrapeTimeout, interval)
                sc.metricsPath = path
                sc.auth = kubelet.auth
                sc.tls = kubelet.tls
                // cAdvisor exposes its own timestamps; Prometheus' kubelet jobs honor them too.
                sc.honorTimestamps = true
                if let url = kubelet.url {
                    let scheme = url.hasPrefix("https://") ? "https" : "http"
                    sc.scheme = scheme
                    var hostPort = String(url.dropFirst(scheme.count + 3))
                    if let slash = hostPort.firstIndex(of: "/") { hostPort = String(hostPort[..<slash]) }
                    var st = StaticConfig()
                    st.targets = [hostPort]
                    sc.staticConfigs = [st]
                } else {
                    // Discover this node's kubelet through the API server (in-cluster credentials).
                    sc.scheme = "https"
                    var k = KubernetesSDConfig()
                    k.role = .node
                    sc.kubernetesSDConfigs = [k]
                    if let node = ownNode() {
                        var keep = RelabelConfig()
                        keep.action = .keep
                        keep.sourceLabels = ["__meta_kubernetes_node_name"]
                        keep.regex = node
                        sc.relabelConfigs = [keep]
                    }
                }
                out[job] = .init(scrape: sc, external: ext, pods: cfg.pods)
            }
        } else if cfg.pods.cgroupRoot != nil {
            var sc = ScrapeConfig()
            sc.jobName = "cadvisor"
            sc.scrapeInterval = interval
            sc.scrapeTimeout = min(cfg.global.scrapeTimeout, interval)
            out[sc.jobName] = .init(scrape: sc, external: ext, builtin: "pods", pods: cfg.pods)
        }
        return out
    }

    /// The node a DaemonSet's pod runs on (NODE_NAME, from the Downward API), nil elsewhere.
    static func ownNode() -> String? {
        guard let node = getenv("NODE_NAME").map({ String(cString: $0) }), !node.isEmpty else { return nil }
        return node
    }

    /// `pods.annotated`: Prometheus' usual annotation-driven pod job, in-cluster. `prometheus.io/
    /// scrape: "true"` opts a pod in; `prometheus.io/port`, `/path` and `/scheme` say where its
    /// metrics are; pod labels, namespace and pod name become target labels. Pods that have ended
    /// are dropped (their IP may already be another pod's).
    static let annotatedPods: ScrapeConfig = {
        let text = """
        scrape_configs:
        - job_name: kubernetes-pods
          kubernetes_sd_configs: [{role: pod}]
          relabel_configs:
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], action: keep, regex: 'true'}
          - {source_labels: [__meta_kubernetes_pod_phase], action: drop, regex: 'Succeeded|Failed'}
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme], regex: '(https?)', target_label: __scheme__}
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path], regex: '(.+)', target_label: __metrics_path__}
          - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
            regex: '([^:]+)(?::\\d+)?;(\\d+)'
            replacement: '$1:$2'
            target_label: __address__
          - {action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)'}
          - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
          - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
        """
        // A constant text: BuiltinTargets' tests parse it on every run.
        return try! ConfigLoader.parse(text, file: "built-in pods.annotated").scrapeConfigs[0]
    }()

    /// The built-in target, and for the cgroup collector a background job that keeps pod
    /// names fresh from the kubelet's `/pods` when `pods.kubelet.url` is set.
    static func targets(_ builtin: String, spec: ScrapeManager.PoolSpec, transport: any HTTPTransport, logger: Logger)
        -> ([ScrapeTarget], (@Sendable () async -> Void)?) {
        let host = FileIO.hostname()
        let sc = spec.scrape
        let local: any LocalCollector
        var background: (@Sendable () async -> Void)? = nil
        switch builtin {
        case "node":
            local = NodeCollector(spec.node ?? NodeConfig())
        default:
            let names = PodNameCache()
            local = CgroupCollector(root: spec.pods?.cgroupRoot ?? "/sys/fs/cgroup", pods: { names.get() })
            if let kubelet = spec.pods?.kubelet, let url = kubelet.url {
                let interval = max(sc.scrapeInterval, 30_000)
                background = {
                    while !Task.isCancelled {
                        do {
                            let body = try await KubernetesDiscovery.get(url + "/pods", auth: kubelet.auth, tls: kubelet.tls, transport: transport)
                            names.set(try KubeletPods.parse(body))
                        } catch {
                            logger.warning("cannot read pod names from the kubelet; cgroup series carry pod UIDs",
                                           metadata: ["url": "\(url)/pods", "error": "\(error)"])
                        }
                        do { try await Task.sleep(nanoseconds: UInt64(interval) * 1_000_000) } catch { return }
                    }
                }
            }
        }
        let labels = Labels([Label("job", sc.jobName), Label("instance", host), Label("__address__", host)])
        return ([ScrapeTarget(labels: labels, discoveredLabels: labels, url: "builtin://\(builtin)",
                              interval: sc.scrapeInterval, timeout: sc.scrapeTimeout, local: local)], background)
    }
}
