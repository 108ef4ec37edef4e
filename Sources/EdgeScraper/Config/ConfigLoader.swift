import Storage
import YAMLTree

/// A configuration problem, located: `edge.yml:12: unknown key "scrape_intervall" in scrape_configs[0]`.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// 0 when the problem has no single line (e.g. the file cannot be read).
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads prometheus.yml-style configs with Prometheus' keys, defaults and validation, plus
/// our `node:`, `pods:` and `queue:` sections. Strict like Prometheus: unknown keys are errors.
public enum ConfigLoader {
    public static func load(path: String) throws -> EdgeConfig {
        let text: String
        do { text = try FileIO.readString(path) } catch {
            throw ConfigError(file: path, line: 0, message: "cannot read config file: \(error)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> EdgeConfig {
        let root: YAMLNode
        do { root = try YAML.parse(text) } catch let e as YAMLError {
            throw ConfigError(file: file, line: e.line, message: "column \(e.column): \(e.message)")
        }
        var d = ConfigDecoder(file: file)
        return try d.decodeRoot(root)
    }

    /// Prometheus durations: `1y2w3d4h5m6s7ms` with units in that order, or `0`.
    public static func parseDuration(_ s: String) -> Int64? {
        if s == "0" { return 0 }
        let units: [(String, Int64)] = [("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
                                        ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        let b = Array(s.utf8)
        var i = 0
        var next = 0
        var total: Int64 = 0
        if b.isEmpty { return nil }
        while i < b.count {
            var n: Int64 = 0
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 0x30))
                if o1 || o2 { return nil }
                n = a
                i += 1
            }
            if i == start { return nil }
            var u = ""
            while i < b.count, b[i] >= 0x61, b[i] <= 0x7A { u.append(Character(Unicode.Scalar(b[i]))); i += 1 }
            guard let k = units[next...].firstIndex(where: { $0.0 == u }) else { return nil }
            let (m, o) = n.multipliedReportingOverflow(by: units[k].1)
            if o { return nil }
            total += m
            next = k + 1
        }
        return total
    }

    /// Byte sizes: a plain number of bytes or with B, KB/KiB, MB/MiB, GB/GiB, TB/TiB. Like
    /// Prometheus' `--storage.tsdb.retention.size`, KB/MB/GB are powers of 1024.
    public static func parseSize(_ s: String) -> Int64? {
        let t = s.trimmingSpaces
        var digits = ""
        var rest = Substring(t)
        while let c = rest.first, c.isNumber || c == "." { digits.append(c); rest = rest.dropFirst() }
        guard let v = Double(digits), v >= 0 else { return nil }
        let unit = rest.trimmingSpaces.uppercased()
        let mult: Double
        switch unit {
        case "", "B": mult = 1
        case "K", "KB", "KIB": mult = 1024
        case "M", "MB", "MIB": mult = 1024 * 1024
        case "G", "GB", "GIB": mult = 1024 * 1024 * 1024
        case "T", "TB", "TIB": mult = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let r = v * mult
        guard r < 9.0e18 else { return nil }
        return Int64(r)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}

/// A mapping being decoded: knows where it is (`scrape_configs[0]`) and rejects keys it does not know.
struct MapReader {
    let node: YAMLNode
    let path: String
    let file: String
    private var values: [String: YAMLNode] = [:]
    private var keyNodes: [String: YAMLNode] = [:]

    /// `unsupported`: keys Prometheus knows that the edge scraper does not implement; they get
    /// a message saying so instead of "unknown key".
    init(_ node: YAMLNode, path: String, file: String, allowed: [String], unsupported: [String] = []) throws {
        self.node = node
        self.path = path
        self.file = file
        if node.isNull { return }
        guard let m = node.mapping else {
            throw ConfigError(file: file, line: node.line, message: "\(path.isEmpty ? "the document" : path) must be a mapping (key: value), found a \(node.kindName)")
        }
        for p in m {
            let k = p.key.scalar ?? ""
            if unsupported.contains(k) {
                throw ConfigError(file: file, line: p.key.line,
                                  message: "\"\(k)\" in \(path.isEmpty ? "the top level" : path) is a Prometheus setting the edge scraper does not support; remove it")
            }
            if !allowed.contains(k) {
                throw ConfigError(file: file, line: p.key.line,
                                  message: "unknown key \"\(k)\" in \(path.isEmpty ? "the top level" : path)\(suggestion(k, allowed))")
            }
            values[k] = p.value
            keyNodes[k] = p.key
        }
    }

    func suggestion(_ k: String, _ allowed: [String]) -> String {
        let best = allowed.min { editDistance($0, k) < editDistance($1, k) }
        if let b = best, editDistance(b, k) <= 2 { return "; did you mean \"\(b)\"?" }
        return "; allowed keys: " + allowed.joined(separator: ", ")
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node, nil when absent or null.
    func node(_ key: String) -> YAMLNode? {
        guard let n = values[key], !n.isNull else { return nil }
        return n
    }

    func has(_ key: String) -> Bool { node(key) != nil }

    func fail(_ key: String, _ message: String) -> ConfigError {
        let line = values[key]?.line ?? keyNodes[key]?.line ?? node.line
        return ConfigError(file: file, line: line, message: message)
    }

    func string(_ key: String) throws -> String? {
        guard let n = node(key) else { return nil }
        guard let s = n.scalar else { throw fail(key, "\(key) in \(path) must be a string, found a \(n.kindName)") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let s = try string(key) else { return nil }
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw fail(key, "invalid \(key) \"\(s)\" in \(path): expected true or false")
        }
    }

    func int(_ key: String, min: Int = 0) throws -> Int? {
        guard let s = try string(key) else { return nil }
        guard let v = Int(s), v >= min else { throw fail(key, "invalid \(key) \"\(s)\" in \(path): expected an integer >= \(min)") }
        return v
    }

    func duration(_ key: String) throws -> Int64? {
        guard let s = try string(key) else { return nil }
        guard let v = ConfigLoader.parseDuration(s) else {
            throw fail(key, "invalid \(key) \"\(s)\" in \(path): not a duration (use e.g. 15s, 1m30s, 2h)")
        }
        return v
    }

    func stringList(_ key: String) throws -> [String]? {
        guard let n = node(key) else { return nil }
        guard let seq = n.sequence else { throw fail(key, "\(key) in \(path) must be a list, found a \(n.kindName)") }
        return try seq.enumerated().map { (i, item) in
            guard let s = item.scalar else {
                throw ConfigError(file: file, line: item.line, message: "\(key)[\(i)] in \(path) must be a string, found a \(item.kindName)")
            }
            return s
        }
    }

    func list(_ key: String) throws -> [YAMLNode] {
        guard let n = node(key) else { return [] }
        guard let seq = n.sequence else { throw fail(key, "\(key) in \(path) must be a list, found a \(n.kindName)") }
        return seq
    }

    func labels(_ key: String) throws -> Labels? {
        guard let n = node(key) else { return nil }
        guard let m = n.mapping else { throw fail(key, "\(key) in \(path) must be a mapping of label names to values") }
        var pairs: [Label] = []
        for p in m {
            let name = p.key.scalar ?? ""
            guard isValidLabelName(name) else {
                throw ConfigError(file: file, line: p.key.line, message: "\"\(name)\" is not a valid label name in \(child(key)) (use [a-zA-Z_][a-zA-Z0-9_]*)")
            }
            guard let v = p.value.scalar else {
                throw ConfigError(file: file, line: p.value.line, message: "label \(name) in \(child(key)) must have a string value")
            }
            // `~`/null is an absent label, as an empty value is.
            pairs.append(Label(name, p.value.isNull ? "" : v))
        }
        return Labels(pairs)
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    var cur = prev
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}

struct ConfigDecoder {
    let file: String

    func err(_ line: Int, _ message: String) -> ConfigError { ConfigError(file: file, line: line, message: message) }

    mutating func decodeRoot(_ root: YAMLNode) throws -> EdgeConfig {
        let r = try MapReader(root, path: "", file: file,
                              allowed: ["global", "scrape_configs", "remote_write", "node", "pods", "queue",
                                        "rule_files", "alerting", "remote_read", "storage", "tracing"])
        for k in ["rule_files", "alerting", "remote_read"] where r.has(k) {
            throw r.fail(k, "\(k) is not supported by the edge scraper (it only scrapes and forwards, like Prometheus in agent mode); remove it")
        }
        var cfg = EdgeConfig()
        if let g = r.node("global") {
            cfg.global = try decodeGlobal(g)
        }
        var jobs: [String: Int] = [:]
        for (i, n) in try r.list("scrape_configs").enumerated() {
            let sc = try decodeScrape(n, index: i, global: cfg.global)
            if let prev = jobs[sc.jobName] {
                throw err(n.line, "found multiple scrape configs with job name \"\(sc.jobName)\" (scrape_configs[\(prev)] and scrape_configs[\(i)]); job names must be unique")
            }
            jobs[sc.jobName] = i
            cfg.scrapeConfigs.append(sc)
        }
        var names: Set<String> = []
        for (i, n) in try r.list("remote_write").enumerated() {
            let rw = try decodeRemoteWrite(n, index: i)
            if !rw.name.isEmpty && !names.insert(rw.name).inserted {
                throw err(n.line, "found multiple remote write configs with name \"\(rw.name)\"; names must be unique")
            }
            cfg.remoteWrite.append(rw)
        }
        if let n = r.node("node") { cfg.node = try decodeNode(n) }
        if let n = r.node("pods") { cfg.pods = try decodePods(n) }
        if let n = r.node("queue") { cfg.queue = try decodeQueue(n) }
        if cfg.node.enabled, let prev = jobs[cfg.node.jobName] {
            throw err(r.node("node")?.line ?? 1, "node.job_name \"\(cfg.node.jobName)\" is also the job name of scrape_configs[\(prev)]; rename one of them")
        }
        return cfg
    }

    func decodeGlobal(_ n: YAMLNode) throws -> GlobalConfig {
        let r = try MapReader(n, path: "global", file: file,
                              allowed: ["scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels",
                                        "sample_limit", "scrape_protocols"])
        var g = GlobalConfig()
        if let v = try r.duration("scrape_interval") {
            if v == 0 { throw r.fail("scrape_interval", "global scrape_interval must be greater than 0") }
            g.scrapeInterval = v
        }
        if let v = try r.duration("scrape_timeout") {
            if v == 0 { throw r.fail("scrape_timeout", "global scrape_timeout must be greater than 0") }
            g.scrapeTimeout = v
        } else if g.scrapeTimeout > g.scrapeInterval {
            g.scrapeTimeout = g.scrapeInterval
        }
        if g.scrapeTimeout > g.scrapeInterval {
            throw r.fail("scrape_timeout", "global scrape timeout greater than scrape interval; lower scrape_timeout or raise scrape_interval")
        }
        _ = try r.duration("evaluation_interval")
        if r.has("sample_limit") || r.has("scrape_protocols") {
            throw r.fail(r.has("sample_limit") ? "sample_limit" : "scrape_protocols",
                         "this global setting is not supported by the edge scraper; set sample_limit per scrape config")
        }
        if let l = try r.labels("external_labels") {
            if l.contains(where: { $0.name == "__name__" }) {
                throw r.fail("external_labels", "\"__name__\" is not a valid external label name")
            }
            g.externalLabels = l
        }
        return g
    }

    func decodeAuth(_ r: MapReader, allowBasic: Bool = true) throws -> HTTPAuth {
        let present = ["basic_auth", "authorization", "bearer_token", "bearer_token_file"].filter { r.has($0) }
        if present.count > 1 {
            throw r.fail(present[1], "at most one of basic_auth, authorization, bearer_token and bearer_token_file must be configured in \(r.path)")
        }
        if let n = r.node("basic_auth") {
            let b = try MapReader(n, path: r.child("basic_auth"), file: file, allowed: ["username", "password", "password_file", "username_file"])
            if b.has("username_file") { throw b.fail("username_file", "username_file is not supported; use username") }
            if b.has("password") && b.has("password_file") {
                throw b.fail("password_file", "at most one of basic_auth password and password_file must be configured")
            }
            return .basic(username: try b.string("username") ?? "", password: try b.string("password"),
                          passwordFile: try b.string("password_file"))
        }
        if let n = r.node("authorization") {
            let a = try MapReader(n, path: r.child("authorization"), file: file, allowed: ["type", "credentials", "credentials_file"])
            let type = try a.string("type") ?? "Bearer"
            if type.lowercased() == "basic" {
                throw a.fail("type", "authorization type cannot be set to \"basic\", use \"basic_auth\" instead")
            }
            if a.has("credentials") && a.has("credentials_file") {
                throw a.fail("credentials_file", "at most one of authorization credentials & credentials_file must be configured")
            }
            return .bearer(credentials: try a.string("credentials"), credentialsFile: try a.string("credentials_file"), type: type)
        }
        if let t = try r.string("bearer_token") { return .bearer(credentials: t, credentialsFile: nil, type: "Bearer") }
        if let f = try r.string("bearer_token_file") { return .bearer(credentials: nil, credentialsFile: f, type: "Bearer") }
        return .none
    }

    func decodeTLS(_ r: MapReader) throws -> TLSConfig {
        var t = TLSConfig()
        guard let n = r.node("tls_config") else { return t }
        let m = try MapReader(n, path: r.child("tls_config"), file: file,
                              allowed: ["ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version"])
        t.caFile = try m.string("ca_file")
        t.certFile = try m.string("cert_file")
        t.keyFile = try m.string("key_file")
        t.serverName = try m.string("server_name")
        t.insecureSkipVerify = try m.bool("insecure_skip_verify") ?? false
        if let v = try m.string("min_version"), !["TLS10", "TLS11", "TLS12", "TLS13"].contains(v) {
            throw m.fail("min_version", "unknown TLS version \"\(v)\" in \(m.path) (use TLS12 or TLS13)")
        }
        if (t.certFile == nil) != (t.keyFile == nil) {
            throw m.fail(t.certFile == nil ? "key_file" : "cert_file",
                         "client cert file and client key file must be configured together in \(m.path)")
        }
        return t
    }

    func decodeScrape(_ n: YAMLNode, index: Int, global: GlobalConfig) throws -> ScrapeConfig {
        let path = "scrape_configs[\(index)]"
        let r = try MapReader(n, path: path, file: file, allowed: [
            "job_name", "scrape_interval", "scrape_timeout", "metrics_path", "scheme", "params", "honor_labels",
            "honor_timestamps", "basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config",
            "static_configs", "file_sd_configs", "kubernetes_sd_configs", "relabel_configs", "metric_relabel_configs",
            "sample_limit", "follow_redirects", "enable_http2", "body_size_limit", "label_limit", "label_name_length_limit",
            "label_value_length_limit",
        ], unsupported: [
            "target_limit", "oauth2", "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header",
            "azure_sd_configs", "consul_sd_configs", "digitalocean_sd_configs", "docker_sd_configs", "dockerswarm_sd_configs",
            "dns_sd_configs", "ec2_sd_configs", "eureka_sd_configs", "gce_sd_configs", "hetzner_sd_configs", "http_sd_configs",
            "ionos_sd_configs", "kuma_sd_configs", "lightsail_sd_configs", "linode_sd_configs", "marathon_sd_configs",
            "nerve_sd_configs", "nomad_sd_configs", "openstack_sd_configs", "ovhcloud_sd_configs", "puppetdb_sd_configs",
            "scaleway_sd_configs", "serverset_sd_configs", "triton_sd_configs", "uyuni_sd_configs", "vultr_sd_configs",
        ])
        var sc = ScrapeConfig()
        guard let job = try r.string("job_name"), !job.isEmpty else {
            throw err(n.line, "job_name is empty in \(path); every scrape config needs a job_name")
        }
        sc.jobName = job
        sc.scrapeInterval = try r.duration("scrape_interval") ?? global.scrapeInterval
        if sc.scrapeInterval == 0 { throw r.fail("scrape_interval", "scrape_interval must be greater than 0 in \(path)") }
        if let t = try r.duration("scrape_timeout") {
            sc.scrapeTimeout = t
        } else {
            sc.scrapeTimeout = global.scrapeTimeout > sc.scrapeInterval ? sc.scrapeInterval : global.scrapeTimeout
        }
        if sc.scrapeTimeout > sc.scrapeInterval {
            throw r.fail(r.has("scrape_timeout") ? "scrape_timeout" : "scrape_interval",
                         "scrape timeout greater than scrape interval for scrape config with job name \"\(job)\"")
        }
        if let p = try r.string("metrics_path") {
            guard p.hasPrefix("/") else { throw r.fail("metrics_path", "metrics_path \"\(p)\" in \(path) must start with /") }
            sc.metricsPath = p
        }
        if let s = try r.string("scheme") {
            guard s == "http" || s == "https" else {
                throw r.fail("scheme", "invalid scheme \"\(s)\" in \(path): expected http or https")
            }
            sc.scheme = s
        }
        if let pn = r.node("params") {
            guard let m = pn.mapping else { throw r.fail("params", "params in \(path) must be a mapping of names to lists of values") }
            for p in m {
                let name = p.key.scalar ?? ""
                guard let seq = p.value.sequence, seq.allSatisfy({ $0.scalar != nil }) else {
                    throw err(p.value.line, "params.\(name) in \(path) must be a list of strings, e.g. [\"value\"]")
                }
                sc.params[name] = seq.map { $0.scalar! }
            }
        }
        sc.honorLabels = try r.bool("honor_labels") ?? false
        sc.honorTimestamps = try r.bool("honor_timestamps") ?? true
        _ = try r.bool("follow_redirects")
        _ = try r.bool("enable_http2")
        sc.sampleLimit = try r.int("sample_limit") ?? 0
        sc.labelLimit = try r.int("label_limit") ?? 0
        sc.labelNameLengthLimit = try r.int("label_name_length_limit") ?? 0
        sc.labelValueLengthLimit = try r.int("label_value_length_limit") ?? 0
        if let b = try r.string("body_size_limit") {
            guard let v = ConfigLoader.parseSize(b) else {
                throw r.fail("body_size_limit", "invalid body_size_limit \"\(b)\" in \(path): expected a size such as 10MB")
            }
            sc.bodySizeLimit = v
        }
        sc.auth = try decodeAuth(r)
        sc.tls = try decodeTLS(r)
        for (i, s) in try r.list("static_configs").enumerated() {
            let m = try MapReader(s, path: "\(path).static_configs[\(i)]", file: file, allowed: ["targets", "labels"])
            var st = StaticConfig()
            st.targets = try m.stringList("targets") ?? []
            for (k, t) in st.targets.enumerated() where t.isEmpty || t.contains("/") {
                throw m.fail("targets", "invalid target \"\(t)\" in \(m.path).targets[\(k)]: use host:port without scheme or path (set scheme and metrics_path instead)")
            }
            st.labels = try m.labels("labels") ?? Labels()
            sc.staticConfigs.append(st)
        }
        for (i, s) in try r.list("file_sd_configs").enumerated() {
            let m = try MapReader(s, path: "\(path).file_sd_configs[\(i)]", file: file, allowed: ["files", "refresh_interval"])
            var f = FileSDConfig()
            f.files = try m.stringList("files") ?? []
            if f.files.isEmpty { throw err(s.line, "file_sd_configs[\(i)] in \(path) needs at least one entry in files") }
            for pat in f.files {
                let base = pat.split(separator: "/").last.map(String.init) ?? pat
                if !(base.hasSuffix(".json") || base.hasSuffix(".yml") || base.hasSuffix(".yaml")) {
                    throw m.fail("files", "path \"\(pat)\" is not valid for file discovery: file extension must be .json, .yml or .yaml")
                }
            }
            f.refreshInterval = try m.duration("refresh_interval") ?? f.refreshInterval
            sc.fileSDConfigs.append(f)
        }
        for (i, s) in try r.list("kubernetes_sd_configs").enumerated() {
            sc.kubernetesSDConfigs.append(try decodeKubernetesSD(s, path: "\(path).kubernetes_sd_configs[\(i)]"))
        }
        sc.relabelConfigs = try decodeRelabels(r, "relabel_configs")
        sc.metricRelabelConfigs = try decodeRelabels(r, "metric_relabel_configs")
        return sc
    }

    func decodeKubernetesSD(_ n: YAMLNode, path: String) throws -> KubernetesSDConfig {
        let r = try MapReader(n, path: path, file: file, allowed: [
            "role", "api_server", "namespaces", "basic_auth", "authorization", "bearer_token", "bearer_token_file",
            "tls_config", "selectors", "kubeconfig_file", "attach_metadata", "follow_redirects", "enable_http2",
        ])
        var k = KubernetesSDConfig()
        guard let role = try r.string("role") else { throw err(n.line, "role missing in \(path) (use node or pod)") }
        guard let kr = KubernetesRole(rawValue: role) else {
            let known = ["endpoints", "endpointslice", "service", "ingress"].contains(role)
            throw r.fail("role", known ? "kubernetes_sd role \"\(role)\" is not supported by the edge scraper (supported: node, pod)"
                                       : "unknown Kubernetes SD role \"\(role)\" in \(path) (use node or pod)")
        }
        k.role = kr
        for key in ["selectors", "kubeconfig_file", "attach_metadata"] where r.has(key) {
            throw r.fail(key, "\(key) in \(path) is not supported by the edge scraper; remove it")
        }
        if let s = try r.string("api_server") {
            guard s.hasPrefix("http://") || s.hasPrefix("https://") else {
                throw r.fail("api_server", "invalid api_server \"\(s)\" in \(path): expected an http:// or https:// URL")
            }
            k.apiServer = s
        }
        if let nsNode = r.node("namespaces") {
            let m = try MapReader(nsNode, path: "\(path).namespaces", file: file, allowed: ["names", "own_namespace"])
            k.namespaces = try m.stringList("names") ?? []
            if try m.bool("own_namespace") == true { throw m.fail("own_namespace", "own_namespace is not supported; list the namespace in names") }
        }
        k.auth = try decodeAuth(r)
        k.tls = try decodeTLS(r)
        if k.apiServer == nil && (k.auth != .none || k.tls != TLSConfig()) {
            throw err(n.line, "to use custom HTTP client configuration in \(path) please provide the 'api_server' URL explicitly")
        }
        return k
    }

    func decodeRelabels(_ r: MapReader, _ key: String) throws -> [RelabelConfig] {
        var out: [RelabelConfig] = []
        for (i, n) in try r.list(key).enumerated() {
            let path = "\(r.child(key))[\(i)]"
            let m = try MapReader(n, path: path, file: file, allowed: [
                "source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action",
            ])
            var c = RelabelConfig()
            if let sl = try m.stringList("source_labels") {
                for l in sl where !isValidLabelName(l) {
                    throw m.fail("source_labels", "\"\(l)\" is not a valid label name in \(path).source_labels")
                }
                c.sourceLabels = sl
            }
            if let s = m.node("separator")?.scalar { c.separator = s }
            if let s = try m.string("regex") { c.regex = s }
            if let s = try m.string("modulus") {
                guard let v = UInt64(s) else { throw m.fail("modulus", "invalid modulus \"\(s)\" in \(path): expected a positive integer") }
                c.modulus = v
            }
            if let s = try m.string("target_label") { c.targetLabel = s }
            // As in Go's YAML decoding, an explicit null keeps the default "$1".
            if let r = try m.string("replacement") { c.replacement = r }
            if let s = try m.string("action") {
                guard let a = RelabelAction(rawValue: s.lowercased()) else {
                    throw m.fail("action", "unknown relabel action \"\(s)\" in \(path) (use one of: \(RelabelAction.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                c.action = a
            }
            do {
                _ = try RelabelRule(c)
            } catch let e as RelabelError {
                let key = e.message.contains("regular expression") ? "regex" : (m.has("action") ? "action" : "regex")
                throw m.fail(key, "\(e.message) in \(path)")
            }
            out.append(c)
        }
        return out
    }

    func decodeRemoteWrite(_ n: YAMLNode, index: Int) throws -> RemoteWriteConfig {
        let path = "remote_write[\(index)]"
        let r = try MapReader(n, path: path, file: file, allowed: [
            "url", "name", "remote_timeout", "basic_auth", "authorization", "bearer_token", "bearer_token_file",
            "tls_config", "write_relabel_configs", "queue_config", "headers", "metadata_config", "send_exemplars",
            "send_native_histograms", "follow_redirects", "enable_http2",
        ])
        var rw = RemoteWriteConfig()
        guard let url = try r.string("url"), !url.isEmpty else { throw err(n.line, "url is missing in \(path)") }
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.split(separator: "/").count >= 2 else {
            throw r.fail("url", "invalid url \"\(url)\" in \(path): expected http:// or https:// followed by host and path")
        }
        rw.url = url
        rw.name = try r.string("name") ?? ""
        rw.remoteTimeout = try r.duration("remote_timeout") ?? rw.remoteTimeout
        for key in ["headers", "metadata_config"] where r.has(key) {
            throw r.fail(key, "\(key) in \(path) is not supported by the edge scraper; remove it")
        }
        _ = try r.bool("send_exemplars")
        _ = try r.bool("send_native_histograms")
        _ = try r.bool("follow_redirects")
        _ = try r.bool("enable_http2")
        rw.auth = try decodeAuth(r)
        rw.tls = try decodeTLS(r)
        rw.writeRelabelConfigs = try decodeRelabels(r, "write_relabel_configs")
        if let q = r.node("queue_config") {
            let m = try MapReader(q, path: "\(path).queue_config", file: file, allowed: [
                "capacity", "max_shards", "min_shards", "max_samples_per_send", "batch_send_deadline", "min_backoff",
                "max_backoff", "retry_on_http_429", "sample_age_limit",
            ])
            var qc = QueueConfigSection()
            qc.capacity = try m.int("capacity", min: 1) ?? qc.capacity
            qc.maxShards = try m.int("max_shards", min: 1) ?? qc.maxShards
            qc.minShards = try m.int("min_shards", min: 1) ?? qc.minShards
            qc.maxSamplesPerSend = try m.int("max_samples_per_send", min: 1) ?? qc.maxSamplesPerSend
            qc.batchSendDeadline = try m.duration("batch_send_deadline") ?? qc.batchSendDeadline
            qc.minBackoff = try m.duration("min_backoff") ?? qc.minBackoff
            qc.maxBackoff = try m.duration("max_backoff") ?? qc.maxBackoff
            qc.retryOnHTTP429 = try m.bool("retry_on_http_429") ?? qc.retryOnHTTP429
            _ = try m.duration("sample_age_limit")
            if qc.minShards > qc.maxShards {
                throw m.fail("min_shards", "min_shards (\(qc.minShards)) is greater than max_shards (\(qc.maxShards)) in \(m.path)")
            }
            if qc.minBackoff > qc.maxBackoff {
                throw m.fail("min_backoff", "min_backoff is greater than max_backoff in \(m.path)")
            }
            rw.queueConfig = qc
        }
        return rw
    }

    func decodeNode(_ n: YAMLNode) throws -> NodeConfig {
        let r = try MapReader(n, path: "node", file: file,
                              allowed: ["enabled", "job_name", "interval", "proc_path", "sys_path", "rootfs_path"])
        var c = NodeConfig()
        c.enabled = try r.bool("enabled") ?? c.enabled
        if let j = try r.string("job_name") {
            guard !j.isEmpty else { throw r.fail("job_name", "node.job_name must not be empty") }
            c.jobName = j
        }
        if let i = try r.duration("interval") {
            guard i > 0 else { throw r.fail("interval", "node.interval must be greater than 0") }
            c.interval = i
        }
        c.procPath = try r.string("proc_path") ?? c.procPath
        c.sysPath = try r.string("sys_path") ?? c.sysPath
        c.rootfsPath = try r.string("rootfs_path") ?? c.rootfsPath
        return c
    }

    func decodePods(_ n: YAMLNode) throws -> PodsConfig {
        let r = try MapReader(n, path: "pods", file: file, allowed: ["enabled", "kubelet", "cgroup_root", "interval", "annotated"])
        var c = PodsConfig()
        c.enabled = try r.bool("enabled") ?? c.enabled
        c.annotated = try r.bool("annotated") ?? c.annotated
        if let i = try r.duration("interval") {
            guard i > 0 else { throw r.fail("interval", "pods.interval must be greater than 0") }
            c.interval = i
        }
        if let root = r.node("cgroup_root") {
            c.cgroupRoot = root.scalar
        } else if n["cgroup_root"] != nil {
            c.cgroupRoot = nil
        }
        if let k = r.node("kubelet") {
            let m = try MapReader(k, path: "pods.kubelet", file: file, allowed: [
                "enabled", "url", "authorization", "bearer_token", "bearer_token_file", "basic_auth", "tls_config",
            ])
            var kc = KubeletConfig()
            kc.enabled = try m.bool("enabled") ?? true
            if let u = try m.string("url") {
                guard u.hasPrefix("http://") || u.hasPrefix("https://") else {
                    throw m.fail("url", "invalid pods.kubelet.url \"\(u)\": expected an http:// or https:// URL")
                }
                kc.url = u
            }
            kc.auth = try decodeAuth(m)
            kc.tls = try decodeTLS(m)
            c.kubelet = kc
        }
        return c
    }

    func decodeQueue(_ n: YAMLNode) throws -> QueueConfig {
        let r = try MapReader(n, path: "queue", file: file, allowed: ["dir", "max_bytes"])
        var q = QueueConfig()
        if let d = try r.string("dir") {
            guard !d.isEmpty else { throw r.fail("dir", "queue.dir must not be empty") }
            q.dir = d
        }
        if let s = try r.string("max_bytes") {
            guard let v = ConfigLoader.parseSize(s), v > 0 else {
                throw r.fail("max_bytes", "invalid queue.max_bytes \"\(s)\": expected a size such as 512MiB or 1GB")
            }
            q.maxBytes = v
        }
        return q
    }
}
