import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Runs independent, CPU-bound work items on all cores and returns results in input order.
/// Items are handed out in contiguous runs so neighbours (often similar in size) share a worker.
public enum ParallelMap {
    public static let cores = Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    public static func run<T>(_ n: Int, minPerWorker: Int = 64, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        try run(n, minPerWorker: minPerWorker, state: {}) { _, i in try body(i) }
    }

    /// As `run`, with a `state` made once per worker and handed to each of its items in turn:
    /// a cache that pays off across neighbouring items, without a lock.
    public static func run<T, S>(_ n: Int, minPerWorker: Int = 64, state: @Sendable () -> S,
                                 _ body: @Sendable (inout S, Int) throws -> T) throws -> [T] {
        let workers = Swift.min(cores, n / Swift.max(1, minPerWorker))
        if workers <= 1 {
            var s = state()
            return try (0..<n).map { try body(&s, $0) }
        }
        var errors = [(any Error)?](repeating: nil, count: workers)
        var done = [Int](repeating: 0, count: workers)
        // Results are written in place: each worker initializes only its own slots, so the
        // shared buffers need no lock. After a failure, what was initialized is torn down again.
        let results = [T](unsafeUninitializedCapacity: n) { buf, count in
            errors.withUnsafeMutableBufferPointer { errs in
                done.withUnsafeMutableBufferPointer { dn in
                    nonisolated(unsafe) let buf = buf, errs = errs, dn = dn
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        let lo = n * w / workers, hi = n * (w + 1) / workers
                        // Counted locally and stored once: workers' counters share a cache line.
                        var made = 0
                        defer { dn[w] = made }
                        var s = state()
                        do {
                            for i in lo..<hi {
                                (buf.baseAddress! + i).initialize(to: try body(&s, i))
                                made += 1
                            }
                        } catch {
                            errs[w] = error
                        }
                    }
                }
            }
            if errors.contains(where: { $0 != nil }) {
                for w in 0..<workers { (buf.baseAddress! + n * w / workers).deinitialize(count: done[w]) }
                count = 0
            } else {
                count = n
            }
        }
        if let e = errors.lazy.compactMap({ $0 }).first { throw e }
        return results
    }
}
