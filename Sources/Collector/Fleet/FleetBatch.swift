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
        let cluster = identity?.cluster
        var slotByName: [String: Int] = [:]
        observations.reserveCapacity(series.count)
        if let identity {
            groups.append(ClusterGroup(name: identity.cluster, region: identity.label("region"), site: identity.label("site")))
        }
        var lastName = ""
        var lastSlot = -1
        for s in series where !s.samples.isEmpty {
            let slot: Int
            if cluster != nil {
                slot = 0
            } else {
                guard let c = s.labels["cluster"] else { continue }
                if lastSlot >= 0 && c == lastName {
                    slot = lastSlot
                } else if let i = slotByName[c] {
                    slot = i
                } else {
                    slot = groups.count
                    groups.append(ClusterGroup(name: c))
                    slotByName[c] = slot
                }
                lastName = c
                lastSlot = slot
            }
            var g = groups[slot]
            if g.region == nil, let r = s.labels["region"] { g.region = r }
            if g.site == nil, let r = s.labels["site"] { g.site = r }
            var upValue: Double?
            var upT = Int64.min
            let isUp = s.labels.metricName == "up"
            for x in s.samples {
                if x.t < g.minT { g.minT = x.t }
                if x.t > g.maxT { g.maxT = x.t }
                if isUp && x.t >= upT { upT = x.t; upValue = x.v }
            }
            g.samples += s.samples.count
            groups[slot] = g
            observations.append(SeriesObservation(slot: slot, hash: Self.seriesHash(s.labels),
                                                  samples: s.samples.count, upValue: upValue, upT: upT))
        }
    }

    /// FNV-1a over the label pairs, finished with MurmurHash3's mixer so every bit is usable
    /// by the HyperLogLog. Deterministic (unlike `hashValue`), so estimates are reproducible.
    static func seriesHash(_ labels: Labels) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for l in labels {
            for b in l.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xff) &* 0x100_0000_01b3
            for b in l.value.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xfe) &* 0x100_0000_01b3
        }
        return HyperLogLog.mix(h)
    }
}
