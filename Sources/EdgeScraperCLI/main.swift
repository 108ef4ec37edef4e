import ArgumentParser
import EdgeScraper
import Logging

// Wiring only: argument parsing, logging setup, then EdgeScraper's Agent or FleetSimulator.

struct EdgeScraperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-scraper",
        abstract: "Scrapes an edge cluster and delivers every sample to a remote-write endpoint through an on-disk queue.",
        version: EdgeScraperVersion.current,
        subcommands: [Run.self, Simulate.self, Check.self],
        defaultSubcommand: Run.self)
}

struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func bootstrap() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the edge scraper (the default): edge-scraper --config FILE [--listen 127.0.0.1:9491].")

    @Option(name: .long, help: "Prometheus-style YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Address for /metrics, /-/healthy, /-/ready and POST /-/reload.")
    var listen: String = "127.0.0.1:9491"

    @OptionGroup var log: LogOptions

    func run() async throws {
        try log.bootstrap()
        let logger = Logger(label: "edge-scraper")
        let agent: Agent
        do {
            agent = try Agent(configPath: config, listen: listen, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        // Once start-up is behind it (configuration, first scrapes and sends), the pages only
        // start-up used go back to the page cache (StartupPages says which and why).
        StartupPages.releaseAfter(seconds: 30)
        try await agent.run()
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a fleet of edge clusters with realistic node, pod and kube-state series against a remote-write URL.")

    @Option(help: "Number of simulated clusters.") var clusters: Int = 10
    @Option(help: "Approximate series per cluster.") var seriesPerCluster: Int = 500
    @Option(help: "Remote-write URL, e.g. http://127.0.0.1:9490/api/v1/write.") var remoteWrite: String
    @Option(help: "Scrape interval of every cluster.") var interval: String = "15s"
    @Option(help: "How long to run; 0 runs until interrupted.") var duration: String = "60s"
    @Option(help: "Also send this much history at the interval (e.g. 1h), beside the live samples.") var backfill: String = "0"
    @Flag(help: "Send the whole backfill before the first live sample, each series in time order (for receivers that refuse out-of-order samples).") var backfillBeforeLive = false
    @Option(help: "File with `cluster token` lines, or one token for every cluster.") var tokenFile: String?
    @Option(help: "Comma-separated regions, assigned round-robin.") var regions: String = "eu-west,eu-central,us-east,us-west,ap-south"
    @Option(help: "Share of clusters that fail now and then (go silent or report up=0).") var failFraction: Double = 0.05
    @Option(help: "Seed; the same seed plays the same fleet.") var seed: UInt64 = 1
    @Option(help: "Requests in flight at most.") var concurrency: Int = 64
    @Option(help: "CA certificate (PEM) to verify an https remote-write URL.") var caFile: String?
    @Flag(help: "Do not verify the https server's certificate (testing only).") var insecureSkipVerify = false
    @OptionGroup var log: LogOptions

    func run() async throws {
        try log.bootstrap()
        var o = SimulatorOptions()
        o.clusters = clusters
        o.seriesPerCluster = seriesPerCluster
        o.remoteWrite = remoteWrite
        o.intervalMs = try duration(interval, "--interval", allowZero: false)
        o.durationMs = try duration(duration, "--duration", allowZero: true)
        o.backfillMs = try duration(backfill, "--backfill", allowZero: true)
        o.backfillBeforeLive = backfillBeforeLive
        o.regions = regions.split(separator: ",").map(String.init).filter { !$0.isEmpty }
        guard !o.regions.isEmpty else { throw ValidationError("--regions needs at least one region") }
        guard clusters > 0 else { throw ValidationError("--clusters must be at least 1") }
        guard (0...1).contains(failFraction) else { throw ValidationError("--fail-fraction must be between 0 and 1") }
        o.failFraction = failFraction
        o.seed = seed
        o.concurrency = concurrency
        o.tls.caFile = caFile
        o.tls.insecureSkipVerify = insecureSkipVerify
        if let tokenFile {
            do { try o.loadTokens(file: tokenFile) } catch { throw ValidationError("\(error)") }
        }
        _ = try HTTPURLCheck.validate(remoteWrite)
        let transport = NIOHTTPTransport(maxIdlePerHost: max(concurrency, 8))
        let sim = FleetSimulator(options: o, transport: transport, logger: Logger(label: "edge-scraper.simulate"))
        let task = Task { await sim.run() }
        let summary = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        print(summary)
        await transport.shutdown()
        if summary.requests > 0 && summary.samples == 0 { throw ExitCode(1) }
    }

    func duration(_ s: String, _ flag: String, allowZero: Bool) throws -> Int64 {
        guard let ms = ConfigLoader.parseDuration(s), allowZero || ms > 0 else {
            throw ValidationError("\(flag) \(s) is not a duration like 15s, 1m or 1h\(allowZero ? " (0 for none)" : "")")
        }
        return ms
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check files without starting the agent.", subcommands: [CheckConfig.self])
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check an edge.yml as `run --config` reads it and list every path it names (exit 1 on the first problem).")
    @Argument(help: "The config file.") var file: String
    @Flag(help: "Only check the syntax; do not require the files it names (tokens, certificates) to be readable here.")
    var syntaxOnly = false

    func run() throws {
        print("Checking \(file)")
        do {
            for line in try EdgeConfigCheck.check(path: file, syntaxOnly: syntaxOnly) { print("  \(line)") }
        } catch {
            print("  FAILED: \(error)")
            throw ExitCode(1)
        }
        print("  SUCCESS: \(file) is valid edge-scraper configuration")
    }
}

enum HTTPURLCheck {
    static func validate(_ url: String) throws -> HTTPURL {
        do { return try HTTPURL(parsing: url) } catch { throw ValidationError("--remote-write: \(error)") }
    }
}

// First, before anything can start a thread (glibc fixes its arena limit when a thread first
// allocates). The simulator plays many clusters with many connections and keeps NIO's defaults.
if CommandLine.arguments.dropFirst().first != "simulate" { EdgeProcessTuning.apply() }

// Dispatch by concrete type: main.swift cannot carry @main, and calling run() through an
// `any AsyncParsableCommand` existential picks ParsableCommand's synchronous default (which
// prints the help) under Swift 6 overload rules.
do {
    let command = try EdgeScraperCommand.parseAsRoot()
    switch command {
    case let c as Run: try await c.run()
    case let c as Simulate: try await c.run()
    default:
        var c = command
        try c.run()
    }
} catch {
    EdgeScraperCommand.exit(withError: error)
}
