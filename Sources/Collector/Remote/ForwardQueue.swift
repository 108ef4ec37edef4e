import DurableIO
import Glibc
import Logging
import NIOPosix
import RemoteWrite
import Storage
import TSDB

/// The collector's local forward queue (`DATA/forward-queue`) in front of `storage.remote`:
/// validated ingest batches go in as remote-write records, fsynced before ingest answers 2xx.
/// It is DurableIO's `DiskQueue`, the edge's queue implementation, with `WhenFull.refuse`:
/// over `queue.max_bytes` an append is refused and ingest answers 503, so the senders keep
/// their own backlog instead of the collector dropping it.
///
/// The forward queue has one stream (one sender keeps everything in order), so a record's
/// stream key is free and carries its append time in Unix seconds: the sender reads the age of
/// the oldest unsent sample from it, across restarts.
struct ForwardQueue: Sendable {
    let queue: DiskQueue
    /// Samples per record; the sender packs several records into one request.
    static let samplesPerRecord = 2_000

    static func directory(dataDir: String) -> String { dataDir + "/forward-queue" }

    init(dataDir: String, maxBytes: Int64, logger: Logger, metrics: ForwardMetrics) throws {
        queue = try DiskQueue(dir: Self.directory(dataDir: dataDir), maxBytes: maxBytes, maxSamplesPerRecord: Self.samplesPerRecord,
                              whenFull: .refuse, setting: "storage.remote.queue (under --data-dir)", logger: logger,
                              observer: metrics.queueObserver, fsync: Self.poolFsync)
    }

    /// fsync on NIO's blocking-I/O pool, not on a cooperative thread that serves requests.
    static let poolFsync: SegmentedLog.FsyncRunner = { fd in
        (try? await NIOThreadPool.singleton.runIfActive { () -> Int32 in fsync(fd) == 0 ? 0 : errno }) ?? EIO
    }

    /// Appends one validated batch and returns once it is fsynced; throws `DurableQueueError`
    /// with `isFull` when the queue holds `max_bytes` already (nothing of the batch is queued).
    func append(_ batch: [SeriesSamples], nowMs: Int64) async throws {
        let series = batch.map { TimeSeries(labels: $0.labels.pairs, samples: $0.samples) }
        let records = WriteRecords.encode(series, maxSamplesPerRecord: Self.samplesPerRecord)
        guard !records.isEmpty else { return }
        try await queue.append(records, key: UInt32(clamping: max(nowMs / 1000, 0)))
    }
}
