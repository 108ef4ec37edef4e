import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Helpers for tests that run real processes: our binaries from `.build/debug` (the
/// Makefile builds them before `swift test`) and the real peers from Debian.
enum E2E {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Our own executable, e.g. "collector" or "edge-scraper".
    static func binary(_ name: String) throws -> String {
        for dir in [".build/debug", ".build/release"] {
            let p = repoRoot + "/" + dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw E2EError("\(name) is not built; run `swift build` (make test does) before the end-to-end tests")
    }

    /// A Debian-packaged peer such as /usr/bin/prometheus.
    static func peer(_ path: String, package: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw E2EError("\(path) not found: apt-get install -y \(package) (make test installs it)")
        }
        return path
    }

    static func tempDir(_ tag: String) throws -> String {
        let d = NSTemporaryDirectory() + "fleetscope-e2e-\(tag)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// A loopback port nobody listens on right now (bind to 0, read it back, close).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// GET returning status and body; nil when the connection fails.
    static func get(_ url: String, timeout: TimeInterval = 10) async -> (Int, Data)? {
        var r = URLRequest(url: URL(string: url)!)
        r.timeoutInterval = timeout
        guard let (data, resp) = try? await URLSession.shared.data(for: r) else { return nil }
        return ((resp as! HTTPURLResponse).statusCode, data)
    }

    static func getJSON(_ url: String) async throws -> [String: Any] {
        guard let (code, data) = await get(url) else { throw E2EError("GET \(url) failed to connect") }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw E2EError("GET \(url): \(code), not JSON: \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return json
    }

    static func post(_ url: String, body: Data, headers: [String: String]) async throws -> (Int, String) {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = "POST"
        r.httpBody = body
        r.timeoutInterval = 30
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        let (data, resp) = try await URLSession.shared.data(for: r)
        return ((resp as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// Polls until `check` is true, at most `seconds`.
    static func waitUntil(_ what: String, seconds: Double = 30, _ check: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await check() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw E2EError("timed out after \(Int(seconds)) s waiting for \(what)")
    }
}

struct E2EError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A child process whose output goes to a log file, killed by PID when the test ends.
final class ChildProcess: @unchecked Sendable {
    // Mutated only from the owning test.
    let process = Process()
    let name: String
    let logPath: String

    init(_ name: String, _ path: String, _ args: [String], logDir: String) throws {
        self.name = name
        logPath = logDir + "/\(name).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// SIGKILL: no chance to flush anything (what crash-safety tests want).
    func kill9() {
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    func logTail(_ n: Int = 30) -> String {
        let s = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return s.split(separator: "\n").suffix(n).joined(separator: "\n")
    }

    deinit { if process.isRunning { Glibc.kill(pid, SIGKILL) } }
}
