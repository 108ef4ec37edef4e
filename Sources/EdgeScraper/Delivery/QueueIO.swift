import Glibc

// Small helpers for delivery: the edge's error type and clocks. The queue itself, its
// framing and the file system calls are DurableIO's.

public struct QueueError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }

    init(_ message: String) { self.message = message }
}

enum DeliveryClock {
    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
