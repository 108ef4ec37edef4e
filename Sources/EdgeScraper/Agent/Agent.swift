import DurableIO
import Glibc
import Logging
import Storage
import UnixSignals

/// The edge scraper process: config → ScrapeManager → DeliverySink → one DiskQueue and
/// RemoteWriter per `remote_write` endpoint, plus the own HTTP endpoint. SIGHUP and
/// `POST /-/reload` reload the config; a config that does not load or apply keeps the old
/// one running. SIGTERM/SIGINT stop scraping, stop the senders and sync the queues.
public actor Agent {
    public let configPath: String
    public let listen: String
    private let logger: Logger
    public let registry = MetricsRegistry()
    // Enough idle keep-alive connections for every shard of a few endpoints plus the scrapes.
    private let transport = NIOHTTPTransport(maxIdlePerHost: 32)
    private let sink: DeliverySink
    private var config: EdgeConfig
    private var manager: ScrapeManager?
    private var managerTask: Task<Void, Never>?
    private var writers: [String: Writer] = [:]
    private var server: HTTPServer?
    private var ready = false
    private let reloadOK: Gauge
    private let reloadTime: Gauge
    private let startTime = Double(DeliveryClock.nowMillis()) / 1000

    struct Writer {
        var config: RemoteWriteConfig
        var queueConfig: QueueConfig
        var queue: DiskQueue
        var writer: RemoteWriter
        var task: Task<Void, Never>
    }

    /// Loads the config; a bad config fails here, before anything starts.
    public init(configPath: String, listen: String, logger: Logger) throws {
        self.configPath = configPath
        self.listen = listen
        self.logger = logger
        config = try ConfigLoader.load(path: configPath)
        sink = DeliverySink(registry: registry)
        reloadOK = registry.gauge("edge_scraper_config_last_reload_successful", "Whether the last configuration reload succeeded.")
        reloadTime = registry.gauge("edge_scraper_config_last_reload_success_timestamp_seconds", "Time of the last successful configuration load.")
        registry.gauge("edge_scraper_build_info", "Build information.", [("version", EdgeScraperVersion.current)]).set(1)
    }

    /// Runs until SIGTERM or SIGINT; SIGHUP reloads the config meanwhile. Signals arrive through
    /// swift-service-lifecycle's UnixSignals (Dispatch sources, no Foundation).
    public func run() async throws {
        try await start()
        var stopped = "stop"
        for await sig in await UnixSignalsSequence(trapping: .sighup, .sigterm, .sigint) {
            if sig == .sighup {
                // Not awaited here: a SIGTERM during a slow reload is still taken at once.
                Task { [weak self] in await self?.reload() }
                continue
            }
            stopped = sig == .sigint ? "SIGINT" : "SIGTERM"
            break
        }
        logger.info("edge-scraper: received \(stopped); shutting down")
        await shutdown()
    }

    /// Starts the server, the senders and the scrape manager.
    public func start() async throws {
        server = try await HTTPServer.start(listen: listen) { [weak self] req in
            guard let self else { return .text(503, "shutting down\n") }
            return await self.handle(req)
        }
        try await applyDelivery(config)
        let m = ScrapeManager(config: config, transport: transport, sink: sink, logger: logger)
        manager = m
        managerTask = Task { await m.run() }
        reloadOK.set(1)
        reloadTime.set(Double(DeliveryClock.nowMillis()) / 1000)
        ready = true
        logger.info("edge-scraper: started", metadata: [
            "config": "\(configPath)", "listen": "\(listen)", "remote_write": "\(config.remoteWrite.map(\.url))",
            "queue": "\(config.queue.dir)"])
    }

    public func shutdown() async {
        ready = false
        managerTask?.cancel()
        await managerTask?.value
        managerTask = nil
        // Like Prometheus' flush deadline: deliver what was scraped if the receiver is there,
        // but do not hang on a dead one (the queue keeps the rest for the next start).
        await withTaskGroup(of: Void.self) { g in
            for (id, w) in writers {
                g.addTask {
                    if !(await w.writer.drain(timeout: .seconds(5))) {
                        self.logger.info("edge-scraper: \(id): unsent samples stay queued for the next start")
                    }
                }
            }
        }
        for (_, w) in writers { w.task.cancel() }
        for (_, w) in writers {
            await w.task.value
            await w.queue.close()
        }
        writers = [:]
        await server?.stop()
        server = nil
        await transport.shutdown()
    }

    /// Re-reads the config file; on any error the running config stays and the error is returned.
    @discardableResult
    public func reload() async -> String? {
        let new: EdgeConfig
        do {
            new = try ConfigLoader.load(path: configPath)
        } catch {
            reloadOK.set(0)
            logger.error("edge-scraper: reload failed, keeping the running configuration: \(error)")
            return "\(error)"
        }
        do {
            try await applyDelivery(new)
        } catch {
            reloadOK.set(0)
            logger.error("edge-scraper: reload failed, keeping the running configuration: \(error)")
            return "\(error)"
        }
        await manager?.apply(new)
        config = new
        reloadOK.set(1)
        reloadTime.set(Double(DeliveryClock.nowMillis()) / 1000)
        logger.info("edge-scraper: configuration reloaded", metadata: ["config": "\(configPath)"])
        return nil
    }

    /// Opens queues and starts senders for the config's endpoints, keeping those whose
    /// settings did not change. Everything that can fail is done before anything is replaced.
    private func applyDelivery(_ new: EdgeConfig) async throws {
        var rules: [String: [RelabelRule]] = [:]
        var wanted: [(id: String, rw: RemoteWriteConfig)] = []
        for rw in new.remoteWrite {
            let id = Agent.endpointID(rw)
            guard !wanted.contains(where: { $0.id == id }) else {
                throw QueueError("two remote_write entries map to queue \"\(id)\"; give them distinct `name`s")
            }
            rules[id] = try Relabel.compile(rw.writeRelabelConfigs)
            wanted.append((id, rw))
        }
        var opened: [String: DiskQueue] = [:]
        for (id, rw) in wanted {
            if let w = writers[id] {
                // Two queue instances on one directory would fight over its cursor; a changed
                // `queue:` section therefore applies to running endpoints after a restart.
                if w.queueConfig != new.queue {
                    logger.warning("edge-scraper: the queue section changed; running endpoint \(id) keeps its queue until restart")
                }
                continue
            }
            do {
                opened[id] = try DiskQueue(dir: new.queue.dir + "/" + id, maxBytes: new.queue.maxBytes,
                                           maxSamplesPerRecord: max(rw.queueConfig.maxSamplesPerSend, 1),
                                           logger: logger, metrics: QueueMetrics(registry: registry, remote: id))
            } catch {
                for (_, q) in opened { await q.close() }
                throw error
            }
        }
        // Point the sink at the new set first so no sample goes to a queue being closed.
        var endpoints: [DeliverySink.Endpoint] = []
        for (id, _) in wanted {
            endpoints.append(.init(id: id, rules: rules[id]!, queue: opened[id] ?? writers[id]!.queue))
        }
        sink.setEndpoints(endpoints)
        if endpoints.isEmpty {
            logger.warning("edge-scraper: no remote_write configured; scraped samples are counted and discarded")
        }
        var next: [String: Writer] = [:]
        for (id, rw) in wanted {
            if let w = writers[id], w.config == rw {
                next[id] = w
                continue
            }
            let queue = opened[id] ?? writers[id]!.queue
            let queueConfig = writers[id]?.queueConfig ?? new.queue
            if let old = writers[id] {
                old.task.cancel()
                await old.task.value
            }
            let writer = RemoteWriter(config: rw, queue: queue, transport: transport,
                                      logger: logger, metrics: RemoteWriteMetrics(registry: registry, remote: id),
                                      metadataSource: { [sink = self.sink] in sink.metadataSnapshot() })
            next[id] = Writer(config: rw, queueConfig: queueConfig, queue: queue, writer: writer, task: Task { await writer.run() })
        }
        for (id, w) in writers where next[id] == nil {
            w.task.cancel()
            await w.task.value
            await w.queue.close()
            logger.info("edge-scraper: remote_write \(id) removed; its unsent samples stay in \(w.queue.dir)")
        }
        writers = next
    }

    /// The queue directory name of an endpoint: its `name`, else a hash of its URL.
    static func endpointID(_ rw: RemoteWriteConfig) -> String {
        if !rw.name.isEmpty {
            return String(rw.name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        }
        var h: UInt64 = 14_695_981_039_346_656_037
        for b in rw.url.utf8 { h = (h ^ UInt64(b)) &* 1_099_511_628_211 }
        let hex = String(h, radix: 16)
        return "rw-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: own endpoints

    func handle(_ req: ServerRequest) async -> ServerResponse {
        switch (req.method, req.path) {
        case ("GET", "/metrics"), ("HEAD", "/metrics"):
            return .text(200, registry.render() + (await targetMetrics()) + processMetrics(),
                         contentType: "text/plain; version=0.0.4; charset=utf-8")
        case ("GET", "/-/healthy"), ("HEAD", "/-/healthy"):
            return .text(200, "Edge scraper is Healthy.\n")
        case ("GET", "/-/ready"), ("HEAD", "/-/ready"):
            return ready ? .text(200, "Edge scraper is Ready.\n") : .text(503, "Service Unavailable\n")
        case ("POST", "/-/reload"), ("PUT", "/-/reload"):
            if let err = await reload() { return .text(500, "failed to reload config: \(err)\n") }
            return .text(200, "")
        case (_, "/-/reload"):
            return .text(405, "use POST to reload the configuration\n")
        case ("GET", "/"):
            return .text(200, "edge-scraper \(EdgeScraperVersion.current): see /metrics, /-/healthy, /-/ready, POST /-/reload\n")
        default:
            return .text(404, "404 page not found\n")
        }
    }

    /// Targets by job and health, from the scrape side's view at this moment.
    private func targetMetrics() async -> String {
        guard let statuses = await manager?.targetStatus() else { return "" }
        var counts: [String: [String: Int]] = [:]
        for t in statuses { counts[t.job, default: [:]][t.health.rawValue, default: 0] += 1 }
        var out = "# HELP edge_scraper_targets Scrape targets by job and health.\n# TYPE edge_scraper_targets gauge\n"
        for job in counts.keys.sorted() {
            for health in ["up", "down", "unknown"] {
                out += "edge_scraper_targets{health=\"\(health)\",job=\"\(escapeLabelValue(job))\"} \(counts[job]![health] ?? 0)\n"
            }
        }
        return out
    }

    private func processMetrics() -> String {
        var out = ""
        var ru = rusage()
        if getrusage(Int32(RUSAGE_SELF.rawValue), &ru) == 0 {
            let cpu = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6 + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
            out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \(cpu)\n"
        }
        if let statm = try? readSecret("/proc/self/statm"), let rssPages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            let rss = rssPages * Int(sysconf(Int32(_SC_PAGESIZE)))
            out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes \(rss)\n"
        }
        out += "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds \(startTime)\n"
        return out
    }
}
