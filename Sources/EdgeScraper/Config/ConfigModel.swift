import RemoteWrite
import Storage

// The edge scraper's configuration: Prometheus' prometheus.yml shape (`global`,
// `scrape_configs`, `remote_write`) plus our own `node`, `pods` and `queue` sections.
// Durations are milliseconds. Parsing lives in ConfigLoader; these are the values.

public struct EdgeConfig: Sendable, Equatable {
    public var global = GlobalConfig()
    public var scrapeConfigs: [ScrapeConfig] = []
    public var remoteWrite: [RemoteWriteConfig] = []
    public var node = NodeConfig()
    public var pods = PodsConfig()
    public var queue = QueueConfig()
    public init() {}
}

public struct GlobalConfig: Sendable, Equatable {
    public var scrapeInterval: Int64 = 60_000
    public var scrapeTimeout: Int64 = 10_000
    public var externalLabels: Labels = Labels()
    public init() {}
}

public struct TLSConfig: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var serverName: String?
    public var insecureSkipVerify = false
    public init() {}
}

/// `authorization:` / `bearer_token_file:` / `basic_auth:` resolved to how to authenticate.
public enum HTTPAuth: Sendable, Equatable {
    case none
    case bearer(credentials: String?, credentialsFile: String?, type: String)
    case basic(username: String, password: String?, passwordFile: String?)
}

public enum RelabelAction: String, Sendable, Equatable, CaseIterable {
    case replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase
}

public struct RelabelConfig: Sendable, Equatable {
    public var sourceLabels: [String] = []
    public var separator = ";"
    public var regex = "(.*)"
    public var modulus: UInt64 = 0
    public var targetLabel = ""
    public var replacement = "$1"
    public var action: RelabelAction = .replace
    public init() {}
}

public struct StaticConfig: Sendable, Equatable {
    public var targets: [String] = []
    public var labels: Labels = Labels()
    public init() {}
}

public struct FileSDConfig: Sendable, Equatable {
    public var files: [String] = []
    public var refreshInterval: Int64 = 300_000
    public init() {}
}

public enum KubernetesRole: String, Sendable, Equatable { case node, pod }

public struct KubernetesSDConfig: Sendable, Equatable {
    public var role: KubernetesRole = .pod
    /// Empty means in-cluster: KUBERNETES_SERVICE_HOST/PORT with the service account token and CA.
    public var apiServer: String?
    public var auth: HTTPAuth = .none
    public var tls = TLSConfig()
    public var namespaces: [String] = []
    /// Only this node's objects (a field selector on the list), for a DaemonSet's own node; not
    /// a config key: set by the built-in jobs from the NODE_NAME environment variable.
    public var nodeName: String?
    public init() {}
}

public struct ScrapeConfig: Sendable, Equatable {
    public var jobName = ""
    public var scrapeInterval: Int64 = 60_000
    public var scrapeTimeout: Int64 = 10_000
    public var metricsPath = "/metrics"
    public var scheme = "http"
    public var params: [String: [String]] = [:]
    public var honorLabels = false
    public var honorTimestamps = true
    public var auth: HTTPAuth = .none
    public var tls = TLSConfig()
    public var staticConfigs: [StaticConfig] = []
    public var fileSDConfigs: [FileSDConfig] = []
    public var kubernetesSDConfigs: [KubernetesSDConfig] = []
    public var relabelConfigs: [RelabelConfig] = []
    public var metricRelabelConfigs: [RelabelConfig] = []
    /// More samples than this after metric relabeling fail the scrape (0: no limit).
    public var sampleLimit = 0
    /// More labels per series, or longer label names/values, fail the scrape (0: no limit).
    public var labelLimit = 0
    public var labelNameLengthLimit = 0
    public var labelValueLengthLimit = 0
    /// A larger uncompressed body fails the scrape (0: no limit).
    public var bodySizeLimit: Int64 = 0
    public init() {}
}

public struct QueueConfigSection: Sendable, Equatable {
    public var maxSamplesPerSend = 2_000
    public var batchSendDeadline: Int64 = 5_000
    public var minBackoff: Int64 = 30
    public var maxBackoff: Int64 = 5_000
    public var maxShards = 4
    public var minShards = 1
    /// Samples buffered per shard in memory before the scrape side is slowed down.
    public var capacity = 10_000
    public var retryOnHTTP429 = true
    public init() {}
}

public struct RemoteWriteConfig: Sendable, Equatable {
    public var url = ""
    public var name = ""
    public var auth: HTTPAuth = .none
    public var tls = TLSConfig()
    public var remoteTimeout: Int64 = 30_000
    public var writeRelabelConfigs: [RelabelConfig] = []
    public var queueConfig = QueueConfigSection()
    public init() {}
}

/// Built-in node collector (node_exporter-compatible names), no node_exporter needed.
public struct NodeConfig: Sendable, Equatable {
    public var enabled = true
    public var jobName = "node"
    /// nil: the global scrape interval.
    public var interval: Int64?
    public var procPath = "/proc"
    public var sysPath = "/sys"
    public var rootfsPath = "/"
    public init() {}
}

public struct KubeletConfig: Sendable, Equatable {
    /// Scrape the kubelet's /metrics/cadvisor (job "cadvisor") and /metrics/resource (job
    /// "kubelet"). When false, pods are read from cgroups (job "cadvisor") and a configured
    /// `url` is used only for pod names from its /pods endpoint. Defaults to true when the
    /// config has a `pods.kubelet:` section.
    public var enabled = false
    /// e.g. https://127.0.0.1:10250; nil means discover the node's kubelet through the API server.
    public var url: String?
    public var auth: HTTPAuth = .none
    public var tls = TLSConfig()
    public init() {}
}

public struct PodsConfig: Sendable, Equatable {
    public var enabled = false
    public var kubelet = KubeletConfig()
    /// Read cgroup v2 under kubepods directly when there is no kubelet access.
    public var cgroupRoot: String? = "/sys/fs/cgroup"
    public var interval: Int64?
    /// Scrape the pods annotated `prometheus.io/scrape: "true"` (job "kubernetes-pods", see
    /// `BuiltinTargets.annotatedPods`), on this node only when NODE_NAME is set.
    public var annotated = false
    public init() {}
}

/// The persistent queue: every scraped sample is written here before it is sent.
public struct QueueConfig: Sendable, Equatable {
    /// The state directory the systemd unit (`StateDirectory=edge-scraper`) and the DaemonSet's
    /// hostPath volume provide: never relative to whatever directory the agent was started in,
    /// where a restart from elsewhere would strand the unsent samples.
    public static let defaultDir = "/var/lib/edge-scraper/queue"
    public var dir = QueueConfig.defaultDir
    public var maxBytes: Int64 = 512 << 20
    public init() {}
}
