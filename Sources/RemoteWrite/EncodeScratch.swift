import Synchronization

/// One reusable buffer for protobuf that is compressed right away (`WireEncoder.encodeCompressed`).
/// A fresh array per record was fresh memory per record: glibc returns the heap's top to the
/// kernel once more than its trim threshold is free, so each scrape's ~110 KiB of protobuf was
/// page faults and page clearing again. The buffer stays resident (up to `maxKept` bytes, and
/// only the pages ever written); a caller that finds it taken by another thread, or needs more
/// than `maxKept`, uses a buffer of its own for that call.
enum EncodeScratch {
    /// Larger requests (the collector's forwarding batches) allocate per call, as before.
    static let maxKept = 1 << 20

    private struct Buffer: @unchecked Sendable {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
    }

    private static let kept = Mutex<Buffer?>(nil)

    static func with<R>(bytes n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> R) -> R {
        var buf = kept.withLock { k -> Buffer? in
            let b = k
            k = nil
            return b
        }
        if let b = buf, b.capacity < n {
            b.base.deallocate()
            buf = nil
        }
        // A quarter more than asked, so that slightly larger records do not reallocate each time.
        let b = buf ?? Buffer(base: .allocate(capacity: max(n + n / 4, 4096)), capacity: max(n + n / 4, 4096))
        defer {
            let back: Buffer? = b.capacity <= maxKept ? kept.withLock { k in
                if k == nil { k = b; return nil }
                return b
            } : b
            back?.base.deallocate()
        }
        return body(b.base)
    }
}
