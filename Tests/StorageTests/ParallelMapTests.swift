import Synchronization
import Testing
@testable import Storage

/// Counts live instances, so a test can see that results built before a failure are destroyed.
final class Tracked: Sendable {
    static let live = Atomic<Int>(0)
    let value: Int
    init(_ value: Int) { self.value = value; Tracked.live.add(1, ordering: .relaxed) }
    deinit { Tracked.live.subtract(1, ordering: .relaxed) }
}

struct Failure: Error, Equatable { let index: Int }

@Suite(.serialized) struct ParallelMapTests {
    @Test(arguments: [0, 1, 63, 64, 129, 1000, 10_007])
    func resultsKeepInputOrder(n: Int) throws {
        let out = try ParallelMap.run(n, minPerWorker: 1) { i in i * 3 + 1 }
        #expect(out == (0..<n).map { $0 * 3 + 1 })
    }

    /// Each worker's state lives across its items in order: a running count per worker restarts
    /// at 0 once per worker, and every item sees the one before it in its run.
    @Test(arguments: [5, 1000])
    func stateIsPerWorkerAndKeptAcrossItems(n: Int) throws {
        let out = try ParallelMap.run(n, minPerWorker: 1, state: { [Int]() }) { seen, i -> (Int, Int?) in
            defer { seen.append(i) }
            return (seen.count, seen.last)
        }
        let starts = out.enumerated().filter { $0.element.0 == 0 }.map(\.offset)
        #expect(starts.first == 0)
        #expect(starts.count == min(n, ParallelMap.cores))
        for (i, (_, last)) in out.enumerated() where !starts.contains(i) { #expect(last == i - 1) }
    }

    @Test func smallInputsRunInline() throws {
        // Below minPerWorker per core everything runs on the caller; results are the same.
        let out = try ParallelMap.run(10, minPerWorker: 1000) { i in String(i) }
        #expect(out == (0..<10).map(String.init))
    }

    /// The error of the lowest failing index wins (workers take contiguous runs, and each stops at
    /// its first failure), and every result built before the failure is destroyed again.
    @Test func firstFailureWinsAndNothingLeaks() {
        let before = Tracked.live.load(ordering: .relaxed)
        #expect(throws: Failure(index: 300)) {
            _ = try ParallelMap.run(1000, minPerWorker: 1) { i -> Tracked in
                if i == 300 || i == 900 { throw Failure(index: i) }
                return Tracked(i)
            }
        }
        #expect(Tracked.live.load(ordering: .relaxed) == before)
        let kept = try? ParallelMap.run(1000, minPerWorker: 1) { i in Tracked(i) }
        #expect(kept?.map(\.value) == Array(0..<1000))
    }
}
