import DurableIO
import Glibc
import Logging
import NIOPosix
import RemoteWrite
import Storage

/// The edge's use of DurableIO's `DiskQueue`: scraped series go in as remote-write records,
/// the budget drops the oldest segments, fsyncs run on NIO's thread pool and the queue's
/// numbers land in the edge's own metrics.
extension DiskQueue: SampleSink {
    public init(dir: String, maxBytes: Int64, segmentBytes: Int64? = nil, maxSamplesPerRecord: Int = 2_000,
                logger: Logger = Logger(label: "edge.queue"), metrics: QueueMetrics = QueueMetrics()) throws {
        try self.init(dir: dir, maxBytes: maxBytes, segmentBytes: segmentBytes, maxSamplesPerRecord: maxSamplesPerRecord,
                      whenFull: .dropOldest, setting: "queue.dir", logger: logger, observer: metrics.observer,
                      fsync: DiskQueue.nioFsync, sleep: DiskQueue.loopSleep)
    }

    /// The sender's batch deadline waits on the event loop's timers: `Task.sleep` would wake
    /// Dispatch's timer thread and hand the reader back to the loop at every deadline.
    static let loopSleep: Sleeper = { try? await LoopTimer.sleep(nanoseconds: nanoseconds($0)) }

    /// A duration in whole nanoseconds, clamped to 0...UInt64.max.
    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        if s < 0 || (s == 0 && a <= 0) { return 0 }
        let (n, o1) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, o2) = n.addingReportingOverflow(UInt64(max(a, 0) / 1_000_000_000))
        return o1 || o2 ? .max : sum
    }

    /// fsync on NIO's blocking-I/O pool: the cooperative threads (2 on a small node) keep
    /// scraping while the disk works.
    static let nioFsync: SegmentedLog.FsyncRunner = { fd in
        (try? await NIOThreadPool.singleton.runIfActive { () -> Int32 in fsync(fd) == 0 ? 0 : errno }) ?? EIO
    }

    /// SampleSink: split into records of at most `maxSamplesPerRecord` samples, append and wait
    /// until they are on disk.
    public func enqueue(_ batch: EncodedBatch) async throws {
        let records = WriteRecords.encode(batch, maxSamplesPerRecord: maxSamplesPerRecord)
        guard !records.isEmpty else { return }
        try await append(records, key: batch.key)
    }

    /// `enqueue` of whole series: a series of many samples (a backfill) stays one message per record.
    public func enqueue(_ series: [TimeSeries]) async throws {
        let records = WriteRecords.encode(series, maxSamplesPerRecord: maxSamplesPerRecord)
        guard !records.isEmpty else { return }
        try await append(records, key: DiskQueue.streamKey(series.first?.labels ?? []))
    }

    /// FNV-1a of the job and instance among `labels`: the stream key of a scrape target's records.
    public nonisolated static func streamKey(_ labels: [Label]) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for l in labels where l.name == "job" || l.name == "instance" {
            for b in l.value.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            h = (h ^ 0xFF) &* 16_777_619
        }
        return h
    }
}

/// The queue's own metrics; defaults are detached so tests need no registry.
public struct QueueMetrics: Sendable {
    public var appended: Counter
    public var droppedFull: Counter
    public var droppedCorrupt: Counter
    public var bytes: Gauge
    public var pending: Gauge
    public var segments: Gauge
    public var fsyncs: Counter
    public var droppedWriteError: Counter

    public init() {
        appended = Counter(); droppedFull = Counter(); droppedCorrupt = Counter(); droppedWriteError = Counter()
        bytes = Gauge(); pending = Gauge(); segments = Gauge(); fsyncs = Counter()
    }

    public init(registry: MetricsRegistry, remote queue: String) {
        let l = [("remote_name", queue)]
        appended = registry.counter("edge_scraper_queue_samples_appended_total", "Samples durably appended to the on-disk queue.", l)
        droppedFull = registry.counter("edge_scraper_samples_dropped_total", "Samples dropped before delivery, by reason.",
                                       l + [("reason", "queue_full")])
        droppedCorrupt = registry.counter("edge_scraper_samples_dropped_total", "Samples dropped before delivery, by reason.",
                                          l + [("reason", "queue_corrupt")])
        droppedWriteError = registry.counter("edge_scraper_samples_dropped_total", "Samples dropped before delivery, by reason.",
                                             l + [("reason", "queue_write_error")])
        bytes = registry.gauge("edge_scraper_queue_bytes", "Bytes of queue segments on disk.", l)
        pending = registry.gauge("edge_scraper_queue_pending_samples", "Samples in the queue not yet acknowledged by the receiver.", l)
        segments = registry.gauge("edge_scraper_queue_segments", "Queue segment files on disk.", l)
        fsyncs = registry.counter("edge_scraper_queue_fsyncs_total", "fsync calls made by the queue (appends share them).", l)
    }

    /// What DurableIO's queue reports, onto these counters and gauges.
    var observer: QueueObserver {
        var o = QueueObserver()
        let m = self
        o.appended = { m.appended.inc($0) }
        o.droppedFull = { m.droppedFull.inc($0) }
        o.droppedCorrupt = { m.droppedCorrupt.inc($0) }
        o.droppedWriteError = { m.droppedWriteError.inc($0) }
        o.bytes = { m.bytes.set(Double($0)) }
        o.pending = { m.pending.set($0) }
        o.segments = { m.segments.set($0) }
        o.fsyncs = { m.fsyncs.inc() }
        return o
    }
}
