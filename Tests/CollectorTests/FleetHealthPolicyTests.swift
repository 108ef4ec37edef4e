import Testing
@testable import Collector

@Suite struct FleetHealthPolicyTests {
    let options = FleetOptions()  // down after 2 min, stale after 1 h
    let now: Int64 = 10_000_000

    func health(seen age: Int64?, received: Int64? = nil, up: Int = 1, down: Int = 0, failedPods: Int = 0, alerts: Int = 0) -> FleetHealth {
        FleetHealthPolicy.health(lastSeenMs: age.map { now - $0 }, lastReceivedMs: received.map { now - $0 },
                                 up: up, down: down, failedPods: failedPods, alerts: alerts, now: now, options: options)
    }

    @Test func byAgeOfTheNewestSample() {
        #expect(health(seen: nil) == .stale)
        #expect(health(seen: 1_000) == .healthy)
        #expect(health(seen: 120_001) == .down)
        #expect(health(seen: 3_600_001) == .stale)
    }

    @Test func aBacklogArrivingIsCatchingUpNotDown() {
        #expect(health(seen: 600_000, received: 5_000) == .catchingUp)
        #expect(health(seen: 7_200_000, received: 5_000) == .catchingUp)
        #expect(health(seen: 600_000, received: 200_000) == .down)
    }

    @Test func targetsPodsAndAlerts() {
        #expect(health(seen: 1_000, up: 0, down: 2) == .down)
        #expect(health(seen: 1_000, up: 3, down: 1) == .degraded)
        #expect(health(seen: 1_000, failedPods: 1) == .degraded)
        #expect(health(seen: 1_000, alerts: 1) == .degraded)
        #expect(health(seen: 1_000, up: 0, down: 0) == .healthy)
    }

    @Test func catchUpRate() {
        let ref = GapCheckpoint(atMs: 1_000_000, newestMs: 400_000)
        // 60 s of wall time, 90 s of samples delivered: the gap closes at 0.5 s per second.
        #expect(FleetHealthPolicy.catchUpRate(reference: ref, lastReceivedMs: 1_060_000, lastSeenMs: 490_000) == 0.5)
        #expect(FleetHealthPolicy.catchUpRate(reference: GapCheckpoint(), lastReceivedMs: 1_060_000, lastSeenMs: 490_000) == nil)
        #expect(FleetHealthPolicy.catchUpRate(reference: ref, lastReceivedMs: 1_000_000, lastSeenMs: 490_000) == nil)
    }
}
