import Testing
@testable import Collector

@Suite struct HyperLogLogTests {
    /// Distinct, well-mixed hashes, as the registry's series hashes are.
    static func hash(_ i: Int) -> UInt64 { HyperLogLog.mix(UInt64(i) &+ 0x9E37_79B9_7F4A_7C15) }

    @Test func emptyCountsZero() {
        #expect(HyperLogLog().estimate == 0)
    }

    @Test(arguments: [10, 100, 1_000, 10_000, 100_000])
    func estimatesWithinItsError(n: Int) {
        var hll = HyperLogLog()
        for i in 0..<n { hll.insert(hash: Self.hash(i)) }
        // 256 registers: 6.5% standard error, so 4 standard errors (26%), and linear counting
        // keeps small counts within a few.
        let error = abs(hll.estimate - n)
        #expect(error <= max(3, n * 26 / 100), "estimate \(hll.estimate) for \(n)")
    }

    @Test func repeatedHashesCountOnce() {
        var once = HyperLogLog(), many = HyperLogLog()
        for i in 0..<500 { once.insert(hash: Self.hash(i)) }
        for _ in 0..<5 { for i in 0..<500 { many.insert(hash: Self.hash(i)) } }
        #expect(once == many)
        #expect(once.estimate == many.estimate)
    }

    @Test func resetEmptiesIt() {
        var hll = HyperLogLog()
        for i in 0..<1_000 { hll.insert(hash: Self.hash(i)) }
        #expect(hll.estimate > 0)
        hll.reset()
        #expect(hll == HyperLogLog())
        #expect(hll.estimate == 0)
    }

    @Test func windowsKeepThePreviousCountUntilOneSilentWindow() {
        let w = WindowedDistinctCount.windowMs
        var fifty = HyperLogLog(), ten = HyperLogLog()
        for i in 0..<50 { fifty.insert(hash: Self.hash(i)) }
        for i in 0..<10 { ten.insert(hash: Self.hash(1_000 + i)) }
        #expect(fifty.estimate > ten.estimate)
        var c = WindowedDistinctCount()
        c.advance(now: 0)
        for i in 0..<50 { c.insert(hash: Self.hash(i)) }
        #expect(c.count(now: 0) == fifty.estimate)
        // Next window, nothing inserted yet: the last window's count still holds.
        #expect(c.count(now: w) == fifty.estimate)
        c.advance(now: w)
        #expect(c.count(now: w) == fifty.estimate)
        for i in 0..<10 { c.insert(hash: Self.hash(1_000 + i)) }
        #expect(c.count(now: w) == fifty.estimate, "the larger of the two windows")
        #expect(c.count(now: 2 * w) == ten.estimate, "only the window just ended")
        #expect(c.count(now: 3 * w) == 0, "a whole window without series")
        c.advance(now: 3 * w)
        #expect(c.count(now: 3 * w) == 0, "the previous window was silent")
    }
}
