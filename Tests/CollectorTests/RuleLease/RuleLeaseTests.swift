import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Collector

/// The PostgreSQL rule lease on a private PostgreSQL: two replicas, at most one holder at any
/// moment; a holder whose connections die stops by itself and the other takes over; a holder
/// that shuts down frees the lease at once.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RuleLeaseTests {
    static func lease(_ c: PostgresTestClient, _ id: String) -> PostgresRuleLease {
        PostgresRuleLease(client: c.client, holderID: id, ttl: .milliseconds(900), renewEvery: .milliseconds(200),
                          logger: PostgresTestClient.logger)
    }

    /// Waits for `check`, failing the test if both leases are ever held at once meanwhile.
    static func waitNeverBoth(_ what: String, _ a: PostgresRuleLease, _ b: PostgresRuleLease, _ check: () -> Bool) async throws {
        try await waitUntil(what) {
            #expect(!(a.isHeld && b.isHeld), "both replicas hold the lease")
            return check()
        }
    }

    @Test func oneHolderAndTakeoverWhenTheHolderDies() async throws {
        let pg = try PostgresServer()
        defer { pg.stop() }
        let ca = try PostgresTestClient(pg), cb = try PostgresTestClient(pg)
        let a = Self.lease(ca, "a"), b = Self.lease(cb, "b")
        let gains = Gains()
        let ta = Task { await a.run { if $0 { gains.add("a") } } }
        let tb = Task { await b.run { if $0 { gains.add("b") } } }
        defer { ta.cancel(); tb.cancel() }

        try await Self.waitNeverBoth("one replica to hold the lease", a, b) { a.isHeld || b.isHeld }
        // Several renewals later, still one holder, and the same one.
        let first = a.isHeld ? "a" : "b"
        for _ in 0..<15 {
            #expect(!(a.isHeld && b.isHeld))
            try await Task.sleep(for: .milliseconds(100))
        }
        // Only `first` ever gained it (a renewal late on a busy machine may make it lapse and
        // come back, but never to the other replica while `first` renews).
        #expect(Set(gains.list) == [first], "\(gains.list)")

        // The holder's connections go away (its pool is shut down) while its lease loop keeps
        // trying: it must stop holding by itself, and the other must take over.
        let (holder, other, holderClient) = first == "a" ? (a, b, ca) : (b, a, cb)
        await holderClient.stop()
        try await Self.waitNeverBoth("the other replica to take over", a, b) { other.isHeld }
        #expect(!holder.isHeld)
        #expect(gains.list.last == (first == "a" ? "b" : "a"), "\(gains.list)")
        ta.cancel(); tb.cancel()
        _ = await (ta.value, tb.value)
        await (first == "a" ? cb : ca).stop()
    }

    @Test func shutdownReleasesTheLease() async throws {
        let pg = try PostgresServer()
        defer { pg.stop() }
        let ca = try PostgresTestClient(pg), cb = try PostgresTestClient(pg)
        let a = Self.lease(ca, "a")
        let ta = Task { await a.run { _ in } }
        try await waitUntil("a to hold the lease") { a.isHeld }
        // b cannot take it while a renews.
        let b = Self.lease(cb, "b")
        #expect(try await b.tryAcquire() == false)
        ta.cancel()
        await ta.value
        #expect(!a.isHeld)
        // Released, not merely expired: b gets it on its very next attempt, whatever the ttl.
        let rows = try await cb.client.query("SELECT count(*)::int8 FROM rule_lease", logger: PostgresTestClient.logger)
        for try await n in rows.decode(Int64.self) { #expect(n == 0) }
        #expect(try await b.tryAcquire() == true)
        await ca.stop(); await cb.stop()
    }
}

/// The order of lease gains, as the lease reported them.
final class Gains: Sendable {
    private let m = Mutex<[String]>([])
    func add(_ s: String) { m.withLock { $0.append(s) } }
    var list: [String] { m.withLock { $0 } }
}
