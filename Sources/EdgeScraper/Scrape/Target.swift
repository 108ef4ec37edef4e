import Storage

/// A set of targets from one discovery source, as Prometheus' `targetgroup.Group`.
public struct TargetGroup: Sendable, Equatable {
    public var source: String
    /// Each target's own labels; `__address__` is required.
    public var targets: [Labels]
    /// Labels common to all targets of the group; a target's own labels win.
    public var labels: Labels

    public init(source: String, targets: [Labels], labels: Labels = Labels()) {
        self.source = source
        self.targets = targets
        self.labels = labels
    }
}

/// Something scraped in-process instead of over HTTP (the built-in node and pod collectors).
public protocol LocalCollector: Sendable {
    /// One scrape as Prometheus text exposition.
    func collect() throws -> [UInt8]
}

/// A target after relabeling: what a scrape loop needs.
public struct ScrapeTarget: Sendable, Hashable, CustomStringConvertible {
    /// All labels after relabeling including `__address__`, `__scheme__`, `__metrics_path__`, `__param_*`.
    public var labels: Labels
    /// What discovery gave, before relabeling.
    public var discoveredLabels: Labels
    public var url: String
    public var interval: Int64
    public var timeout: Int64
    public var local: (any LocalCollector)?

    /// Labels attached to every scraped series: everything not starting with `__`.
    public var seriesLabels: Labels { Labels(sortedUnchecked: labels.pairs.filter { !$0.name.hasPrefix("__") }) }

    public var description: String { url }

    public static func == (a: ScrapeTarget, b: ScrapeTarget) -> Bool {
        a.labels == b.labels && a.url == b.url && a.interval == b.interval && a.timeout == b.timeout
    }

    public func hash(into h: inout Hasher) {
        h.combine(labels)
        h.combine(url)
    }

    /// FNV-1a over labels and URL: stable across restarts, used for the scrape offset.
    public var stableHash: UInt64 {
        var f = FNV1a()
        for l in labels { f.add(l.name); f.add(l.value) }
        f.add(url)
        return f.value
    }
}

struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add<C: Collection>(bytes: C) where C.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    }
    mutating func add(_ s: String) { add(bytes: s.utf8); add(bytes: CollectionOfOne(UInt8(0xFF))) }
}

public struct TargetError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

public enum TargetBuilder {
    /// Prometheus' `PopulateLabels`: scrape defaults, relabel, address checks, meta labels
    /// dropped, `instance` defaulted. nil when relabeling dropped the target.
    public static func populate(_ discovered: Labels, config: ScrapeConfig, rules: [RelabelRule]) throws -> ScrapeTarget? {
        var lb = LabelBuilder(discovered)
        let defaults: [(String, String)] = [
            ("job", config.jobName),
            ("__scrape_interval__", formatDuration(config.scrapeInterval)),
            ("__scrape_timeout__", formatDuration(config.scrapeTimeout)),
            ("__metrics_path__", config.metricsPath),
            ("__scheme__", config.scheme),
        ]
        for (k, v) in defaults where lb.get(k).isEmpty { lb.set(k, v) }
        for (k, vs) in config.params.sorted(by: { $0.key < $1.key }) {
            if let first = vs.first, lb.get("__param_" + k).isEmpty { lb.set("__param_" + k, first) }
        }
        let preRelabel = lb.labels
        guard Relabel.process(&lb, rules) else { return nil }

        var addr = lb.get("__address__")
        guard !addr.isEmpty else { throw TargetError(message: "no address") }
        let scheme = lb.get("__scheme__")
        if !hasPort(addr) {
            addr += scheme == "https" ? ":443" : ":80"
            lb.set("__address__", addr)
        }
        if addr.contains("/") { throw TargetError(message: "\"\(addr)\" is not a valid hostname") }

        guard let interval = ConfigLoader.parseDuration(lb.get("__scrape_interval__")), interval > 0 else {
            throw TargetError(message: "error parsing scrape interval \"\(lb.get("__scrape_interval__"))\"")
        }
        guard let timeout = ConfigLoader.parseDuration(lb.get("__scrape_timeout__")), timeout > 0 else {
            throw TargetError(message: "error parsing scrape timeout \"\(lb.get("__scrape_timeout__"))\"")
        }
        if timeout > interval {
            throw TargetError(message: "scrape timeout cannot be greater than scrape interval (\"\(formatDuration(timeout))\" > \"\(formatDuration(interval))\")")
        }
        for l in lb.pairs where l.name.hasPrefix("__meta_") { lb.del(l.name) }
        if lb.get("instance").isEmpty { lb.set("instance", addr) }
        let labels = lb.labels

        var params: [String: [String]] = config.params
        for l in labels where l.name.hasPrefix("__param_") {
            let k = String(l.name.dropFirst("__param_".count))
            if var vs = params[k], !vs.isEmpty { vs[0] = l.value; params[k] = vs } else { params[k] = [l.value] }
        }
        var url = "\(scheme.isEmpty ? "http" : scheme)://\(addr)\(labels["__metrics_path__"] ?? "")"
        if !params.isEmpty {
            var parts: [String] = []
            for k in params.keys.sorted() {
                for v in params[k]! { parts.append(queryEscape(k) + "=" + queryEscape(v)) }
            }
            url += "?" + parts.joined(separator: "&")
        }
        return ScrapeTarget(labels: labels, discoveredLabels: preRelabel, url: url, interval: interval, timeout: timeout)
    }

    /// All targets of the groups, deduplicated (first occurrence wins), plus per-target errors.
    public static func targets(from groups: [TargetGroup], config: ScrapeConfig, rules: [RelabelRule])
        -> (targets: [ScrapeTarget], dropped: Int, errors: [String]) {
        var out: [ScrapeTarget] = []
        var seen: Set<ScrapeTarget> = []
        var dropped = 0
        var errors: [String] = []
        for g in groups {
            for t in g.targets {
                var merged = LabelBuilder(g.labels)
                for l in t { merged.set(l.name, l.value) }
                do {
                    if let target = try populate(merged.labels, config: config, rules: rules) {
                        if seen.insert(target).inserted { out.append(target) }
                    } else {
                        dropped += 1
                    }
                } catch {
                    errors.append("instance \(t["__address__"] ?? "?") in group \(g.source): \(error)")
                }
            }
        }
        return (out, dropped, errors)
    }

    /// Whether Prometheus would leave the address alone: it has a port, or (a bare IPv6
    /// address with several colons) appending one would not make it valid either.
    static func hasPort(_ addr: String) -> Bool {
        if addr.hasPrefix("[") { return addr.contains("]:") }
        return addr.utf8.contains(UInt8(ascii: ":"))
    }

    /// Prometheus' duration rendering (`1m30s`, `15s`, `500ms`).
    public static func formatDuration(_ ms: Int64) -> String { formatDurationMillis(ms) }

    static func queryEscape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            case UInt8(ascii: " "): out.append("+")
            default:
                let hex = Array("0123456789ABCDEF")
                out.append("%"); out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
            }
        }
        return out
    }
}

public func formatDurationMillis(_ ms: Int64) -> String {
    if ms == 0 { return "0s" }
    var r = ms
    var out = ""
    let units: [(String, Int64)] = [("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
                                    ("m", 60_000), ("s", 1000), ("ms", 1)]
    for (u, v) in units where r >= v {
        out += "\(r / v)\(u)"
        r %= v
    }
    return out
}
