import Foundation
import PromQL
import Testing
import TestSupport

@testable import Collector

/// Issue 10, item 4: a client cannot lift the server's query timeout, and queries past
/// `query.max_concurrency` wait in a bounded queue, then get a 503 with `Retry-After`.
@Suite struct QueryAdmissionTests {
    @Test func gateAdmitsQueuesInOrderAndRefuses() async throws {
        let gate = QueryGate(maxConcurrent: 2, maxQueued: 2)
        #expect(await gate.enter(maxWait: .seconds(60)) == .admitted)
        #expect(await gate.enter(maxWait: .seconds(60)) == .admitted)
        // Two more wait; the fifth finds the queue full at once.
        let first = Task { await gate.enter(maxWait: .seconds(60)) }
        while gate.waiting < 1 { await Task.yield() }
        let second = Task { await gate.enter(maxWait: .seconds(60)) }
        while gate.waiting < 2 { await Task.yield() }
        #expect(await gate.enter(maxWait: .seconds(60)) == .queueFull)
        // A freed slot goes to the longest waiter, and the slot count never exceeds the limit.
        gate.leave()
        #expect(await first.value == .admitted)
        #expect(gate.running == 2 && gate.waiting == 1)
        gate.leave()
        #expect(await second.value == .admitted)
        #expect(gate.running == 2 && gate.waiting == 0)
        gate.leave()
        gate.leave()
        #expect(gate.running == 0)
    }

    @Test func waitersGiveUpAfterTheirLimitAndOnCancellation() async throws {
        let gate = QueryGate(maxConcurrent: 1, maxQueued: 4)
        #expect(await gate.enter(maxWait: .seconds(60)) == .admitted)
        // Nobody leaves: the waiter's own limit ends the wait.
        #expect(await gate.enter(maxWait: .milliseconds(1)) == .timedOut)
        #expect(gate.waiting == 0)
        let cancelled = Task { await gate.enter(maxWait: .seconds(600)) }
        while gate.waiting < 1 { await Task.yield() }
        cancelled.cancel()
        #expect(await cancelled.value == .timedOut)
        #expect(gate.waiting == 0 && gate.running == 1)
        gate.leave()
        #expect(gate.running == 0)
    }

    @Test func clientTimeoutOnlyShortensTheServers() async throws {
        let s = try await TestServer { $0.engine.timeout = .seconds(3) }
        defer { Task { await s.stop() } }
        let api = s.server.api
        #expect(try api.effectiveTimeout(Params(query: "timeout=600s")) == .seconds(3))
        #expect(try api.effectiveTimeout(Params(query: "timeout=1e9")) == .seconds(3))
        #expect(try api.effectiveTimeout(Params(query: "timeout=1.5")) == .milliseconds(1500))
        #expect(try api.effectiveTimeout(Params(query: "")) == .seconds(3))
        #expect(throws: APIError.self) { try api.effectiveTimeout(Params(query: "timeout=-1s")) }
        #expect(throws: APIError.self) { try api.effectiveTimeout(Params(query: "timeout=0")) }
    }

    @Test func fullQueueAnswers503WithRetryAfter() async throws {
        let s = try await TestServer { $0.maxConcurrentQueries = 1; $0.minQueuedQueries = 0 }
        defer { Task { await s.stop() } }
        let gate = s.server.api.gate
        #expect(gate.maxConcurrent == 1 && gate.maxQueued == 4)
        // Hold the only slot and fill the queue, as five slow queries would.
        #expect(await gate.enter(maxWait: .seconds(60)) == .admitted)
        var waiters: [Task<QueryGate.Outcome, Never>] = []
        for i in 1...4 {
            waiters.append(Task { await gate.enter(maxWait: .seconds(60)) })
            while gate.waiting < i { await Task.yield() }
        }
        let port = s.port
        for path in ["/api/v1/query?query=1", "/api/v1/query_range?query=1&start=0&end=60&step=15",
                     "/api/v1/series?match%5B%5D=up", "/api/v1/labels", "/api/v1/label/job/values"] {
            let (code, head, body) = try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int, String, Data), Error>) in
                Thread { c.resume(with: Result { try rawGetWithHead(port: port, path: path, headers: []) }) }.start()
            }
            #expect(code == 503, "\(path)")
            #expect(head.lowercased().contains("retry-after: 1"), "\(path): \(head)")
            let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            #expect(json?["status"] as? String == "error")
            #expect(json?["errorType"] as? String == "unavailable")
            #expect((json?["error"] as? String ?? "").contains("query.max_concurrency"))
        }
        // Health, metrics and ingest do not queue behind queries.
        #expect(try await s.get("/-/healthy").0 == 200)
        let (_, m) = try await s.get("/metrics")
        #expect((m["raw"] as? String ?? "").contains("fleetscope_queries_rejected_total{reason=\"queue_full\"} 5"))
        gate.leave()
        for w in waiters {
            #expect(await w.value == .admitted)
            gate.leave()
        }
        #expect(try await s.get("/api/v1/query?query=1").0 == 200)
    }

    @Test func configKeyIsParsedAndChecked() throws {
        let dir = try tempDir("admission")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/collector.yml"
        try "query:\n  max_concurrency: 3\n  timeout: 5s\n".write(toFile: path, atomically: true, encoding: .utf8)
        var o = CollectorOptions()
        // One core stays for ingest and health checks.
        #expect(o.maxConcurrentQueries == max(1, ProcessInfo.processInfo.activeProcessorCount - 1))
        #expect(o.maxQueuedQueries == 100)
        try o.apply(configFile: path)
        #expect(o.maxConcurrentQueries == 3 && o.maxQueuedQueries == 100)
        o.maxConcurrentQueries = 40
        #expect(o.maxQueuedQueries == 160)
        #expect(o.engine.timeout == .seconds(5))
        for bad in ["0", "-1", "many", "1e300"] {
            try "query:\n  max_concurrency: \(bad)\n".write(toFile: path, atomically: true, encoding: .utf8)
            var o2 = CollectorOptions()
            #expect(throws: OptionsError.self, "\(bad)") { try o2.apply(configFile: path) }
        }
    }
}
