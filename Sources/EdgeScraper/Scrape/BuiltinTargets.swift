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
                    if let node = getenv("NODE_NAME").map({ String(cString: $0) }), !node.isEmpty {
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
