import Synchronization

/// Admission for API queries (`query.max_concurrency`): at most `maxConcurrent` run at once, up to
/// `maxQueued` more wait in arrival order, and a waiter gives up after its wait limit. Without it,
/// a handful of heavy queries take every core and all memory, and ingest and `/-/healthy` stall
/// behind them. Prometheus queues the same way (its `query.max-concurrency`, default 20) but
/// without a bound on the queue; ours has one, so a flood is refused cheaply with a 503.
final class QueryGate: Sendable {
    enum Outcome: Equatable, Sendable {
        case admitted
        /// `maxQueued` requests are already waiting.
        case queueFull
        /// No slot freed within the wait limit (or the request went away while waiting).
        case timedOut
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Outcome, Never>
        let timer: Task<Void, Never>
    }

    private struct State {
        var running = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
    }

    let maxConcurrent: Int
    let maxQueued: Int
    private let state = Mutex(State())

    init(maxConcurrent: Int, maxQueued: Int) {
        self.maxConcurrent = Swift.max(1, maxConcurrent)
        self.maxQueued = Swift.max(0, maxQueued)
    }

    var running: Int { state.withLock { $0.running } }
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// Waits for a slot for at most `maxWait`. After `.admitted` the caller must call `leave()`.
    func enter(maxWait: Duration) async -> Outcome {
        let id = state.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
                // The timer exists before the waiter is visible, so `leave` can always cancel it.
                let timer = Task { [weak self] in
                    do { try await Task.sleep(for: maxWait) } catch { return }
                    self?.give(up: id)
                }
                let immediate: Outcome? = state.withLock { s in
                    if s.running < maxConcurrent && s.waiting.isEmpty { s.running += 1; return .admitted }
                    if s.waiting.count >= maxQueued { return .queueFull }
                    s.waiting.append(Waiter(id: id, continuation: c, timer: timer))
                    return nil
                }
                if let immediate {
                    timer.cancel()
                    c.resume(returning: immediate)
                }
            }
        } onCancel: {
            give(up: id)
        }
    }

    /// Hands the slot to the longest waiter, or frees it.
    func leave() {
        let next: Waiter? = state.withLock { s in
            if s.waiting.isEmpty {
                s.running -= 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        if let next {
            next.timer.cancel()
            next.continuation.resume(returning: .admitted)
        }
    }

    /// A waiter's time is up (or its task was cancelled): take it out of the queue if still there.
    private func give(up id: UInt64) {
        let w: Waiter? = state.withLock { s in
            guard let i = s.waiting.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiting.remove(at: i)
        }
        if let w {
            w.timer.cancel()
            w.continuation.resume(returning: .timedOut)
        }
    }
}
