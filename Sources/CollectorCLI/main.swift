import ArgumentParser
import Collector
import Foundation
import Logging

@main
struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collector",
        abstract: "Fleetscope collector: remote-write receiver, TSDB, PromQL API and fleet dashboard.",
        // `serve` is the default subcommand, so its flags are what `collector --help` readers look for.
        discussion: """
            collector [serve] --listen 0.0.0.0:9490 --data-dir ./data [--config collector.yml] [--no-auth]
            runs the collector; every flag of `serve` is listed by `collector serve --help`.
            """,
        version: CollectorVersion.version,
        subcommands: [Serve.self, Token.self, User.self, Check.self],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        // Everything the collector and its admin commands write (SQLite with password and token
        // hashes, the WAL, blocks) is for the owner only; the code sets explicit modes too.
        umask(0o077)
        await main(nil)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the collector (the default).")

    @Option(help: "Address to listen on, HOST:PORT.") var listen = "0.0.0.0:9490"
    @Option(help: "Directory for the TSDB, WAL and SQLite database.") var dataDir = "./data"
    @Option(help: "YAML config file (storage, query and ingest settings).") var config: String?
    @Flag(help: "Turn authentication and access control off (local development and tests only).") var noAuth = false
    @Option(help: "How long to keep samples, e.g. 15d.") var retention: String?
    @Option(help: "Maximum bytes of persisted blocks, e.g. 50GB (0 = unlimited).") var retentionSize: String?
    @Option(help: "PromQL lookback delta, e.g. 5m.") var queryLookbackDelta: String?
    @Option(help: "PromQL query timeout, e.g. 2m.") var queryTimeout: String?
    @Option(help: "Maximum samples a query may load.") var queryMaxSamples: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(name: .customLong("debug.clock-offset"), help: ArgumentHelp("Shift the collector's clock, e.g. -1h (tests).", visibility: .hidden))
    var clockOffset: String?

    func run() async throws {
        // A query decodes tens of MB of samples and frees them when it answers. By default glibc
        // returns that memory to the kernel after each query and page-faults it back in on the
        // next: a fifth of query CPU in profiles. Keep freed heap (bounded by the largest query)
        // for reuse instead.
        #if os(Linux) && canImport(Glibc)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 20)
        #endif
        var opts = CollectorOptions()
        do {
            if let config { try opts.apply(configFile: config) }
            try opts.setListen(listen)
            opts.dataDir = dataDir
            opts.configFile = config
            opts.noAuth = noAuth
            if let r = retention { opts.tsdb.retention = try duration(r, "--retention") }
            if let r = retentionSize { opts.tsdb.maxBytes = try parseBytes(r) ?? { throw ValidationError("invalid --retention-size \"\(r)\"") }() }
            if let d = queryLookbackDelta { opts.engine.lookbackDelta = try duration(d, "--query-lookback-delta") }
            if let t = queryTimeout { opts.engine.timeout = .milliseconds(try duration(t, "--query-timeout")) }
            if let m = queryMaxSamples { opts.engine.maxSamples = m }
            if let o = clockOffset {
                let negative = o.hasPrefix("-")
                let ms = try duration(negative ? String(o.dropFirst()) : o, "--debug.clock-offset")
                opts.clockOffsetMs = negative ? -ms : ms
            }
        } catch let e as OptionsError {
            throw ValidationError(e.description)
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "collector")
        let server = try await CollectorServer(options: opts, logger: logger)
        try await server.run()
    }

    private func duration(_ s: String, _ flag: String) throws -> Int64 {
        guard let v = parseDurationMs(s) else { throw ValidationError("invalid \(flag) \"\(s)\": expected a duration like 15d, 2h or 30s") }
        return v
    }
}

/// `--config`: with `state.postgres` in it, token and user commands act on the PostgreSQL the
/// collectors share, not on `--data-dir`.
struct StateConfig: ParsableArguments {
    @Option(help: "Collector data directory.") var dataDir = "./data"
    @Option(help: "The collectors' collector.yml: with state.postgres set, the command acts on that PostgreSQL (shared by every collector) instead of --data-dir.")
    var config: String?

    func postgres() throws -> PostgresOptions? {
        guard let config else { return nil }
        var opts = CollectorOptions()
        do { try opts.apply(configFile: config) } catch let e as OptionsError { throw ValidationError(e.description) }
        return opts.postgres
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage per-cluster ingest tokens.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an ingest token bound to a cluster and print it (shown once; only its hash is stored).")
        @OptionGroup var state: StateConfig
        @Option(help: "Cluster the token writes as; the collector sets the `cluster` label from it.") var cluster: String
        @Option(name: .customLong("label"), help: ArgumentHelp(
            "A further label the token binds, NAME=VALUE (repeatable), e.g. --label region=eu --label site=ber. The collector sets it on every series; the fleet registry takes region and site from it.",
            valueName: "name=value")) var labels: [String] = []

        func run() async throws {
            print(try await AdminCommands.createToken(dataDir: state.dataDir, postgres: try state.postgres(), cluster: cluster, labels: labels))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every ingest token of a cluster.")
        @OptionGroup var state: StateConfig
        @Option(help: "Cluster whose tokens to revoke.") var cluster: String

        func run() async throws {
            let n = try await AdminCommands.revokeTokens(dataDir: state.dataDir, postgres: try state.postgres(), cluster: cluster)
            print("revoked \(n) token(s) of cluster \(cluster)")
        }
    }
}

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users (changes reach a running collector within a second or two).",
        subcommands: [Add.self, Passwd.self, Delete.self, List.self])

    /// The first line of a password file.
    static func password(_ file: String) throws -> String {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).first
            .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) } ?? ""
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or update a user.")
        @OptionGroup var state: StateConfig
        @Option(help: "User name.") var name: String
        @Option(help: "File holding the password (first line).") var passwordFile: String
        @Option(help: "admin or viewer.") var role = "viewer"
        @Option(help: "Label scope every read is narrowed to, e.g. '{region=\"eu\"}', or 'all' for everything. Required for viewers.")
        var scope: String?

        func run() async throws {
            try await AdminCommands.addUser(dataDir: state.dataDir, postgres: try state.postgres(), name: name, password: try User.password(passwordFile), role: role, scope: scope)
            print("user \(name) saved (role \(role), scope \(scope ?? "all"))")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password.")
        @OptionGroup var state: StateConfig
        @Option(help: "User name.") var name: String
        @Option(help: "File holding the new password (first line).") var passwordFile: String

        func run() async throws {
            try await AdminCommands.setPassword(dataDir: state.dataDir, postgres: try state.postgres(), name: name, password: try User.password(passwordFile))
            print("password of user \(name) changed")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user.")
        @OptionGroup var state: StateConfig
        @Option(help: "User name.") var name: String

        func run() async throws {
            try await AdminCommands.deleteUser(dataDir: state.dataDir, postgres: try state.postgres(), name: name)
            print("user \(name) deleted")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with role and scope (never passwords).")
        @OptionGroup var state: StateConfig

        func run() async throws {
            print(try await AdminCommands.listUsers(dataDir: state.dataDir, postgres: try state.postgres()), terminator: "")
        }
    }
}

#if os(Linux) && canImport(Glibc)
/// glibc's `mallopt` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check files without starting the collector.", subcommands: [Config.self])

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a collector.yml as `serve --config` reads it: keys, values, rule files and TLS files (exit 1 on the first problem).")
        @Argument(help: "The config file.") var file: String

        func run() throws {
            print("Checking \(file)")
            do {
                for line in try CollectorConfigCheck.check(path: file) { print("  \(line)") }
            } catch {
                print("  FAILED: \(error)")
                throw ExitCode(1)
            }
            print("  SUCCESS: \(file) is valid collector configuration")
        }
    }
}
