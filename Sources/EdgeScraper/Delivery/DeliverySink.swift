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

    public func enqueue(_ batch: EncodedBatch) async throws {
        scraped.inc(batch.entries.count)
        let eps = endpoints.withLock { $0 }
        // One endpoint's failing disk must not cost the others their copy.
        var firstError: (any Error)?
        // Every endpoint's records are written before any fsync is waited for: a kill -9 while
        // one queue's fsync runs must not leave the scrape in that queue and not in the next.
        var written: [(queue: DiskQueue, write: QueueWrite)] = []
        written.reserveCapacity(eps.count)
        for ep in eps {
            let out = ep.rules.isEmpty ? batch : relabel(batch, ep.rules)
            let records = WriteRecords.encode(out, maxSamplesPerRecord: ep.queue.maxSamplesPerRecord)
            if records.isEmpty { continue }
            do {
                written.append((ep.queue, try await ep.queue.write(records, key: batch.key)))
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

    /// The batch after `rules`: labels are decoded, relabeled and encoded again, each distinct
    /// series once.
    private func relabel(_ batch: EncodedBatch, _ rules: [RelabelRule]) -> EncodedBatch {
        var out = EncodedBatch(labels: [], entries: [], key: batch.key)
        out.entries.reserveCapacity(batch.entries.count)
        // Entries of one series share their bytes (the scrape's arena): relabel each span once.
        var done: [UInt64: (offset: UInt32, length: UInt32)?] = [:]
        var dropped = 0
        for e in batch.entries {
            let span = UInt64(e.offset) << 32 | UInt64(e.length)
            let target: (offset: UInt32, length: UInt32)?
            if let known = done[span] {
                target = known
            } else {
                target = batch.labels(of: e).flatMap { Relabel.process(Labels($0), rules) }.flatMap { ls in
                    let start = out.labels.count
                    guard !ls.isEmpty else { return nil }
                    EncodedLabels.append(ls.pairs, to: &out.labels)
                    // Relabeling can lengthen labels; what would not fit in 4 GiB is not sent.
                    guard let offset = UInt32(exactly: start), let length = UInt32(exactly: out.labels.count - start),
                          UInt32(exactly: out.labels.count) != nil else {
                        out.labels.removeSubrange(start...)
                        return nil
                    }
                    return (offset, length)
                }
                done[span] = target
            }
            if let t = target {
                out.entries.append(EncodedBatch.Entry(offset: t.offset, length: t.length, sample: e.sample))
            } else {
                dropped += 1
            }
        }
        relabelDropped.inc(dropped)
        return out
    }
}
