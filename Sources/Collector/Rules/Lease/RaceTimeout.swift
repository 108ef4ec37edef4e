import Synchronization

/// Runs `op` in its own task and returns its result, or throws `TimedOut` after `limit` even
/// if `op` does not return: a query on a half-dead PostgreSQL connection may not honour
/// cancellation, and the lease loop must keep its rhythm (and notice its own lapse) anyway.
/// The abandoned task is cancelled and finishes whenever its connection gives up.
func raceTimeout<T: Sendable>(_ limit: Duration, _ op: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = Race<T>()
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
        race.start(c, limit: limit, op)
    }
}

/// The first of the work and the timer to finish resumes the continuation; the other is cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }
    private let state = Mutex(State())

    func start(_ c: CheckedContinuation<T, Error>, limit: Duration, _ op: @escaping @Sendable () async throws -> T) {
        state.withLock { $0.continuation = c }
        let work = Task {
            do { self.finish(.success(try await op())) } catch { self.finish(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            if !Task.isCancelled { self.finish(.failure(TimedOut(limit: limit))) }
        }
        state.withLock { $0.work = work; $0.timer = timer }
    }

    private func finish(_ r: Result<T, Error>) {
        let (c, work, timer) = state.withLock { s in
            defer { s.continuation = nil }
            return (s.continuation, s.work, s.timer)
        }
        guard let c else { return }
        work?.cancel()
        timer?.cancel()
        c.resume(with: r)
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer within \(limit)" }
}
