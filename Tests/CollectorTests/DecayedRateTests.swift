import Testing
@testable import Collector

@Suite struct DecayedRateTests {
    @Test func zeroBeforeTheFirstEvent() {
        #expect(DecayedRate().perSecond(now: 1_000_000) == 0)
    }

    @Test func steadyRateReadsAsItself() {
        var r = DecayedRate()
        let start: Int64 = 1_000_000
        // 40 events every second for 10 minutes (five time constants).
        for s in 0..<600 { r.add(40, now: start + Int64(s) * 1000) }
        let now = start + 599_000
        #expect(abs(r.perSecond(now: now) - 40) < 0.5, "\(r.perSecond(now: now))")
    }

    @Test func aYoungRateIsNotBiasedLow() {
        var r = DecayedRate()
        let start: Int64 = 5_000_000
        // Two minutes of history only: the decayed span, not tau, is the divisor.
        for s in 0..<120 { r.add(25, now: start + Int64(s) * 1000) }
        #expect(abs(r.perSecond(now: start + 119_000) - 25) < 0.5, "\(r.perSecond(now: start + 119_000))")
    }

    @Test func silenceDecaysIt() {
        var r = DecayedRate()
        for s in 0..<300 { r.add(10, now: Int64(s) * 1000 + 1) }
        let last: Int64 = 299_001
        let atStop = r.perSecond(now: last)
        let oneTau = r.perSecond(now: last + Int64(DecayedRate.tauMs))
        let fiveTau = r.perSecond(now: last + 5 * Int64(DecayedRate.tauMs))
        #expect(oneTau < atStop / 2 && oneTau > atStop / 4, "\(atStop) → \(oneTau)")
        #expect(fiveTau < atStop / 100)
    }

    @Test func anEarlierClockDoesNotRewind() {
        var a = DecayedRate(), b = DecayedRate()
        a.add(100, now: 60_000)
        a.add(100, now: 30_000)  // counts as 60_000
        b.add(100, now: 60_000)
        b.add(100, now: 60_000)
        #expect(a == b)
    }
}
