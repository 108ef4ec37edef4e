import Testing
@testable import EdgeScraper

/// LoopTimer replaces Task.sleep in the scrape loops: it must end normally when the time is up
/// and end with CancellationError when the task is cancelled (the loops return on either error).
@Suite struct LoopTimerTests {
    @Test func shortSleepEndsNormally() async throws {
        try await LoopTimer.sleep(nanoseconds: 1_000_000)
    }

    @Test func cancellationEndsALongSleep() async {
        let sleeper = Task { () -> (any Error)? in
            do { try await LoopTimer.sleep(nanoseconds: 3_600_000_000_000) } catch { return error }
            return nil
        }
        sleeper.cancel()
        let error = await sleeper.value
        #expect(error is CancellationError)
    }

    @Test func alreadyCancelledTaskDoesNotSleep() async {
        let sleeper = Task { () -> (any Error)? in
            withUnsafeCurrentTask { $0?.cancel() }
            do { try await LoopTimer.sleep(nanoseconds: 3_600_000_000_000) } catch { return error }
            return nil
        }
        #expect(await sleeper.value is CancellationError)
    }
}
