import Foundation

/// A private PostgreSQL (Debian's `postgresql` package) for one test: `initdb` into a temp dir,
/// `postgres` listening on 127.0.0.1 only, password (SCRAM) authentication for the `fleetscope`
/// role, stopped by PID. PostgreSQL refuses to run as root, so under root it runs as the
/// unprivileged `postgres` user (setpriv execs in place: the child's PID is the postmaster's).
public final class PostgresServer: @unchecked Sendable {
    public let port: Int
    public let dir: String
    public let user = "fleetscope"
    public let password: String
    public let database = "fleetscope"
    private var child: ChildProcess?

    /// Where Debian puts the server binaries (they are not on PATH), newest first.
    public static func binDir() -> String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        return versions.map { "\(base)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }

    /// `postgres://fleetscope:...@127.0.0.1:port/fleetscope`, what `state.postgres` takes.
    public var url: String { "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)" }

    public init(logDir: String? = nil) throws {
        guard let bin = Self.binDir() else { throw PostgresServerError("no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)") }
        dir = NSTemporaryDirectory() + "fleetscope-pg-\(UUID().uuidString.prefix(8))"
        password = "pw-" + UUID().uuidString.prefix(12)
        port = freePort()
        let asRoot = getuid() == 0
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(password.utf8).write(to: URL(fileURLWithPath: dir + "/pwfile"))
        if asRoot { try run("/bin/chown", ["-R", "postgres:postgres", dir]) }
        // --no-sync: a throwaway cluster; the collector's own durability does not depend on it.
        try run(bin + "/initdb", ["-D", dir + "/data", "-U", user, "--pwfile", dir + "/pwfile",
                                  "--auth", "scram-sha-256", "--no-sync", "-E", "UTF8"], asPostgres: asRoot)
        let server = [bin + "/postgres", "-D", dir + "/data", "-h", "127.0.0.1", "-p", "\(port)", "-k", dir,
                      "-c", "fsync=off", "-c", "max_connections=200"]
        child = asRoot
            ? try ChildProcess("postgres", "/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + server, logDir: logDir ?? dir)
            : try ChildProcess("postgres", server[0], Array(server.dropFirst()), logDir: logDir ?? dir)
        let deadline = Date().addingTimeInterval(30)
        while !isListening(port: port) {
            guard Date() < deadline, child?.isRunning == true else {
                throw PostgresServerError("postgres did not listen on \(port): \(child?.logTail() ?? "")")
            }
            usleep(50_000)
        }
        // The first connection can still race the end of start-up ("the database system is starting up").
        try run(bin + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, database],
                env: ["PGPASSWORD": password], retries: 20)
    }

    public var pid: Int32 { child?.pid ?? 0 }
    public var isRunning: Bool { child?.isRunning ?? false }
    public func logTail(_ n: Int = 30) -> String { child?.logTail(n) ?? "" }

    /// A fast shutdown (SIGINT: roll back open transactions, disconnect, checkpoint).
    public func stop() {
        guard let child, child.isRunning else { return }
        kill(child.pid, SIGINT)
        child.stop(grace: 20)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func run(_ path: String, _ args: [String], asPostgres: Bool = false, env: [String: String] = [:],
                     retries: Int = 0) throws {
        var attempt = 0
        while true {
            let p = Process()
            if asPostgres {
                p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
                p.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", path] + args
            } else {
                p.executableURL = URL(fileURLWithPath: path)
                p.arguments = args
            }
            p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if p.terminationStatus == 0 { return }
            attempt += 1
            if attempt > retries { throw PostgresServerError("\(path) \(args.joined(separator: " ")) failed: \(text)") }
            usleep(250_000)
        }
    }
}

public struct PostgresServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
