import Foundation
import Storage
import TestSupport
import Testing

@testable import Collector

/// `rule_alert_state`: what the holder saves comes back whole to the next holder (NaN value,
/// annotations, every time and "sent" mark); removals remove; a replica that does not hold the
/// lease can save nothing.
@Suite(.serialized, .timeLimit(.minutes(2))) struct AlertStateStoreTests {
    @Test func roundTripAndFence() async throws {
        let pg = try PostgresServer()
        defer { pg.stop() }
        let c = try PostgresTestClient(pg)
        try await RuleStateSchema.migrate(c.client, logger: PostgresTestClient.logger)
        let lease = PostgresRuleLease(client: c.client, holderID: "a", ttl: .seconds(30), renewEvery: .seconds(10), logger: PostgresTestClient.logger)
        #expect(try await lease.tryAcquire())
        let store = PostgresAlertStateStore(client: c.client, holderID: "a", logger: PostgresTestClient.logger)

        var firing = Alert(labels: Labels(["alertname": "Hot", "cluster": "c1"]), annotations: [("summary", "c1 is \"hot\"")],
                           state: .firing, activeAtMs: 1_000, value: .nan)
        firing.firedAtMs = 3_000; firing.lastSentMs = 3_000; firing.webhookState = .firing
        var resolved = Alert(labels: Labels(["alertname": "Hot", "cluster": "c2"]), annotations: [], state: .inactive, activeAtMs: 2_000, value: -.infinity)
        resolved.resolvedAtMs = 9_000; resolved.keepFiringSinceMs = 8_000; resolved.webhookState = .inactive
        let pending = Alert(labels: Labels(["alertname": "Cold"]), annotations: [], state: .pending, activeAtMs: 5_000, value: 1.5)
        try await store.save(group: "g", [AlertStateChanges(ruleKey: "0\u{1f}Hot", upserts: [firing, resolved]),
                                          AlertStateChanges(ruleKey: "1\u{1f}Cold", upserts: [pending])])
        try await store.save(group: "other", [AlertStateChanges(ruleKey: "0\u{1f}Hot", upserts: [pending])])

        let loaded = try await store.load(group: "g")
        #expect(Set(loaded.keys) == ["0\u{1f}Hot", "1\u{1f}Cold"])
        let hot = Dictionary(uniqueKeysWithValues: (loaded["0\u{1f}Hot"] ?? []).map { ($0.labels["cluster"] ?? "", $0) })
        let f = try #require(hot["c1"]), r = try #require(hot["c2"])
        #expect(f.labels == firing.labels && f.state == .firing && f.activeAtMs == 1_000 && f.value.isNaN)
        #expect(f.firedAtMs == 3_000 && f.lastSentMs == 3_000 && f.webhookState == .firing && f.resolvedAtMs == nil)
        #expect(f.annotations.map { "\($0.0)=\($0.1)" } == ["summary=c1 is \"hot\""])
        #expect(r.state == .inactive && r.value == -.infinity && r.resolvedAtMs == 9_000 && r.keepFiringSinceMs == 8_000 && r.webhookState == .inactive)
        #expect(loaded["1\u{1f}Cold"]?.first?.state == .pending && loaded["1\u{1f}Cold"]?.first?.webhookState == nil)

        // An update and a removal.
        var again = firing
        again.lastSentMs = 63_000
        try await store.save(group: "g", [AlertStateChanges(ruleKey: "0\u{1f}Hot", upserts: [again], removed: [resolved.labels])])
        let after = try await store.load(group: "g")
        #expect(after["0\u{1f}Hot"]?.map(\.lastSentMs) == [63_000])
        #expect(try await store.load(group: "other")["0\u{1f}Hot"]?.count == 1)

        // Not the holder: nothing is written.
        let intruder = PostgresAlertStateStore(client: c.client, holderID: "b", logger: PostgresTestClient.logger)
        await #expect(throws: NotLeaseHolder.self) {
            try await intruder.save(group: "g", [AlertStateChanges(ruleKey: "1\u{1f}Cold", removed: [pending.labels])])
        }
        #expect(try await store.load(group: "g")["1\u{1f}Cold"]?.count == 1)
        await c.stop()
    }

    @Test func changesAreWhatMovedSinceTheLastSave() {
        var a = Alert(labels: Labels(["alertname": "X"]), annotations: [], state: .firing, activeAtMs: 1, value: 1)
        let saved = [a.labels: AlertSignature(a)]
        // A new value alone is not worth a write; a "sent" mark is.
        a.value = 2
        #expect(AlertSignature.changes(ruleKey: "k", alerts: [a.labels: a], saved: saved).isEmpty)
        a.webhookState = .firing
        #expect(AlertSignature.changes(ruleKey: "k", alerts: [a.labels: a], saved: saved).upserts.count == 1)
        #expect(AlertSignature.changes(ruleKey: "k", alerts: [:], saved: saved).removed == [a.labels])
    }
}
