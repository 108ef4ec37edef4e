import NIOCore
import NIOPosix
import Synchronization

/// bcrypt off the shared async executor. A check costs ~60–120 ms of CPU on purpose; run on
/// the cooperative pool, a few dozen wrong passwords at once stalled every other request
/// (health checks, ingest). Here they queue for a small set of threads of their own, and the
/// queue is bounded: past `maxQueued` a login is refused at once rather than waiting behind
/// an attacker's work.
final class BcryptPool: Sendable {
    /// One per process: the threads live as long as the process, whatever number of
    /// `AccessControl` values (tests make many) share them.
    static let shared = BcryptPool(threads: max(1, min(4, System.coreCount / 2)), maxQueued: 64)

    private let pool: NIOThreadPool
    let threads: Int
    let maxQueued: Int
    private let queued = Atomic<Int>(0)

    init(threads: Int, maxQueued: Int) {
        self.threads = threads
        self.maxQueued = maxQueued
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    struct Saturated: Error {}

    /// Runs a bcrypt check on the pool; throws `Saturated` without running it when
    /// `maxQueued` checks are already waiting or running.
    func run<T: Sendable>(_ check: @escaping @Sendable () -> T) async throws -> T {
        let n = queued.wrappingAdd(1, ordering: .relaxed).newValue
        defer { queued.wrappingSubtract(1, ordering: .relaxed) }
        guard n <= maxQueued else { throw Saturated() }
        return try await pool.runIfActive(check)
    }
}
