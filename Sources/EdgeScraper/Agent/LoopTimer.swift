import NIOCore
import NIOPosix

/// Sleeps on a timer of NIO's event loop instead of `Task.sleep`'s. The edge agent runs Swift
/// concurrency's jobs on its one event loop (`EdgeProcessTuning`), but the runtime fires
/// `Task.sleep`'s timers on a Dispatch thread and runs the woken task there until it next
/// suspends: every scrape tick would wake a second thread and hand the scrape back to the loop.
/// Here the timer fires on the loop and the task resumes on it. Without the tuning (tests, the
/// simulator) it behaves like `Task.sleep` with one hop more.
enum LoopTimer {
    /// Like `Task.sleep(nanoseconds:)`: throws `CancellationError` when the task is cancelled
    /// before or during the sleep.
    static func sleep(nanoseconds: UInt64, on loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) async throws {
        try Task.checkCancellation()
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(clamping: nanoseconds))) {}
        do {
            try await withTaskCancellationHandler {
                try await timer.futureResult.get()
            } onCancel: {
                timer.cancel()
            }
        } catch {
            // The timer fails only when cancelled (above) or when the loop shuts down: both end the sleeper.
            throw CancellationError()
        }
    }
}
