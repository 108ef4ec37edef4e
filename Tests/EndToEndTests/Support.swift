import Foundation
import TestSupport

/// Where the end-to-end tests find what they run: our binaries from `.build/debug` (the
/// Makefile builds them before `swift test`) and the real peers from Debian. Ports, child
/// processes, waiting and HTTP come from TestSupport.
enum E2E {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Our own executable, e.g. "collector" or "edge-scraper". `FLEETSCOPE_BIN=.build/release`
    /// runs the suite against the release build (its link differs: order file, section GC).
    static func binary(_ name: String) throws -> String {
        let dirs = ProcessInfo.processInfo.environment["FLEETSCOPE_BIN"].map { [$0] } ?? [".build/debug", ".build/release"]
        for dir in dirs {
            let p = (dir.hasPrefix("/") ? dir : repoRoot + "/" + dir) + "/" + name
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw TestError("\(name) is not built; run `swift build` (make test does) before the end-to-end tests")
    }

    /// A Debian-packaged peer such as /usr/bin/prometheus.
    static func peer(_ path: String, package: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestError("\(path) not found: apt-get install -y \(package) (make test installs it)")
        }
        return path
    }
}
