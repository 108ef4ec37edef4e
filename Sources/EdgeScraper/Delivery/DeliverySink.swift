import DurableIO
import RemoteWrite
import Storage
import Synchronization

/// Where the scrape side hands its samples: one persistent queue per `remote_write` endpoint.
/// `write_relabel_configs` are applied here, before the samples are written to that
/// endpoint's queue, so the queue holds exactly the bytes that go on the wire and the sender
/// never decodes protobuf. (A reload that changes the rules therefore affects only samples
/// scraped after it; what is already queued goes out as it was queued.)
public final class DeliverySink: SampleSink {
    public struct Endpoint: Sendable {
        public var id: String
        public var rules: [RelabelRule]
        public var queue: DiskQueue

        public init(id: String, rules: [RelabelRule], queue: DiskQueue) {
            self.id = id
            self.rules = rules
            self.queue = queue
        }
    }

    private let endpoints = Mutex<[Endpoint]>([])
    /// Latest metadata per metric family, sent every minute by each RemoteWriter, as
    /// Prometheus' agent does (`metadata_config: { send: true, send_interval: 1m }`).
    private let metadata = Mutex<[String: MetricMetadata]>([:])
    static let maxMetadataFamilies = 100_000
    private let scraped: Counter
    private let relabelDropped: Counter

    public init(registry: MetricsRegistry? = nil) {
        scraped = registry?.counter("edge_scraper_samples_scraped_total",
                                    "Samples handed over by the scrape side (after metric relabeling).") ?? Counter()
        relabelDropped = registry?.counter("edge_scraper_samples_write_relabel_dropped_total",
                                           "Samples not queued because write_relabel_configs dropped their series.") ?? Counter()
    }

    public func setEndpoints(_ eps: [Endpoint]) { endpoints.withLock { $0 = eps } }

    public var current: [Endpoint] { endpoints.withLock { $0 } }

    public func recordMetadata(_ list: [MetricMetadata]) {
        if list.isEmpty { return }
        // Called with every scrape's families, which rarely change: one hash lookup per family,
        // and an unchanged entry is left as it is.
        metadata.withLock { m in
            for e in list where !e.family.isEmpty {
                if let i = m.index(forKey: e.family) {
                    if m.values[i] != e { m.values[i] = e }
                } else if m.count < Self.maxMetadataFamilies {
                    m[e.family] = e
                }
            }
        }
    }

    /// All families' latest metadata, by name.
    public func metadataSnapshot() -> [MetricMetadata] {
        metadata.withLock { $0.values.sorted { $0.family < $1.family } }
    }

    public func enqueue(_ series: [TimeSeries]) async throws {
        var n = 0
        for ts in series { n += ts.samples.count }
        scraped.inc(n)
        let eps = endpoints.withLock { $0 }
        let key = DiskQueue.streamKey(series)
        // One endpoint's failing disk must not cost the others their copy.
        var firstError: (any Error)?
        // Every endpoint's records are written before any fsync is waited for: a kill -9 while
        // one queue's fsync runs must not leave the scrape in that queue and not in the next.
        var written: [(queue: DiskQueue, write: QueueWrite)] = []
        written.reserveCapacity(eps.count)
        for ep in eps {
            let out = ep.rules.isEmpty ? series : relabel(series, ep.rules)
            let records = DiskQueue.encode(out, maxSamplesPerRecord: ep.queue.maxSamplesPerRecord)
            if records.isEmpty { continue }
            do {
                written.append((ep.queue, try await ep.queue.write(records, key: key)))
            } catch {
                firstError = firstError ?? error
            }
        }
        for w in written {
            do {
                try await w.queue.waitDurable(w.write)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    private func relabel(_ series: [TimeSeries], _ rules: [RelabelRule]) -> [TimeSeries] {
        var out: [TimeSeries] = []
        out.reserveCapacity(series.count)
        var dropped = 0
        for ts in series {
            if let ls = Relabel.process(Labels(ts.labels), rules), !ls.isEmpty {
                out.append(TimeSeries(labels: ls.pairs, samples: ts.samples))
            } else {
                dropped += ts.samples.count
            }
        }
        relabelDropped.inc(dropped)
        return out
    }
}
