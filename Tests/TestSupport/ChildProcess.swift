import Foundation

/// A long-running child (our binaries, Prometheus, node_exporter...) whose output goes to a log
/// file, or nowhere without `logDir`; stopped by PID with a bounded wait, killed when dropped.
public final class ChildProcess: @unchecked Sendable {
    // Mutated only from the owning test.
    public let process = Process()
    public let name: String
    public let logPath: String?

    public init(_ name: String, _ path: String, _ args: [String], logDir: String? = nil) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        if let logDir {
            let logPath = logDir + "/\(name).log"
            self.logPath = logPath
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            process.standardOutput = log
            process.standardError = log
        } else {
            logPath = nil
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// SIGKILL: no chance to flush anything (what crash-safety tests want).
    public func kill9() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    public func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    public func logTail(_ n: Int = 30) -> String {
        guard let logPath else { return "(\(name) has no log)" }
        let s = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return s.split(separator: "\n").suffix(n).joined(separator: "\n")
    }

    deinit { if process.isRunning { kill(pid, SIGKILL) } }
}
