import Storage
import TSDB

/// One ingest batch grouped by cluster before the registry's lock is taken: per cluster its
/// sample count and time range, per series its hash and latest `up` value. O(series), and
/// nothing allocated per sample.
struct FleetBatch {
    /// Per series of a batch: everything the registry needs.
    struct SeriesObservation {
        var slot: Int
        var hash: UInt64
        var samples: Int
        var upValue: Double?
        var upT: Int64
    }

    struct ClusterGroup {
        var name: String
        var region: String?
        var site: String?
        var samples = 0
        var minT = Int64.max
        var maxT = Int64.min
    }

    private(set) var groups: [ClusterGroup] = []
    /// Empty when no series had samples: nothing was heard from anyone.
    private(set) var observations: [SeriesObservation] = []

    /// With an ingest identity every series counts for its cluster, and region and site come
    /// from the token when it binds them; without one (`--no-auth`) each series counts for the
    /// cluster in its own `cluster` label (series without one are skipped).
    init(identity: IngestIdentity?, series: [SeriesSamples]) {
        self.init(identity: identity, count: series.count) { SeriesView(labels: series[$0].labels, samples: series[$0].samples[...]) }
    }

    /// An ingest batch as the TSDB got it: series found by their label bytes have no `Labels`,
    /// so their labels are read from the bytes (no `String` built but the cluster's name).
    init(identity: IngestIdentity?, series: [AppendSeries], labelBytes: LabelBytes?) {
        self.init(identity: identity, count: series.count) { i in
            let s = series[i]
            if let l = s.labels { return SeriesView(labels: l, samples: s.samples) }
            guard let labelBytes else { return SeriesView(labels: Labels(), samples: []) }
            return SeriesView(bytes: labelBytes, span: s.span, samples: s.samples)
        }
    }

    /// One series' labels, as `Labels` or as bytes.
    struct SeriesView {
        private let labels: Labels?
        private let bytes: LabelBytes?
        private let span: LabelBytes.Span
        let samples: ArraySlice<Sample>

        init(labels: Labels, samples: ArraySlice<Sample>) {
            self.labels = labels; bytes = nil; span = .init(first: 0, count: 0); self.samples = samples
        }

        init(bytes: LabelBytes, span: LabelBytes.Span, samples: ArraySlice<Sample>) {
            labels = nil; self.bytes = bytes; self.span = span; self.samples = samples
        }

        subscript(name: String) -> String? {
            if let labels { return labels[name] }
            return bytes?.value(of: name, in: span)
        }

        /// Label `name` is present with value `value` (no `String` built from bytes).
        func has(_ name: String, _ value: String) -> Bool {
            if let labels { return labels[name] == value }
            return bytes?.withValue(of: name, in: span) { b in b.map { LabelBytes.equal(value, $0) } ?? false } ?? false
        }

        var isUp: Bool { has(Labels.metricName, "up") }

        var hash: UInt64 {
            if let labels { return FleetBatch.seriesHash(labels) }
            guard let bytes else { return FleetBatch.seriesHash(Labels()) }
            return FleetBatch.seriesHash(bytes, span)
        }
    }

    private init(identity: IngestIdentity?, count: Int, series: (Int) -> SeriesView) {
        let cluster = identity?.cluster
        var slotByName: [String: Int] = [:]
        observations.reserveCapacity(count)
        if let identity {
            groups.append(ClusterGroup(name: identity.cluster, region: identity.label("region"), site: identity.label("site")))
        }
        var lastName = ""
        var lastSlot = -1
        for i in 0..<count {
            let s = series(i)
            if s.samples.isEmpty { continue }
            let slot: Int
            if cluster != nil {
                slot = 0
            } else {
                // Series of one cluster come in runs: compare with the last one's name before
                // building a `String` of it.
                if lastSlot >= 0 && s.has("cluster", lastName) {
                    slot = lastSlot
                } else {
                    guard let c = s["cluster"] else { continue }
                    if let i = slotByName[c] {
                        slot = i
                    } else {
                        slot = groups.count
                        groups.append(ClusterGroup(name: c))
                        slotByName[c] = slot
                    }
                    lastName = c
                }
                lastSlot = slot
            }
            // In place: copying the group out and back retained and released its strings.
            if groups[slot].region == nil, let r = s["region"] { groups[slot].region = r }
            if groups[slot].site == nil, let r = s["site"] { groups[slot].site = r }
            var upValue: Double?
            var upT = Int64.min
            var lo = Int64.max, hi = Int64.min
            let isUp = s.isUp
            for x in s.samples {
                if x.t < lo { lo = x.t }
                if x.t > hi { hi = x.t }
                if isUp && x.t >= upT { upT = x.t; upValue = x.v }
            }
            if lo < groups[slot].minT { groups[slot].minT = lo }
            if hi > groups[slot].maxT { groups[slot].maxT = hi }
            groups[slot].samples += s.samples.count
            observations.append(SeriesObservation(slot: slot, hash: s.hash,
                                                  samples: s.samples.count, upValue: upValue, upT: upT))
        }
    }

    /// The label pairs through `LabelHash` with a fixed seed (deterministic, unlike `hashValue`,
    /// so estimates are reproducible), finished with MurmurHash3's mixer so every bit is usable
    /// by the HyperLogLog. Byte-wise FNV-1a did one multiply per byte: ~150 per series of every
    /// batch. Labels and label bytes hash alike (a series may come either way).
    static func seriesHash(_ labels: Labels) -> UInt64 {
        var h = LabelHash(seed: seriesHashSeed)
        for l in labels.pairs {
            h.absorb(l.name)
            h.absorb(l.value)
        }
        return HyperLogLog.mix(h.state)
    }

    /// `seriesHash(_:)` of the label set in `span`.
    static func seriesHash(_ lb: LabelBytes, _ span: LabelBytes.Span) -> UInt64 {
        var h = LabelHash(seed: seriesHashSeed)
        lb.absorb(span, into: &h)
        return HyperLogLog.mix(h.state)
    }

    private static let seriesHashSeed: UInt64 = 0xcbf2_9ce4_8422_2325
}
