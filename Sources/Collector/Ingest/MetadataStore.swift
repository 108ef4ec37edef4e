import PromQL
import RemoteWrite
import Storage
import Synchronization

/// The latest TYPE/HELP/UNIT per metric family and cluster, from remote-write requests (which
/// carry them beside the samples, as Prometheus' agent sends them). Memory only: senders repeat
/// metadata every minute, so a restart forgets it for at most that long.
///
/// Scope rule: a family's entry from cluster C is shown to a caller only if the caller can see
/// at least one series of that family in C (its name, or the family plus a histogram/summary/
/// counter suffix). So metadata never reveals a metric or a cluster the caller cannot query.
final class MetadataStore: Sendable {
    struct Entry: Hashable, Sendable {
        var type: String
        var help: String
        var unit: String
    }

    /// Families beyond this are dropped (a sender cannot grow memory without bound).
    let maxFamilies: Int
    /// family -> cluster ("" when the sender has no cluster identity) -> latest entry.
    private let state = Mutex<[String: [String: Entry]]>([:])

    init(maxFamilies: Int = 100_000) { self.maxFamilies = maxFamilies }

    static func typeName(_ t: MetricType) -> String {
        switch t {
        case .unknown: return "unknown"
        case .counter: return "counter"
        case .gauge: return "gauge"
        case .histogram: return "histogram"
        case .gaugeHistogram: return "gaugehistogram"
        case .summary: return "summary"
        case .info: return "info"
        case .stateSet: return "stateset"
        }
    }

    func record(_ metadata: [MetricMetadata], cluster: String?) {
        if metadata.isEmpty { return }
        let c = cluster ?? ""
        state.withLock { s in
            for m in metadata where !m.family.isEmpty {
                if s[m.family] == nil && s.count >= maxFamilies { continue }
                s[m.family, default: [:]][c] = Entry(type: Self.typeName(m.type), help: m.help, unit: m.unit)
            }
        }
    }

    /// Families (sorted by name) with their distinct entries, narrowed to what `storage` (already
    /// scoped to the caller) holds series of. `limit` < 0: all.
    func visible(metric: String?, limit: Int, storage: any Queryable) throws -> [(name: String, entries: [Entry])] {
        let snapshot = state.withLock { s -> [String: [String: Entry]] in
            if let metric { return s[metric].map { [metric: $0] } ?? [:] }
            return s
        }
        if snapshot.isEmpty || limit == 0 { return [] }
        let q = try storage.querier(mint: TimeMath.minTime, maxt: TimeMath.maxTime)
        var namesByCluster: [String: Set<String>] = [:]
        func names(_ cluster: String) throws -> Set<String> {
            if let n = namesByCluster[cluster] { return n }
            let m: [LabelMatcher] = cluster.isEmpty ? [] : [try LabelMatcher(.equal, SeriesValidator.clusterLabel, cluster)]
            let n = Set(try q.labelValues(Labels.metricName, m))
            namesByCluster[cluster] = n
            return n
        }
        var out: [(name: String, entries: [Entry])] = []
        for family in snapshot.keys.sorted() {
            if limit > 0 && out.count >= limit { break }
            var entries = Set<Entry>()
            for (cluster, e) in snapshot[family]! {
                let seen = try names(cluster)
                if Self.seriesNames(family).contains(where: { seen.contains($0) }) { entries.insert(e) }
            }
            if !entries.isEmpty {
                out.append((family, entries.sorted { ($0.type, $0.help, $0.unit) < ($1.type, $1.help, $1.unit) }))
            }
        }
        return out
    }

    /// The series names a family's samples are stored under.
    static func seriesNames(_ family: String) -> [String] {
        [family] + ["_bucket", "_count", "_sum", "_total", "_created", "_info"].map { family + $0 }
    }
}
