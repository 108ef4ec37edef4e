import Glibc
import Logging
import Storage
import YAMLTree

/// Kubernetes service discovery, roles `node` and `pod`, with Prometheus' `__meta_kubernetes_*`
/// labels. Prometheus watches; at the edge a periodic list is cheaper on memory and good
/// enough for small clusters, so this lists every `refreshMillis`.
public struct KubernetesDiscovery: DiscoveryProvider {
    public static let serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

    public let config: KubernetesSDConfig
    let transport: any HTTPTransport
    let logger: Logger
    let refreshMillis: Int64

    public init(_ config: KubernetesSDConfig, transport: any HTTPTransport, logger: Logger, refreshMillis: Int64 = 30_000) {
        self.config = config
        self.transport = transport
        self.logger = logger
        self.refreshMillis = refreshMillis
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async {
        while !Task.isCancelled {
            do {
                await update(try await list())
            } catch {
                // Keep the previous targets: an API hiccup should not stop scraping.
                logger.error("kubernetes_sd: list failed", metadata: ["role": "\(config.role.rawValue)", "error": "\(error)"])
            }
            do { try await Task.sleep(nanoseconds: UInt64(refreshMillis) * 1_000_000) } catch { return }
        }
    }

    /// API base URL and auth: explicit `api_server`, else in-cluster from the environment.
    func endpoint() throws -> (base: String, auth: HTTPAuth, tls: TLSConfig) {
        if let s = config.apiServer {
            return (s.hasSuffix("/") ? String(s.dropLast()) : s, config.auth, config.tls)
        }
        guard let host = getenv("KUBERNETES_SERVICE_HOST").map({ String(cString: $0) }), !host.isEmpty,
              let port = getenv("KUBERNETES_SERVICE_PORT").map({ String(cString: $0) }), !port.isEmpty else {
            throw TargetError(message: "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); set api_server in kubernetes_sd_configs")
        }
        var tls = TLSConfig()
        tls.caFile = KubernetesDiscovery.serviceAccountDir + "/ca.crt"
        let h = host.contains(":") ? "[\(host)]" : host
        return ("https://\(h):\(port)", .bearer(credentials: nil, credentialsFile: KubernetesDiscovery.serviceAccountDir + "/token", type: "Bearer"), tls)
    }

    public func list() async throws -> [TargetGroup] {
        let (base, auth, tls) = try endpoint()
        let resource = config.role == .pod ? "pods" : "nodes"
        var paths: [String] = []
        if config.role == .pod && !config.namespaces.isEmpty {
            paths = config.namespaces.map { "/api/v1/namespaces/\($0)/pods" }
        } else {
            paths = ["/api/v1/\(resource)"]
        }
        // Filtered by the API server: a DaemonSet's scrapers each list their own node's share.
        if let node = config.nodeName {
            let field = config.role == .pod ? "spec.nodeName" : "metadata.name"
            paths = paths.map { $0 + "?fieldSelector=" + TargetBuilder.queryEscape(field + "=" + node) }
        }
        var groups: [TargetGroup] = []
        for p in paths {
            let body = try await KubernetesDiscovery.get(base + p, auth: auth, tls: tls, transport: transport)
            let doc = try YAML.parse(String(decoding: body, as: UTF8.self))
            groups += config.role == .pod ? KubernetesDiscovery.podGroups(doc) : KubernetesDiscovery.nodeGroups(doc)
        }
        return groups
    }

    static func get(_ url: String, auth: HTTPAuth, tls: TLSConfig, transport: any HTTPTransport) async throws -> [UInt8] {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let a = try authorizationHeader(auth) { headers.append(("Authorization", a)) }
        let resp = try await transport.send(HTTPRequest(method: "GET", url: url, headers: headers, tls: tls, timeout: 30_000))
        guard resp.status == 200 else {
            let msg = String(decoding: resp.body.prefix(300), as: UTF8.self)
            throw TargetError(message: "GET \(url): HTTP \(resp.status): \(msg)")
        }
        return resp.body
    }

    // MARK: pod role

    public static func podGroups(_ list: YAMLNode) -> [TargetGroup] {
        (list["items"]?.sequence ?? []).compactMap(podGroup)
    }

    static func podGroup(_ pod: YAMLNode) -> TargetGroup? {
        let meta = pod["metadata"]
        let spec = pod["spec"]
        let status = pod["status"]
        let ns = meta?["namespace"]?.scalar ?? ""
        let name = meta?["name"]?.scalar ?? ""
        let source = "pod/\(ns)/\(name)"
        let podIP = status?["podIP"]?.scalar ?? ""
        guard !podIP.isEmpty else { return TargetGroup(source: source, targets: []) }

        var ls: [Label] = [
            Label("__meta_kubernetes_namespace", ns),
            Label("__meta_kubernetes_pod_name", name),
            Label("__meta_kubernetes_pod_ip", podIP),
            Label("__meta_kubernetes_pod_ready", podReady(status)),
            Label("__meta_kubernetes_pod_phase", status?["phase"]?.scalar ?? ""),
            Label("__meta_kubernetes_pod_node_name", spec?["nodeName"]?.scalar ?? ""),
            Label("__meta_kubernetes_pod_host_ip", status?["hostIP"]?.scalar ?? ""),
            Label("__meta_kubernetes_pod_uid", meta?["uid"]?.scalar ?? ""),
        ]
        if let owner = meta?["ownerReferences"]?.sequence?.first(where: { $0["controller"]?.scalar == "true" }) {
            if let k = owner["kind"]?.scalar, !k.isEmpty { ls.append(Label("__meta_kubernetes_pod_controller_kind", k)) }
            if let n = owner["name"]?.scalar, !n.isEmpty { ls.append(Label("__meta_kubernetes_pod_controller_name", n)) }
        }
        ls += objectLabels(meta, prefix: "__meta_kubernetes_pod_")

        var targets: [Labels] = []
        let containers = spec?["containers"]?.sequence ?? []
        let inits = spec?["initContainers"]?.sequence ?? []
        for (k, c) in (containers + inits).enumerated() {
            let isInit = k >= containers.count
            let cname = c["name"]?.scalar ?? ""
            let statuses = status?[isInit ? "initContainerStatuses" : "containerStatuses"]?.sequence ?? []
            let cid = statuses.first { $0["name"]?.scalar == cname }?["containerID"]?.scalar ?? ""
            var base = [
                Label("__meta_kubernetes_pod_container_name", cname),
                Label("__meta_kubernetes_pod_container_id", cid),
                Label("__meta_kubernetes_pod_container_image", c["image"]?.scalar ?? ""),
                Label("__meta_kubernetes_pod_container_init", isInit ? "true" : "false"),
            ]
            let ports = c["ports"]?.sequence ?? []
            if ports.isEmpty {
                base.append(Label("__address__", podIP))
                targets.append(Labels(base))
                continue
            }
            for p in ports {
                let num = p["containerPort"]?.scalar ?? ""
                var t = base
                t.append(Label("__address__", joinHostPort(podIP, num)))
                t.append(Label("__meta_kubernetes_pod_container_port_number", num))
                t.append(Label("__meta_kubernetes_pod_container_port_name", p["name"]?.scalar ?? ""))
                t.append(Label("__meta_kubernetes_pod_container_port_protocol", p["protocol"]?.scalar ?? "TCP"))
                targets.append(Labels(t))
            }
        }
        return TargetGroup(source: source, targets: targets, labels: Labels(ls))
    }

    static func podReady(_ status: YAMLNode?) -> String {
        for c in status?["conditions"]?.sequence ?? [] where c["type"]?.scalar == "Ready" {
            return (c["status"]?.scalar ?? "unknown").lowercased()
        }
        return "unknown"
    }

    // MARK: node role

    public static func nodeGroups(_ list: YAMLNode) -> [TargetGroup] {
        (list["items"]?.sequence ?? []).compactMap(nodeGroup)
    }

    static let addressPriority = ["InternalIP", "InternalDNS", "ExternalIP", "ExternalDNS", "LegacyHostIP", "Hostname"]

    static func nodeGroup(_ node: YAMLNode) -> TargetGroup? {
        let meta = node["metadata"]
        let name = meta?["name"]?.scalar ?? ""
        var ls: [Label] = [
            Label("__meta_kubernetes_node_name", name),
            Label("__meta_kubernetes_node_provider_id", node["spec"]?["providerID"]?.scalar ?? ""),
        ]
        ls += objectLabels(meta, prefix: "__meta_kubernetes_node_")
        let source = "node/\(name)"
        var byType: [String: String] = [:]
        for a in node["status"]?["addresses"]?.sequence ?? [] {
            if let t = a["type"]?.scalar, let v = a["address"]?.scalar, byType[t] == nil { byType[t] = v }
        }
        guard let addr = addressPriority.lazy.compactMap({ byType[$0] }).first else {
            return TargetGroup(source: source, targets: [], labels: Labels(ls))
        }
        let port = node["status"]?["daemonEndpoints"]?["kubeletEndpoint"]?["Port"]?.scalar ?? "10250"
        var t = [Label("__address__", joinHostPort(addr, port)), Label("instance", name)]
        for (ty, v) in byType { t.append(Label(sanitizeLabelName("__meta_kubernetes_node_address_" + ty), v)) }
        return TargetGroup(source: source, targets: [Labels(t)], labels: Labels(ls))
    }

    // MARK: helpers

    static func objectLabels(_ meta: YAMLNode?, prefix: String) -> [Label] {
        var out: [Label] = []
        for (field, kind) in [("labels", "label"), ("annotations", "annotation")] {
            for p in meta?[field]?.mapping ?? [] {
                let n = sanitizeLabelName(p.key.scalar ?? "")
                out.append(Label(prefix + kind + "_" + n, p.value.scalar ?? ""))
                out.append(Label(prefix + kind + "present_" + n, "true"))
            }
        }
        return out
    }

    static func joinHostPort(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Prometheus' strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes '_'.
public func sanitizeLabelName(_ s: String) -> String {
    var out = ""
    for u in s.unicodeScalars {
        let v = u.value
        out.append((v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F ? Character(u) : "_")
    }
    return out
}
