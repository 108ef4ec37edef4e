import Logging
import RemoteWrite
import Storage

/// Runs every scrape: one pool per scrape config plus the built-in node and pod collectors.
/// Reloads keep pools whose configuration did not change, so their series continue without
/// gaps; removed jobs and targets end their series with stale markers.
public actor ScrapeManager {
    private var config: EdgeConfig
    private let transport: any HTTPTransport
    private let sink: any SampleSink
    private let logger: Logger
    private var pools: [String: ScrapePool] = [:]
    private var poolConfigs: [String: PoolSpec] = [:]
    /// Pools of removed jobs whose loops are still writing stale markers.
    private var retired: [ScrapePool] = []
    private var running = false

    public init(config: EdgeConfig, transport: any HTTPTransport, sink: any SampleSink, logger: Logger) {
        self.config = config
        self.transport = transport
        self.sink = sink
        self.logger = logger
    }

    /// Scrapes until the calling task is cancelled; then stops every loop without stale
    /// markers (a restart should continue the series, as with Prometheus' shutdown).
    public func run() async {
        running = true
        await sync(to: config)
        while !Task.isCancelled {
            do { try await Task.sleep(nanoseconds: 3_600_000_000_000) } catch { break }
        }
        running = false
        for (_, p) in pools { await p.stop(removed: false) }
        for p in retired { await p.stop(removed: false) }
        retired.removeAll()
        pools.removeAll()
        poolConfigs.removeAll()
    }

    /// Applies a new (already validated) configuration.
    public func apply(_ newConfig: EdgeConfig) async {
        config = newConfig
        if running { await sync(to: newConfig) }
    }

    public func targetStatus() async -> [TargetStatus] {
        var out: [TargetStatus] = []
        for name in pools.keys.sorted() { out += await pools[name]!.statuses() }
        return out
    }

    /// Per-target scrape counters in Prometheus text format, for the agent's own /metrics.
    public func targetMetricsText() async -> [UInt8] {
        let status = await targetStatus()
        var w = MetricWriter()
        func each(_ name: String, _ type: String, _ help: String, _ value: (TargetStatus) -> Double) {
            w.family(name, type, help)
            for t in status {
                w.sample(name, [("job", t.job), ("instance", t.labels["instance"] ?? t.url)], value(t))
            }
        }
        each("edge_scraper_target_up", "gauge", "Whether the last scrape of the target succeeded (0 before the first scrape).") { $0.health == .up ? 1 : 0 }
        each("edge_scraper_target_scrapes_total", "counter", "Scrapes of the target.") { Double($0.scrapes) }
        each("edge_scraper_target_scrape_failures_total", "counter", "Failed scrapes of the target.") { Double($0.failures) }
        each("edge_scraper_target_samples_scraped_total", "counter", "Samples parsed from the target's expositions.") { Double($0.samplesScraped) }
        each("edge_scraper_target_samples_post_relabel_total", "counter", "Samples kept after metric relabeling.") { Double($0.samplesPostRelabel) }
        each("edge_scraper_target_last_scrape_duration_seconds", "gauge", "Duration of the target's last scrape.") { $0.lastDurationSeconds }
        return w.bytes
    }

    /// Targets that discovery found but relabeling dropped, by job.
    public func droppedTargets() async -> [String: Int] {
        var out: [String: Int] = [:]
        for (name, p) in pools { out[name] = await p.droppedCount }
        return out
    }

    struct PoolSpec: Equatable {
        var scrape: ScrapeConfig
        var external: Labels
        var builtin: String?
        var node: NodeConfig?
        var pods: PodsConfig?
    }

    private func specs(for cfg: EdgeConfig) -> [String: PoolSpec] {
        var out: [String: PoolSpec] = [:]
        for sc in cfg.scrapeConfigs {
            out[sc.jobName] = PoolSpec(scrape: sc, external: cfg.global.externalLabels)
        }
        for (name, spec) in BuiltinTargets.specs(cfg) where out[name] == nil { out[name] = spec }
        return out
    }

    private func sync(to cfg: EdgeConfig) async {
        let wanted = specs(for: cfg)
        for (name, pool) in pools where wanted[name] != poolConfigs[name] {
            if let spec = wanted[name], spec.builtin == nil, poolConfigs[name]?.builtin == nil {
                // A changed job keeps its loops' staleness state; targets that discovery no
                // longer yields end with stale markers at the next update.
                do {
                    try await pool.reload(spec, providers: providers(spec))
                    poolConfigs[name] = spec
                    continue
                } catch {
                    logger.error("cannot reload scrape pool, restarting it", metadata: ["job": "\(name)", "error": "\(error)"])
                }
            }
            // A removed job ends its series.
            let removed = wanted[name] == nil
            await pool.stop(removed: removed)
            if removed { retired.append(pool) }
            pools[name] = nil
            poolConfigs[name] = nil
        }
        let seed = offsetSeed(cfg.global.externalLabels)
        for (name, spec) in wanted.sorted(by: { $0.key < $1.key }) where pools[name] == nil {
            do {
                let pool = try ScrapePool(spec: spec, transport: transport, sink: sink, logger: logger, offsetSeed: seed)
                pools[name] = pool
                poolConfigs[name] = spec
                await pool.start(providers: providers(spec))
            } catch {
                logger.error("cannot start scrape pool", metadata: ["job": "\(name)", "error": "\(error)"])
            }
        }
    }

    private func providers(_ spec: PoolSpec) -> [any DiscoveryProvider] {
        if spec.builtin != nil { return [] }
        var out: [any DiscoveryProvider] = []
        let sc = spec.scrape
        if !sc.staticConfigs.isEmpty { out.append(StaticDiscovery(sc.staticConfigs, job: sc.jobName)) }
        for f in sc.fileSDConfigs { out.append(FileDiscovery(f, logger: logger)) }
        for k in sc.kubernetesSDConfigs { out.append(KubernetesDiscovery(k, transport: transport, logger: logger)) }
        return out
    }

    private func offsetSeed(_ external: Labels) -> UInt64 {
        var f = FNV1a()
        for l in external { f.add(l.name); f.add(l.value) }
        f.add(FileIO.hostname())
        return f.value
    }
}

/// Loops of one job: discovery results in, one scrape loop per distinct target out.
actor ScrapePool {
    private(set) var spec: ScrapeManager.PoolSpec
    private var rules: [RelabelRule]
    private var metricRules: [RelabelRule]
    let transport: any HTTPTransport
    let sink: any SampleSink
    let logger: Logger
    let offsetSeed: UInt64
    private var groups: [Int: [TargetGroup]] = [:]
    private var loops: [ScrapeTarget: (loop: ScrapeLoop, task: Task<Void, Never>)] = [:]
    private var discoveryTasks: [Task<Void, Never>] = []
    /// Loops of removed targets that are still to write their stale markers.
    private var retiring: [Task<Void, Never>] = []
    private(set) var droppedCount = 0
    private var stopped = false

    init(spec: ScrapeManager.PoolSpec, transport: any HTTPTransport, sink: any SampleSink, logger: Logger, offsetSeed: UInt64) throws {
        self.spec = spec
        self.rules = try Relabel.compile(spec.scrape.relabelConfigs)
        self.metricRules = try Relabel.compile(spec.scrape.metricRelabelConfigs)
        self.transport = transport
        self.sink = sink
        self.logger = logger
        self.offsetSeed = offsetSeed
    }

    func start(providers: [any DiscoveryProvider]) {
        if let builtin = spec.builtin {
            let (targets, background) = BuiltinTargets.targets(builtin, spec: spec, transport: transport, logger: logger)
            setTargets(targets)
            if let job = background { discoveryTasks.append(Task { await job() }) }
            return
        }
        for (i, p) in providers.enumerated() {
            discoveryTasks.append(Task { [weak self] in
                guard let pool = self else { return }
                await p.run { [weak pool] groups in await pool?.update(i, groups) }
            })
        }
    }

    func reload(_ newSpec: ScrapeManager.PoolSpec, providers: [any DiscoveryProvider]) async throws {
        let newRules = try Relabel.compile(newSpec.scrape.relabelConfigs)
        let newMetricRules = try Relabel.compile(newSpec.scrape.metricRelabelConfigs)
        for t in discoveryTasks { t.cancel() }
        discoveryTasks.removeAll()
        groups.removeAll()
        spec = newSpec
        rules = newRules
        metricRules = newMetricRules
        for (t, entry) in loops {
            entry.task.cancel()
            await entry.task.value
            let loop = makeLoop(t)
            loop.inheritStaleness(from: entry.loop)
            loops[t] = (loop, Task { await loop.run() })
        }
        start(providers: providers)
    }

    private func makeLoop(_ t: ScrapeTarget) -> ScrapeLoop {
        ScrapeLoop(target: t, config: spec.scrape, metricRules: metricRules, externalLabels: spec.external,
                   transport: transport, sink: sink, logger: logger, offsetSeed: offsetSeed)
    }

    func update(_ provider: Int, _ g: [TargetGroup]) {
        guard !stopped else { return }
        groups[provider] = g
        let all = groups.keys.sorted().flatMap { groups[$0]! }
        let (targets, dropped, errors) = TargetBuilder.targets(from: all, config: spec.scrape, rules: rules)
        for e in errors { logger.warning("invalid target", metadata: ["job": "\(spec.scrape.jobName)", "error": "\(e)"]) }
        droppedCount = dropped
        setTargets(targets)
    }

    private func setTargets(_ targets: [ScrapeTarget]) {
        let wanted = Set(targets)
        for (t, entry) in loops where !wanted.contains(t) {
            // The loop ends itself at its next tick and writes stale markers a little later.
            entry.loop.markRemoved()
            retiring.append(entry.task)
            loops[t] = nil
        }
        for t in targets where loops[t] == nil {
            let loop = makeLoop(t)
            loops[t] = (loop, Task { await loop.run() })
        }
    }

    /// `removed`: the job went away, so its loops end their series with stale markers on
    /// their own schedule; otherwise (shutdown, restart) they stop at once without markers.
    func stop(removed: Bool) async {
        stopped = true
        for t in discoveryTasks { t.cancel() }
        if removed {
            for (_, entry) in loops {
                entry.loop.markRemoved()
                retiring.append(entry.task)
            }
            loops.removeAll()
            return
        }
        for (_, entry) in loops { entry.task.cancel() }
        for t in retiring { t.cancel() }
        for (_, entry) in loops { await entry.task.value }
        for t in retiring { await t.value }
        loops.removeAll()
        retiring.removeAll()
    }

    func statuses() -> [TargetStatus] {
        loops.values.map { $0.loop.status }.sorted { $0.url < $1.url }
    }
}
