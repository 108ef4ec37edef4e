import Storage

/// The label-set hash the head finds series by.
struct SeriesHasher {
    /// Per-process secret, so senders cannot craft label sets with equal hashes (they would pile
    /// up in the head's `hashCollisions` and be scanned linearly).
    private let seed: UInt64
    /// Bits kept (all but in tests that force collisions).
    private let mask: UInt64

    /// `seed` and `mask` are for tests only.
    init(seed: UInt64? = nil, mask: UInt64 = .max) {
        self.seed = seed ?? UInt64.random(in: .min ... .max)
        self.mask = mask
    }

    /// The key of the head's `byHash`. `Labels.hashValue` runs SipHash over every string and was
    /// ~4 % of ingest CPU; this multiply-fold hash reads eight bytes at a time. It never decides
    /// identity: the head confirms equal hashes by comparing the full labels, and real
    /// collisions go to `hashCollisions`.
    func hash(_ labels: Labels) -> Int {
        var h = seed ^ UInt64(truncatingIfNeeded: labels.pairs.count)
        for l in labels.pairs {
            h = SeriesHasher.absorb(l.name, h)
            h = SeriesHasher.absorb(l.value, h)
        }
        return Int(truncatingIfNeeded: h & mask)
    }

    /// `hash(_:)` of the label set in `span` (the same bytes give the same hash).
    func hash(_ lb: LabelBytes, _ span: LabelBytes.Span) -> Int {
        var h = seed ^ UInt64(truncatingIfNeeded: span.count)
        lb.bytes.withUnsafeBufferPointer { b in
            let r = lb.ranges
            var k = Int(span.first) * 4
            for _ in 0..<(Int(span.count) * 2) {
                h = SeriesHasher.absorb(UnsafeBufferPointer(rebasing: b[Int(r[k])..<Int(r[k]) + Int(r[k + 1])]), h)
                k += 2
            }
        }
        return Int(truncatingIfNeeded: h & mask)
    }

    @inline(__always) private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// Folds one string (its length first, so "ab","c" and "a","bc" differ) into `h`.
    @inline(__always) private static func absorb(_ s: String, _ h: UInt64) -> UInt64 {
        if let r = s.utf8.withContiguousStorageIfAvailable({ absorb($0, h) }) { return r }
        var c = s
        return c.withUTF8 { absorb($0, h) }
    }

    @inline(__always) private static func absorb(_ b: UnsafeBufferPointer<UInt8>, _ h: UInt64) -> UInt64 {
        let n = b.count
        var h = mix(h ^ UInt64(truncatingIfNeeded: n) ^ 0xA076_1D64_78BD_642F, 0xE703_7ED1_A0B4_28DB)
        guard n > 0 else { return h }
        let raw = UnsafeRawPointer(b.baseAddress!)
        var i = 0
        while i + 8 <= n {
            h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0x8EBC_6AF0_9C88_C6E3)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0, shift: UInt64 = 0
            while i < n { w |= UInt64(b[i]) << shift; shift += 8; i += 1 }
            h = mix(h ^ w, 0x5899_65CC_7537_4CC3)
        }
        return h
    }
}
