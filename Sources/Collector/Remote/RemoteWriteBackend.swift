import DurableIO
import Logging
import ServiceLifecycle

/// `storage.remote`'s write half, wired: the forward queue ingest appends to, the sender that
/// ships it, and what `/metrics`, `/-/ready` and `/api/v1/status/tsdb` say about it. Runs as a
/// service of the collector; at shutdown the sender stops, the queue and the client close, and
/// whatever was not delivered is sent after the next start.
final class RemoteWriteBackend: Service, Sendable {
    let options: RemoteStorageOptions
    let forward: ForwardQueue
    let sender: ForwardSender
    let status: WriteBackendStatus
    let metrics: ForwardMetrics
    private let client: RemoteWriteClient
    private let logger: Logger

    init(options: RemoteStorageOptions, dataDir: String, metrics collector: CollectorMetrics, logger: Logger,
         now: @escaping @Sendable () -> Int64, tuning: ForwardSender.Tuning = ForwardSender.Tuning()) throws {
        self.options = options
        self.logger = logger
        let metrics = ForwardMetrics(registry: collector.registry)
        self.metrics = metrics
        forward = try ForwardQueue(dataDir: dataDir, maxBytes: options.queueMaxBytes, logger: logger, metrics: metrics)
        client = RemoteWriteClient(url: options.writeURL, extraHeaders: options.headers)
        status = WriteBackendStatus(writeURL: options.writeURL, metrics: metrics)
        sender = ForwardSender(queue: forward.queue, client: client, status: status, metrics: metrics, tuning: tuning,
                               logger: logger, now: now)
        logger.info("storage: remote, writes forwarded to \(options.writeURL) through \(ForwardQueue.directory(dataDir: dataDir)) (at most \(options.queueMaxBytes) bytes)")
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.sender.run() }
        await forward.queue.close()
        await client.shutdown()
    }

    /// Just before a scrape of `/metrics`: the one number that moves with the clock.
    func refreshMetrics() {
        metrics.oldestUnsentAge.set(sender.oldestUnsentAgeSeconds())
    }
}
