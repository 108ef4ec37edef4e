import Foundation
import Testing

@testable import Collector

/// Every answer, errors included, tells browsers not to guess content types.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SecurityHeadersTests {
    /// Status code → whether `X-Content-Type-Options: nosniff` came with it.
    static func nosniff(_ url: String, _ extra: [String] = []) async throws -> (Int, Bool) {
        let r = try await curl(["-D", "-", "-o", "/dev/null"] + extra + [url])
        let headers = r.body.lowercased().split(separator: "\r\n")
        return (r.code, headers.contains("x-content-type-options: nosniff"))
    }

    @Test func apiAnswersAndErrorsCarryNosniff() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let password = try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let admin = ["-u", "admin:" + password]
        let cases: [(String, [String], Int)] = [
            ("/api/v1/query?query=1", admin, 200),
            ("/api/v1/query?query=%28", admin, 400),
            ("/api/v1/labels", [], 401),
            ("/api/v1/write", ["-X", "POST"], 401),
            ("/api/v1/fleet/summary", admin, 200),
            ("/no/such/page", admin, 404),
            ("/-/healthy", [], 200),
            ("/metrics", admin, 200),
        ]
        for (path, extra, want) in cases {
            let (code, has) = try await Self.nosniff(s.base + path, extra)
            #expect(code == want, "\(path)")
            #expect(has, "\(path) (\(code)) lacks X-Content-Type-Options: nosniff")
        }
    }
}
