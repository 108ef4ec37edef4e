import Logging
import Storage
import Synchronization
import DurableIO

public struct TSDBOptions: Sendable {
    /// Milliseconds; samples older than (now - retention) are "too old", blocks that end
    /// before it are deleted.
    public var retention: Int64 = 15 * 86_400_000
    /// Size-based retention of blocks, 0 = unlimited.
    public var maxBytes: Int64 = 0
    /// The head is cut into blocks of this span (milliseconds).
    public var blockRange: Int64 = 2 * 3_600_000
    public var walSegmentSize: Int = 128 << 20
    /// The store's own clock, milliseconds since the epoch. Every horizon (too old, head cut,
    /// compaction eligibility, retention) is measured from it and never from sample
    /// timestamps: one edge device whose clock jumped a century ahead must not turn everybody
    /// else's data into "past retention".
    public var now: @Sendable () -> Int64 = TSDBOptions.systemMillis
    /// Tests only: keeps just these bits of the head's series hash, so that label sets collide
    /// (0: every series has the same hash) and the collision paths run.
    var seriesHashMask: UInt64 = .max
    /// Tests only: a fixed hash seed, so two stores put the same label sets in the same buckets.
    var seriesHashSeed: UInt64? = nil
    public init() {}

    public static let systemMillis: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// `now - span`, saturating instead of trapping (a retention of 1000 years is allowed);
    /// kept far enough from Int64.min that aligning it to a block range cannot overflow.
    func horizon(minus span: Int64) -> Int64 {
        let (h, o) = now().subtractingReportingOverflow(span)
        return o ? Int64.min / 2 : max(h, Int64.min / 2)
    }
}

public struct SeriesSamples: Sendable {
    public var labels: Labels
    public var samples: [Sample]
    public init(labels: Labels, samples: [Sample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// A series of an ingest batch: its `Labels`, or (the ingest fast path) its label set as a span
/// of the batch's `LabelBytes`, which the head compares with the series it has as bytes and turns
/// into `Labels` only for a series it does not have yet.
///
/// `samples` is a slice so that the series of one request can share one sample array (the
/// decoder's), instead of one allocation per series.
public struct AppendSeries: Sendable {
    public var labels: Labels?
    public var span: LabelBytes.Span
    public var samples: ArraySlice<Sample>

    public init(labels: Labels, samples: [Sample]) {
        self.init(labels: labels, samples: samples[...])
    }

    public init(labels: Labels, samples: ArraySlice<Sample>) {
        self.labels = labels
        self.span = LabelBytes.Span(first: 0, count: 0)
        self.samples = samples
    }

    public init(span: LabelBytes.Span, samples: [Sample]) {
        self.init(span: span, samples: samples[...])
    }

    public init(span: LabelBytes.Span, samples: ArraySlice<Sample>) {
        self.labels = nil
        self.span = span
        self.samples = samples
    }
}

public struct AppendReport: Sendable, Equatable {
    public var accepted = 0, duplicates = 0, conflicts = 0, tooOld = 0
    public init() {}
}

/// Feeds /api/v1/status/tsdb (Prometheus's shape).
public struct TSDBStatus: Sendable {
    public var headSeries: Int
    public var headChunks: Int
    public var minTime: Int64
    public var maxTime: Int64
    public var blockCount: Int
    public var seriesCountByMetricName: [(name: String, value: Int)]
    public var labelValueCountByLabelName: [(name: String, value: Int)]
    public var memoryInBytesByLabelName: [(name: String, value: Int)]
    public var seriesCountByLabelValuePair: [(name: String, value: Int)]
}

/// Exported by the collector on /metrics.
public struct TSDBMetrics: Sendable {
    public var samplesAppended: Int
    public var outOfOrderSamples: Int
    public var duplicateSamples: Int
    public var conflictingSamples: Int
    public var tooOldSamples: Int
    public var walFsyncs: Int
    public var walFsyncSecondsTotal: Double
    public var walBytesWritten: Int
    public var walCorruptionsRepaired: Int
    public var headSeries: Int
    public var headChunks: Int
    public var blocks: Int
    public var blockBytes: Int64
    public var compactions: Int
    public var retentionDeletedBlocks: Int
}

public final class TSDB: Queryable, Sendable {
    struct Counters {
        var samplesAppended = 0
        var outOfOrder = 0
        var duplicates = 0
        var conflicts = 0
        var tooOld = 0
        var walCorruptionsRepaired = 0
        var compactions = 0
        var retentionDeletedBlocks = 0
    }

    struct Shared {
        /// Sorted by write order (`seq`), the precedence order for queries.
        var blocks: [Block] = []
        var frozen: [FrozenSeries] = []
        var nextSeq: UInt64 = 1
    }

    let dir: String
    let walDir: String
    let options: TSDBOptions
    let logger: Logger
    let head: Mutex<Head>
    let shared: Mutex<Shared>
    let counters: Mutex<Counters>
    let wal: WAL
    /// Serialises maintain/flushHead: only one head cut or compaction at a time.
    let maintenance = Mutex<Void>(())
    /// Descriptor holding the data directory's lock; -1 once closed.
    let lockFD: Mutex<Int32>

    private init(dir: String, options: TSDBOptions, logger: Logger, head: sending Head, shared: Shared, counters: Counters, wal: WAL, lockFD: Int32) {
        self.lockFD = Mutex(lockFD)
        self.dir = dir
        self.walDir = dir + "/wal"
        self.options = options
        self.logger = logger
        self.head = Mutex(head)
        self.shared = Mutex(shared)
        self.counters = Mutex(counters)
        self.wal = wal
    }

    /// Loads blocks (without reading every sample), replays the WAL (logging progress), cuts a
    /// torn/corrupt WAL tail at the last good record instead of failing.
    public static func open(directory: String, options: TSDBOptions = .init(), logger: Logger) throws -> TSDB {
        try TSDBError.wrappingIO { try openDirectory(directory, options: options, logger: logger) }
    }

    private static func openDirectory(_ directory: String, options: TSDBOptions, logger: Logger) throws -> TSDB {
        guard options.blockRange > 0, options.retention > 0, options.walSegmentSize > 0 else {
            throw TSDBError.invalidOptions("blockRange, retention and walSegmentSize must be positive")
        }
        try FS.mkdirAll(directory)
        try FS.restrictToOwner(directory)
        let walDir = directory + "/wal"
        try FS.mkdirAll(walDir)
        let lockFD = try lockDataDirectory(directory)
        var opened = false
        defer { if !opened { Glibc.close(lockFD) } }
        var counters = Counters()

        // Blocks: drop unfinished writes, then blocks already merged into a compacted block
        // (a crash between writing the output and deleting the inputs).
        var blocks: [Block] = []
        for name in try FS.list(directory) {
            let path = directory + "/" + name
            if name.hasSuffix(".tmp") { try FS.removeAll(path); continue }
            guard name != "wal", name != "chunks_head", FS.isDirectory(path), FS.exists(path + "/meta.json") else { continue }
            blocks.append(try Block(dir: path))
        }
        let superseded = blocks.filter { b in
            blocks.contains { o in
                o.ulid != b.ulid && o.meta.compaction.level > b.meta.compaction.level
                    && Set(b.meta.compaction.sources).isSubset(of: Set(o.meta.compaction.sources))
            }
        }
        for b in superseded {
            logger.info("removing block already merged by compaction", metadata: ["block": "\(b.ulid)"])
            try FS.removeAll(b.dir)
        }
        let supersededIDs = Set(superseded.map(\.ulid))
        blocks.removeAll { supersededIDs.contains($0.ulid) }
        blocks.sort { ($0.meta.seq, $0.ulid) < ($1.meta.seq, $1.ulid) }
        logger.info("loaded blocks", metadata: ["count": "\(blocks.count)"])

        var blocksMaxT = Int64.min
        for b in blocks where b.meta.stats.numSamples > 0 { blocksMaxT = max(blocksMaxT, b.meta.stats.maxSampleTime ?? (b.meta.maxTime - 1)) }
        let h = Head(chunkDir: directory + "/chunks_head", blockRange: options.blockRange, maxT: blocksMaxT,
                     hasher: SeriesHasher(seed: options.seriesHashSeed, mask: options.seriesHashMask))
        counters.walCorruptionsRepaired += try h.replayWAL(walDir: walDir, logger: logger)

        let next = max((try WAL.segments(in: walDir)).last ?? 0, (try WAL.checkpoints(in: walDir)).last ?? 0) + 1
        let wal = try WAL(dir: walDir, segmentSize: options.walSegmentSize, firstSegment: next)
        var shared = Shared()
        shared.blocks = blocks
        shared.nextSeq = (blocks.map(\.meta.seq).max() ?? 0) + 1
        opened = true
        return TSDB(dir: directory, options: options, logger: logger, head: h, shared: shared, counters: counters, wal: wal, lockFD: lockFD)
    }

    // MARK: Appending

    /// Appends a batch. Returns only after every accepted sample is in the WAL and fsynced.
    /// Concurrent callers share fsyncs (group commit). Throws TSDBError only for storage failures.
    public func append(_ batch: [SeriesSamples]) async throws -> AppendReport {
        try await append(batch.map { AppendSeries(labels: $0.labels, samples: $0.samples) }, labelBytes: nil)
    }

    /// As `append(_:)` for a batch whose series may be given as label bytes (`AppendSeries.span`
    /// in `labelBytes`).
    public func append(_ batch: [AppendSeries], labelBytes: LabelBytes?) async throws -> AppendReport {
        let a = try head.withLock { h in
            let a = try h.append(batch, labelBytes: labelBytes, minValid: options.horizon(minus: options.retention), wal: wal)
            if a.outOfOrder > 0 { counters.withLock { $0.outOfOrder += a.outOfOrder } }
            return a
        }
        let report = a.report
        counters.withLock { c in
            c.samplesAppended += report.accepted
            c.duplicates += report.duplicates
            c.conflicts += report.conflicts
            c.tooOld += report.tooOld
        }
        if a.walPosition > 0 { try await wal.waitDurable(a.walPosition) }
        return report
    }

    // MARK: Reading

    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        TSDBQuerier(db: self, mint: mint, maxt: maxt)
    }

    struct Snapshot {
        var blocks: [Block]
        var frozen: [(Labels, [ChunkData])]
        var head: [(Labels, [ChunkData])]
        /// Keeps the head chunk files that `head` refers to mapped while the query decodes.
        var files: HeadChunkStore.Files
    }

    /// Blocks, frozen data and head chunks taken under the head lock together, so a head cut
    /// running concurrently can never make data vanish from a query.
    func snapshot(_ matchers: [LabelMatcher], mint: Int64, maxt: Int64) -> Snapshot {
        head.withLock { h -> Snapshot in
            let sh = shared.withLock { s in (s.blocks, s.frozen) }
            let blocks = sh.0.filter { $0.overlaps(mint, maxt) }
            let frozen: [(Labels, [ChunkData])] = sh.1.compactMap { f in
                guard f.labels.matches(matchers) else { return nil }
                let cs = f.chunks.filter { $0.maxT >= mint && $0.minT <= maxt }
                return cs.isEmpty ? nil : (f.labels, cs)
            }
            return Snapshot(blocks: blocks, frozen: frozen, head: h.chunks(matching: matchers, mint: mint, maxt: maxt),
                            files: h.chunkFilesForQuery())
        }
    }

    /// Label names (`name == nil`) or the values of one label over blocks, frozen data and head
    /// overlapping the range, by time bounds only.
    func labelIndexValues(_ name: String?, mint: Int64, maxt: Int64) -> [String] {
        var out = Set<String>()
        let blocks: [Block] = head.withLock { h in
            let (blocks, frozen) = shared.withLock { s in (s.blocks, s.frozen) }
            for f in frozen where f.chunks.contains(where: { $0.maxT >= mint && $0.minT <= maxt }) {
                if let name { if let v = f.labels[name] { out.insert(v) } } else { for l in f.labels { out.insert(l.name) } }
            }
            h.indexValues(name, mint: mint, maxt: maxt, into: &out)
            return blocks.filter { $0.overlaps(mint, maxt) }
        }
        for b in blocks {
            if let name { out.formUnion(b.values(of: name)) } else { out.formUnion(b.labelNames) }
        }
        return out.sorted()
    }

    /// Head statistics over the series matching `matchers` (a user's scope): counted from
    /// those series' labels, so nothing outside the scope — not even a label value — shows.
    public func status(limit: Int, matchers: [LabelMatcher]) -> TSDBStatus {
        status(limit: limit, anyOf: [matchers])
    }

    /// Head statistics over the series matching any one of `alternatives` (a union scope),
    /// each series counted once.
    public func status(limit: Int, anyOf alternatives: [[LabelMatcher]]) -> TSDBStatus {
        let blockCount = shared.withLock { $0.blocks.count }
        return head.withLock { h in h.status(limit: limit, anyOf: alternatives, blockCount: blockCount) }
    }

    public func status(limit: Int) -> TSDBStatus { status(limit: limit, matchers: []) }

    public var metrics: TSDBMetrics {
        let c = counters.withLock { $0 }
        let w = wal.stats
        let (nSeries, nChunks) = head.withLock { h in (h.seriesCount, h.chunkCount) }
        let (nBlocks, bytes) = shared.withLock { s in (s.blocks.count, s.blocks.reduce(Int64(0)) { $0 + $1.sizeBytes }) }
        return TSDBMetrics(
            samplesAppended: c.samplesAppended, outOfOrderSamples: c.outOfOrder, duplicateSamples: c.duplicates,
            conflictingSamples: c.conflicts, tooOldSamples: c.tooOld, walFsyncs: w.fsyncs,
            walFsyncSecondsTotal: w.fsyncSeconds, walBytesWritten: w.bytesWritten,
            walCorruptionsRepaired: c.walCorruptionsRepaired, headSeries: nSeries, headChunks: nChunks,
            blocks: nBlocks, blockBytes: bytes, compactions: c.compactions,
            retentionDeletedBlocks: c.retentionDeletedBlocks)
    }

    /// A clean stop: persists the whole head into blocks, then closes. A stopped store's
    /// directory then holds blocks (~2 B/sample) and an empty WAL instead of hours of log, and
    /// the next start replays nothing. Appends racing with the stop are still logged and kept.
    ///
    /// This is the ordinary head cut (`flushHead`), so `kill -9` at any point loses nothing:
    /// - while blocks are written: they are `.tmp` directories, removed on open; the WAL is
    ///   untouched and replays everything;
    /// - after some or all blocks are renamed, before the checkpoint: blocks and WAL both hold
    ///   the samples; replay refills the head, queries take the block's copy first (blocks
    ///   precede the head, and the values are the same), the next cut writes an overlapping
    ///   block and compaction merges the two keeping the lower `seq`, the first written;
    /// - after the checkpoint (written to a temp name, fsynced, renamed), before the old
    ///   segments are deleted: open deletes segments the checkpoint covers;
    /// - while closing the WAL: nothing is left to lose.
    /// If persisting fails (disk full), the WAL is closed anyway, still holding everything, and
    /// the error is thrown after it.
    public func close(persistingHead: Bool) throws {
        var persistError: (any Error)?
        if persistingHead {
            do { try TSDBError.wrappingIO { try flushHead() } } catch { persistError = error }
        }
        try close()
        if let persistError { throw persistError }
    }

    public func close() throws {
        try wal.close()
        lockFD.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
