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
        var h = LabelHash(seed: seed ^ UInt64(truncatingIfNeeded: labels.pairs.count))
        for l in labels.pairs {
            h.absorb(l.name)
            h.absorb(l.value)
        }
        return Int(truncatingIfNeeded: h.state & mask)
    }

    /// `hash(_:)` of the label set in `span` (the same bytes give the same hash).
    func hash(_ lb: LabelBytes, _ span: LabelBytes.Span) -> Int {
        var h = LabelHash(seed: seed ^ UInt64(truncatingIfNeeded: span.count))
        lb.absorb(span, into: &h)
        return Int(truncatingIfNeeded: h.state & mask)
    }
}
