import Foundation

/// Why a test helper gave up, worded for the test log.
public struct TestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Polls until `check` is true, at most `seconds`.
public func waitUntil(_ what: String, seconds: Double = 30, _ check: () async -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await check() { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw TestError("timed out after \(Int(seconds)) s waiting for \(what)")
}

/// A fresh directory under the system temp dir, named after the test for post-mortems.
public func tempDir(_ tag: String) throws -> String {
    let d = NSTemporaryDirectory() + "fleetscope-\(tag)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}
