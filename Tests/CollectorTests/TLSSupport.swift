import Foundation
import Logging
import Synchronization
import TestSupport

/// A private CA, a second CA and certificates made with `scripts/make-certs.sh` (openssl) for
/// one test: the server certificate is for 127.0.0.1 (IP SAN), clients name clusters.
struct TestPKI {
    let dir: String
    static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/scripts/make-certs.sh"
    }()

    init() async throws {
        dir = NSTemporaryDirectory() + "fleetscope-pki-\(UUID().uuidString.prefix(8))"
        try await make(["ca", "ca"])
        try await make(["ca", "other-ca"])
        try await make(["server", "ca", "server", "IP:127.0.0.1,DNS:localhost"])
        // store-17: CN, a DNS and a URI name; store-99 from the other CA; store-9 expired in 2024.
        try await make(["client", "ca", "store-17", "store-17", "DNS:store-17.edge.example,URI:spiffe://fleet/store-17"])
        try await make(["client", "other-ca", "store-99", "store-99"])
        try await make(["client", "ca", "expired", "store-9", "", "20240101000000Z", "20240102000000Z"])
    }

    func make(_ args: [String]) async throws {
        let r = try await runTool("/bin/bash", [Self.script, args[0], dir] + args.dropFirst())
        guard r.status == 0 else { throw TestError("make-certs.sh \(args.joined(separator: " ")) failed: \(r.err)") }
    }

    func path(_ file: String) -> String { dir + "/" + file }

    /// `--cert/--key` for curl.
    func client(_ name: String) -> [String] { ["--cert", path(name + ".crt"), "--key", path(name + ".key")] }
}

/// curl with a bounded time; `-w` appends the status code on the last line of stdout.
func curl(_ args: [String]) async throws -> (status: Int32, code: Int, body: String, err: String) {
    let r = try await runTool("/usr/bin/curl", ["-sS", "--max-time", "20", "-w", "\n%{http_code}"] + args)
    var lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
    let code = Int(lines.popLast() ?? "") ?? 0
    return (r.status, code, lines.joined(separator: "\n"), r.err)
}

/// Keeps what a logger was told, for checking that errors say what happened.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        var l = Logger(label: "test-collector", factory: { _ in Handler(capture: self) })
        l.logLevel = .notice
        return l
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .notice
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { capture.lines.withLock { $0.append("\(event.level) \(event.message)") } }
    }
}
