#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Gives freed heap pages back to the kernel once per maintenance pass.
///
/// The collector keeps freed heap by default (`serve` raises glibc's trim and mmap thresholds so
/// that each query does not fault its decoded samples back in), so pages freed by ingest request
/// buffers, head compaction and queries would otherwise stay resident for good. Go's runtime
/// (VictoriaMetrics) scavenges the same way in the background. Once a minute keeps the
/// thresholds' benefit for query bursts while a quiet collector shrinks back to what it holds.
enum HeapReturn {
    /// `malloc_trim(0)`: releases whole free pages inside every arena (madvise), not just the top.
    static func trim(logger: Logger) {
        #if os(Linux) && canImport(Glibc)
        let start = ContinuousClock.now
        let released = glibcMallocTrim(0)
        logger.debug("heap trim: released=\(released != 0) took_ms=\(Int((ContinuousClock.now - start).seconds * 1000))")
        #endif
    }
}

#if os(Linux) && canImport(Glibc)
/// glibc's `malloc_trim` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("malloc_trim") func glibcMallocTrim(_ pad: Int) -> Int32
#endif
