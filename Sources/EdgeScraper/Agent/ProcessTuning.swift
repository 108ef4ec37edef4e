import CEdgeExecutorHook
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings of the edge agent, applied once by `main` before anything touches NIO's
/// singletons or starts a thread (both settings are read only then). The agent runs on 125,000
/// edge boxes; each setting is measured in docs/benchmarks.md ("Edge agent, issue 15").
public enum EdgeProcessTuning {
    public static func apply() {
        // One event loop and one blocking-I/O thread are enough for a few dozen scrape and
        // remote-write connections and the queue's fsyncs (group commit: concurrent appends share
        // one). NIO's default is one of each per core, which on a large edge node is many idle
        // threads, each with its own stack and malloc arena.
        NIOSingletons.groupLoopCountSuggestion = 1
        NIOSingletons.blockingPoolThreadCountSuggestion = 1
        // Swift concurrency's jobs run on that event loop instead of Dispatch's cooperative pool:
        // a scrape's or a send's continuation then resumes on the thread that completed its I/O,
        // without waking another thread (a quarter of the agent's CPU went to such hand-offs;
        // docs/benchmarks.md, "Edge agent, issue 15: CPU per sample"). Timers: `LoopTimer`.
        // If another hook is already set the agent keeps it and works as before, with hand-offs.
        _ = runGlobalJobsOnEventLoop()
        #if os(Linux) && canImport(Glibc)
        // glibc gives each thread that allocates an arena of its own (up to 8 per core); freed
        // memory in one arena cannot serve another thread, so a handful of threads hold several
        // partly empty heaps. At the edge's allocation rate one arena has no contention to speak of.
        _ = edgeMallopt(-8 /* M_ARENA_MAX */, 1)
        #endif
    }
}

extension EdgeProcessTuning {
    /// What NIO's `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor` does,
    /// with the hook set by a link-time reference instead of dlsym (CEdgeExecutorHook says why).
    /// The hook has the runtime's signature and the Swift calling convention, as NIO's.
    static func runGlobalJobsOnEventLoop() -> Bool {
        typealias Original = @convention(thin) (UnownedJob) -> Void
        typealias Hook = @convention(thin) (UnownedJob, Original) -> Void
        // `any()` is the loop this thread runs, if it runs one: no wake-up, no hand-off.
        let hook: Hook = { job, _ in MultiThreadedEventLoopGroup.singleton.any().enqueue(ExecutorJob(job)) }
        return withUnsafeTemporaryAllocation(of: Hook.self, capacity: 1) { slot in
            slot.baseAddress!.initialize(to: hook)
            return slot.baseAddress!.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) {
                edge_install_enqueue_global_hook($0.pointee)
            }
        }
    }
}

#if os(Linux) && canImport(Glibc)
/// glibc's `mallopt` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") func edgeMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif
