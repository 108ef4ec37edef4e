import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Runs independent, CPU-bound work items on all cores and returns results in input order.
/// Items are handed out in contiguous runs so neighbours (often similar in size) share a worker.
public enum ParallelMap {
    public static let cores = Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    public static func run<T>(_ n: Int, minPerWorker: Int = 64, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let workers = Swift.min(cores, n / Swift.max(1, minPerWorker))
        if workers <= 1 { return try (0..<n).map(body) }
        var results = [T?](repeating: nil, count: n)
        var errors = [(any Error)?](repeating: nil, count: workers)
        results.withUnsafeMutableBufferPointer { res in
            errors.withUnsafeMutableBufferPointer { errs in
                // Each worker writes only its own slots, so the shared buffers need no lock.
                nonisolated(unsafe) let res = res, errs = errs
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let lo = n * w / workers, hi = n * (w + 1) / workers
                    do {
                        for i in lo..<hi { res[i] = try body(i) }
                    } catch {
                        errs[w] = error
                    }
                }
            }
        }
        if let e = errors.lazy.compactMap({ $0 }).first { throw e }
        return results.map { $0! }
    }
}
