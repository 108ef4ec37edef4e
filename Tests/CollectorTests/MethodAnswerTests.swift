import Foundation
import Testing

@testable import Collector

/// Methods a known path does not take, as Prometheus 2.42 answers them (measured against a
/// running `prometheus`): 405 with `Allow`, OPTIONS 204 with `Allow`, HEAD only where GET's
/// twin is declared (probes, dashboard). With authentication on: these answers carry no data,
/// so they need no credentials, and unknown paths stay 404.
@Suite struct MethodAnswerTests {
    @Test func unknownMethodsOnKnownPathsAre405WithAllow() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let cases: [(String, String, String)] = [
            ("POST", "/api/v1/label/job/values", "GET, OPTIONS"),
            ("PUT", "/api/v1/query", "GET, OPTIONS, POST"),
            ("DELETE", "/api/v1/query_range", "GET, OPTIONS, POST"),
            ("PATCH", "/api/v1/labels", "GET, OPTIONS, POST"),
            ("POST", "/metrics", "GET, OPTIONS"),
            ("POST", "/-/healthy", "GET, HEAD, OPTIONS"),
            ("PUT", "/-/ready", "GET, HEAD, OPTIONS"),
            ("TRACE", "/api/v1/series", "GET, OPTIONS, POST"),
            ("POST", "/api/v1/fleet/clusters/eu-1", "GET, OPTIONS"),
            ("POST", "/", "GET, HEAD, OPTIONS"),
            ("DELETE", "/assets/app.js", "GET, HEAD, OPTIONS"),
        ]
        for (method, path, allow) in cases {
            let (code, headers, body) = try await s.raw(method, path)
            #expect(code == 405, "\(method) \(path): \(code) \(body)")
            #expect(headers["allow"] == allow, "\(method) \(path): \(headers["allow"] ?? "no Allow")")
            #expect(body.contains(method) && body.contains(allow), "\(method) \(path): \(body)")
        }
        // Remote-write keeps its own words.
        let (code, headers, body) = try await s.raw("PUT", "/api/v1/write")
        #expect(code == 405 && headers["allow"] == "OPTIONS, POST" && body.contains("remote-write takes POST"), "\(code) \(headers) \(body)")
    }

    @Test func optionsIs204WithAllowAndNeedsNoCredentials() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        for (path, allow) in [("/api/v1/query", "GET, OPTIONS, POST"), ("/api/v1/label/job/values", "GET, OPTIONS"),
                              ("/api/v1/write", "OPTIONS, POST"), ("/-/healthy", "GET, HEAD, OPTIONS"), ("/explore", "GET, HEAD, OPTIONS")] {
            let (code, headers, body) = try await s.raw("OPTIONS", path)
            #expect(code == 204 && headers["allow"] == allow && body.isEmpty, "OPTIONS \(path): \(code) \(headers) \(body)")
        }
    }

    @Test func headIsAnsweredWhereGETsTwinIsDeclared() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        // Probes: 200 without a body, like Prometheus.
        for path in ["/-/healthy", "/-/ready"] {
            let (code, _, body) = try await s.raw("HEAD", path)
            #expect(code == 200 && body.isEmpty, "HEAD \(path): \(code) \(body)")
        }
        // API reads and /metrics: 405 (Prometheus), headers only.
        for (path, allow) in [("/api/v1/query", "GET, OPTIONS, POST"), ("/api/v1/status/buildinfo", "GET, OPTIONS, POST"), ("/metrics", "GET, OPTIONS")] {
            let (code, headers, body) = try await s.raw("HEAD", path)
            #expect(code == 405 && headers["allow"] == allow && body.isEmpty, "HEAD \(path): \(code) \(headers) \(body)")
        }
        // Dashboard pages keep their HEAD, behind the user group like their GET.
        #expect(try await s.raw("HEAD", "/").0 == 401)
    }

    @Test func unknownPathsStay404() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        for method in ["GET", "POST", "PUT", "OPTIONS"] {
            for path in ["/api/v1/nope", "/nowhere", "/api/v1/fleet/nope"] {
                let (code, headers, _) = try await s.raw(method, path)
                #expect(code == 404 && headers["allow"] == nil, "\(method) \(path): \(code)")
            }
        }
    }

    @Test func allowListsMethodsAlphabeticallyWithOptions() {
        #expect(MethodAnswers.allowHeader([.post]) == "OPTIONS, POST")
        #expect(MethodAnswers.allowHeader([.post, .get]) == "GET, OPTIONS, POST")
        #expect(MethodAnswers.allowHeader([.head, .get, .options]) == "GET, HEAD, OPTIONS")
    }
}
