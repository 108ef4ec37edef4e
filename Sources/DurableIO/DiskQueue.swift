#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Where a record lives: segment number and byte offset. Ordered as the queue is.
public struct QueuePosition: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: Int64

    public init(segment: UInt64, offset: Int64) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (a: QueuePosition, b: QueuePosition) -> Bool {
        a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset
    }

    public var description: String { "\(SegmentLayout(digits: 20).name(segment)):\(offset)" }
}

/// One appended batch: a snappy-compressed remote-write `WriteRequest`, ready for the wire.
public struct QueueRecord: Sendable {
    public var position: QueuePosition
    /// The producer's 32 bits. The edge: a stream key (hash of job and instance), records with
    /// the same key go to the same shard, which keeps each series in order on the wire. The
    /// collector's forward queue (one stream): the append time in Unix seconds.
    public var key: UInt32
    public var samples: Int
    public var payload: [UInt8]
}

/// What `DiskQueue.write` hands back: the log position its records end at, to wait for.
public struct QueueWrite: Sendable {
    var position: UInt64
}

public struct QueueStats: Sendable, Equatable {
    public var pendingSamples: Int
    public var bytes: Int64
    public var segments: Int
    public var droppedFull: Int
    public var droppedCorrupt: Int
    public var cursor: QueuePosition
}

/// The persistent queue of remote-write batches: the edge scraper's disk queue and the
/// collector's forward queue. Every sample is appended here (and fsynced) before it is sent, and
/// stays until the sender acknowledges it after a 2xx or a non-retryable rejection.
///
/// Layout under `dir`: segment files `<20-digit number>.seg`, each an 8-byte header
/// ("FSQ1", version) and then records `len u32 | samples u32 | key u32 | crc32c u32 | payload`
/// (little endian; the CRC covers samples, key and payload), plus `cursor`: the position up to
/// which everything is acknowledged (`"FSQC" | segment u64 | offset u64 | crc32c u32`).
///
/// Durability: an append returns after fsync; fsyncs are shared between concurrent appends
/// (group commit, `SegmentedLog`, the fsync on the owner's runner: NIO's thread pool for the edge
/// and the collector). The cursor is rewritten in place after each acknowledgement without fsync:
/// a `kill -9` cannot lose page-cache writes, and after a power loss a stale or torn cursor
/// only means re-sending, never losing. At start-up every segment is checked record by record
/// and a torn tail (a crash mid-append) is cut at the last good record.
///
/// Budget (`WhenFull`): the edge drops whole oldest segments when the segments exceed
/// `maxBytes` and counts their unsent samples as dropped; the collector refuses the append
/// instead (`DurableQueueError.full`), so its senders keep the samples in their own queues.
public actor DiskQueue {
    public enum WhenFull: Sendable {
        /// Delete whole oldest segments (the edge: fresh data matters more than old).
        case dropOldest
        /// Throw `DurableQueueError.full`, nothing dropped (the collector: its senders retry).
        case refuse
    }

    public nonisolated let dir: String
    public nonisolated let maxBytes: Int64
    public nonisolated let segmentBytes: Int64
    public nonisolated let maxSamplesPerRecord: Int
    public nonisolated let whenFull: WhenFull
    private let logger: Logger
    private let metrics: QueueObserver

    static let segmentHeader: [UInt8] = Array("FSQ1".utf8) + [1, 0, 0, 0]
    static let layout = SegmentLayout(digits: 20, suffix: ".seg", header: segmentHeader, mode: 0o644)
    static let headerSize: Int64 = 8
    static let recordHeaderSize = 16
    static let maxRecordBytes = 256 << 20

    private struct Segment {
        var index: UInt64
        var bytes: Int64
        var samples: Int
    }

    private struct Inflight {
        var position: QueuePosition
        var end: QueuePosition
        var samples: Int
        var done = false
    }

    private var segments: [Segment]
    private var totalBytes: Int64
    private var pendingSamples: Int
    /// The write side: segment files, cut-back of failed writes, group commit. Rotation is
    /// decided here (`segmentBytes`), the log's own size limit is off.
    private let log: SegmentedLog
    private let fsyncRunner: SegmentedLog.FsyncRunner
    /// How `next(waitingAtMost:)` waits: returns after the duration or once cancelled. The edge
    /// sleeps on its event loop's timers; `Task.sleep`'s fire on a Dispatch thread of their own.
    public typealias Sleeper = @Sendable (Duration) async -> Void
    public static let taskSleep: Sleeper = { try? await Task.sleep(for: $0) }
    /// Appends waiting for their fsync; `close` waits for them.
    private var appending = 0
    private var readPos: QueuePosition
    private var readSamplesInSegment: Int
    private var readFd: Int32 = -1
    private var readFdSegment: UInt64 = 0
    private var cursor: QueuePosition
    private let cursorFd: Int32
    private let lockFd: Int32
    private var inflight: [Inflight] = []
    private var inflightHead = 0
    private var readWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    /// The timers of `next(waitingAtMost:)`'s waits, cancelled when a record wakes the reader
    /// so they do not fire (and wake a thread) for nothing.
    private var readTimers: [Int: Task<Void, Never>] = [:]
    private let sleep: Sleeper
    private var nextWaiterID = 0
    private var closed = false
    private var droppedFull = 0
    private var droppedCorrupt = 0

    /// - Parameter setting: the option that names `dir`, for error messages (`queue.dir`).
    /// - Parameter fsync: where the group commit's fsync runs (the edge: NIO's blocking-I/O pool,
    ///   so the cooperative threads keep working while the disk does).
    public init(dir: String, maxBytes: Int64, segmentBytes: Int64? = nil, maxSamplesPerRecord: Int = 2_000,
                whenFull: WhenFull, setting: String, logger: Logger, observer: QueueObserver = QueueObserver(),
                fsync: @escaping SegmentedLog.FsyncRunner = SegmentedLog.fsyncInline,
                sleep: @escaping Sleeper = DiskQueue.taskSleep) throws {
        self.dir = dir
        self.sleep = sleep
        self.whenFull = whenFull
        let budget = max(maxBytes, 4096)
        self.maxBytes = budget
        // Small enough that dropping one segment gives back a fraction of the budget,
        // large enough that files stay few.
        self.segmentBytes = segmentBytes ?? min(max(budget / 8, 4096), 16 << 20)
        self.maxSamplesPerRecord = max(maxSamplesPerRecord, 1)
        self.logger = logger
        self.metrics = observer
        let r = try DiskQueue.recover(dir: dir, setting: setting, logger: logger)
        var segs = r.segments.map { Segment(index: $0.index, bytes: $0.bytes, samples: $0.samples) }
        // Appends always go to a fresh segment: nothing is ever written after a tail that
        // recovery had to judge.
        let next = (segs.last?.index ?? r.cursor.segment) + 1
        let log = try SegmentedLog(dir: dir, layout: DiskQueue.layout, segmentSize: .max, firstSegment: next,
                                   stickyFsyncFailure: false)
        segs.append(Segment(index: next, bytes: DiskQueue.headerSize, samples: 0))
        var start = r.cursor
        var before = r.samplesBeforeCursor
        if segs.count == 1 || start.segment < segs[0].index {
            start = QueuePosition(segment: segs[0].index, offset: DiskQueue.headerSize)
            before = 0
        }
        let bytes = segs.reduce(0) { $0 + $1.bytes }
        let pending = segs.reduce(0) { $0 + $1.samples } - before
        self.log = log
        fsyncRunner = { fd in
            let rc = await fsync(fd)
            observer.fsyncs()
            return rc
        }
        segments = segs
        cursor = start
        cursorFd = r.cursorFd
        lockFd = r.lockFd
        readPos = start
        readSamplesInSegment = before
        droppedCorrupt = r.droppedCorrupt
        totalBytes = bytes
        pendingSamples = pending
        metrics.droppedCorrupt(r.droppedCorrupt)
        metrics.bytes(bytes)
        metrics.pending(pending)
        metrics.segments(segs.count)
        if pending > 0 {
            logger.info("queue: resuming with backlog", metadata: [
                "dir": "\(dir)", "samples": "\(pending)", "bytes": "\(bytes)", "cursor": "\(start)"])
        }
    }

    // MARK: appending

    /// Appends already-encoded records; returns once they are durable.
    public func append(_ records: [(payload: [UInt8], samples: Int)], key: UInt32) async throws {
        try await waitDurable(write(records, key: key))
    }

    /// Writes already-encoded records (to the page cache, where a `kill -9` cannot lose them)
    /// without waiting for their fsync: a producer that feeds several queues writes to all of
    /// them first and then waits (`waitDurable`), so a kill leaves a batch in one queue only if
    /// it lands between two writes, not during a whole fsync. Readers see the records at once,
    /// as with `append`.
    public func write(_ records: [(payload: [UInt8], samples: Int)], key: UInt32) throws -> QueueWrite {
        guard !closed else { throw DurableQueueError("queue \(dir) is closed") }
        if whenFull == .refuse {
            // Whole records or nothing: a refused request leaves no part of itself behind.
            var incoming = records.reduce(Int64(0)) { $0 + Int64(DiskQueue.recordHeaderSize + $1.payload.count) }
            // The segment headers of the rotations this append may cause count too.
            incoming += DiskQueue.headerSize * (1 + incoming / segmentBytes)
            if totalBytes + incoming > maxBytes {
                metrics.refused(records.reduce(0) { $0 + $1.samples })
                throw DurableQueueError.full(dir: dir, maxBytes: maxBytes)
            }
        }
        var buf: [UInt8] = []
        var samples = 0
        var pos: UInt64 = 0
        for r in records {
            if segments[segments.count - 1].bytes + Int64(buf.count) >= segmentBytes {
                if !buf.isEmpty { pos = try writeToSegment(buf, samples) }
                buf.removeAll(keepingCapacity: true)
                samples = 0
                try rotate()
            }
            DiskQueue.frame(r.payload, samples: r.samples, key: key, into: &buf)
            samples += r.samples
        }
        if !buf.isEmpty { pos = try writeToSegment(buf, samples) }
        let total = records.reduce(0) { $0 + $1.samples }
        metrics.appended(total)
        enforceBudget()
        wakeReaders()
        return QueueWrite(position: pos)
    }

    /// Returns once the records of `write` are on disk. A queue closed in between has synced
    /// them in `close`.
    public func waitDurable(_ w: QueueWrite) async throws {
        // `close` waits for fsyncs in flight before it closes the segment they sync.
        appending += 1
        defer { appending -= 1 }
        do {
            try await log.waitDurable(w.position, fsyncWith: fsyncRunner)
        } catch {
            logger.error("queue: \(error)")
            throw error
        }
    }

    static func frame(_ payload: [UInt8], samples: Int, key: UInt32, into buf: inout [UInt8]) {
        var meta: [UInt8] = []
        meta.appendLE32(UInt32(samples))
        meta.appendLE32(key)
        var crc = meta.withUnsafeBytes { CRC32C.update(0, $0) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        buf.appendLE32(UInt32(payload.count))
        buf.append(contentsOf: meta)
        buf.appendLE32(crc)
        buf.append(contentsOf: payload)
    }

    /// Returns the log position to wait for. A failed write is cut back by the log, so the
    /// next append starts at a record boundary.
    private func writeToSegment(_ buf: [UInt8], _ samples: Int) throws -> UInt64 {
        let i = segments.count - 1
        let pos: UInt64
        do {
            pos = try log.append(buf)
        } catch {
            metrics.droppedWriteError(samples)
            throw error
        }
        segments[i].bytes += Int64(buf.count)
        segments[i].samples += samples
        totalBytes += Int64(buf.count)
        pendingSamples += samples
        metrics.bytes(totalBytes)
        metrics.pending(pendingSamples)
        return pos
    }

    private func rotate() throws {
        _ = try log.cut()
        let next = log.currentSegment
        segments.append(Segment(index: next, bytes: DiskQueue.headerSize, samples: 0))
        totalBytes += DiskQueue.headerSize
        metrics.segments(segments.count)
    }

    private func enforceBudget() {
        // A refusing queue never deletes unsent data: its appends were checked against the
        // budget before they were written (a rotation's segment header may overshoot it by a few bytes).
        while whenFull == .dropOldest && totalBytes > maxBytes && segments.count > 1 {
            let s = segments.removeFirst()
            var unread = 0
            if readPos.segment == s.index {
                unread = s.samples - readSamplesInSegment
                readPos = QueuePosition(segment: segments[0].index, offset: DiskQueue.headerSize)
                readSamplesInSegment = 0
            } else if readPos.segment < s.index {
                unread = s.samples
            }
            if readFdSegment == s.index && readFd >= 0 { Glibc.close(readFd); readFd = -1 }
            totalBytes -= s.bytes
            pendingSamples -= unread
            droppedFull += unread
            metrics.droppedFull(unread)
            unlink(DiskQueue.segmentPath(dir, s.index))
            if cursor.segment <= s.index {
                cursor = QueuePosition(segment: segments[0].index, offset: DiskQueue.headerSize)
                persistCursor()
            }
            logger.warning("queue: over its budget of \(maxBytes) bytes; dropped the oldest segment", metadata: [
                "segment": "\(s.index)", "unsent_samples_dropped": "\(unread)"])
        }
        metrics.bytes(totalBytes)
        metrics.pending(pendingSamples)
        metrics.segments(segments.count)
    }

    // MARK: reading

    /// The next unsent record in queue order; waits for one. Nil once the queue is closed.
    public func next() async -> QueueRecord? {
        while true {
            if let r = readOne() { return r }
            if closed || Task.isCancelled { return nil }
            let id = nextWaiterID
            nextWaiterID += 1
            await withCheckedContinuation { readWaiters[id] = $0 }
        }
    }

    /// Like `next()`, but gives up after `timeout` (nil: wait as long as it takes).
    public func next(waitingAtMost timeout: Duration?) async -> QueueRecord? {
        guard let timeout else { return await next() }
        if let r = readOne() { return r }
        if closed || Task.isCancelled { return nil }
        let id = nextWaiterID
        nextWaiterID += 1
        await withCheckedContinuation { c in
            readWaiters[id] = c
            let sleep = self.sleep
            readTimers[id] = Task {
                await sleep(timeout)
                if !Task.isCancelled { await self.expireWaiter(id) }
            }
        }
        return readOne()
    }

    private func expireWaiter(_ id: Int) {
        readTimers[id] = nil
        readWaiters.removeValue(forKey: id)?.resume()
    }

    public var isClosed: Bool { closed }

    /// Wakes waiting readers so a cancelled consumer can notice its cancellation.
    public func interruptReaders() { wakeReaders() }

    /// The next record if one is available now.
    public func poll() -> QueueRecord? { readOne() }

    private func wakeReaders() {
        if readWaiters.isEmpty { return }
        let w = readWaiters
        readWaiters = [:]
        for t in readTimers.values { t.cancel() }
        readTimers = [:]
        for c in w.values { c.resume() }
    }

    private func readOne() -> QueueRecord? {
        while true {
            guard let si = segments.firstIndex(where: { $0.index >= readPos.segment }) else { return nil }
            if segments[si].index != readPos.segment {
                readPos = QueuePosition(segment: segments[si].index, offset: DiskQueue.headerSize)
                readSamplesInSegment = 0
            }
            let seg = segments[si]
            if readPos.offset >= seg.bytes {
                if si == segments.count - 1 { return nil }
                readPos = QueuePosition(segment: segments[si + 1].index, offset: DiskQueue.headerSize)
                readSamplesInSegment = 0
                continue
            }
            let path = DiskQueue.segmentPath(dir, seg.index)
            do {
                if readFd < 0 || readFdSegment != seg.index {
                    if readFd >= 0 { Glibc.close(readFd) }
                    readFd = try FS.open(path, O_RDONLY)
                    readFdSegment = seg.index
                }
                let rec = try DiskQueue.readRecord(readFd, at: readPos.offset, limit: seg.bytes, path: path)
                let pos = readPos
                readPos.offset += Int64(DiskQueue.recordHeaderSize + rec.payload.count)
                readSamplesInSegment += rec.samples
                inflight.append(Inflight(position: pos, end: readPos, samples: rec.samples))
                return QueueRecord(position: pos, key: rec.key, samples: rec.samples, payload: rec.payload)
            } catch {
                // Only bit rot or a foreign writer gets here: recovery validated every record.
                let lost = seg.samples - readSamplesInSegment
                logger.error("queue: \(error); skipping the rest of the segment", metadata: [
                    "segment": "\(seg.index)", "offset": "\(readPos.offset)", "samples_dropped": "\(lost)"])
                droppedCorrupt += lost
                pendingSamples -= lost
                metrics.droppedCorrupt(lost)
                readSamplesInSegment = seg.samples
                readPos.offset = seg.bytes
            }
        }
    }

    struct RawRecord { var samples: Int; var key: UInt32; var payload: [UInt8] }

    static func readRecord(_ fd: Int32, at offset: Int64, limit: Int64, path: String) throws -> RawRecord {
        let h = try FS.pread(fd, recordHeaderSize, at: offset, path: path)
        guard h.count == recordHeaderSize else { throw DurableQueueError("\(path): truncated record header at offset \(offset)") }
        let len = Int(h.le32(at: 0))
        guard len <= maxRecordBytes, offset + Int64(recordHeaderSize + len) <= limit else {
            throw DurableQueueError("\(path): record at offset \(offset) claims \(len) bytes, beyond the end of the segment")
        }
        let payload = try FS.pread(fd, len, at: offset + Int64(recordHeaderSize), path: path)
        guard payload.count == len else { throw DurableQueueError("\(path): truncated record at offset \(offset)") }
        var crc = h.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[4..<12])) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        guard crc == h.le32(at: 12) else { throw DurableQueueError("\(path): checksum mismatch in record at offset \(offset)") }
        return RawRecord(samples: Int(h.le32(at: 4)), key: h.le32(at: 8), payload: payload)
    }

    /// Forgets what was handed out but not acknowledged and reads again from the cursor: a
    /// new sender taking over from a cancelled one (reload) starts where delivery really is.
    /// Records acknowledged out of order behind an unacknowledged one come again (at least once).
    public func rewind() {
        var inCursorSegment = 0
        let oldest = segments[0].index
        for e in inflight[inflightHead...] {
            if e.position.segment < oldest {
                // Its segment was dropped for the budget while it was in flight.
                if !e.done {
                    pendingSamples -= e.samples
                    droppedFull += e.samples
                    metrics.droppedFull(e.samples)
                }
                continue
            }
            if e.done { pendingSamples += e.samples }
            if e.position.segment == cursor.segment { inCursorSegment += e.samples }
        }
        if readPos.segment == cursor.segment {
            readSamplesInSegment -= inCursorSegment
        } else {
            readSamplesInSegment = (segments.first { $0.index == cursor.segment }?.samples ?? 0) - inCursorSegment
        }
        readPos = cursor
        inflight = []
        inflightHead = 0
        metrics.pending(pendingSamples)
    }

    // MARK: acknowledging

    /// The record at `position` is done with: delivered, or rejected for good (and counted by
    /// the sender). The cursor moves past every record before the oldest one still in flight.
    public func ack(_ position: QueuePosition) {
        var lo = inflightHead, hi = inflight.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if inflight[mid].position < position { lo = mid + 1 } else { hi = mid }
        }
        guard lo < inflight.count, inflight[lo].position == position, !inflight[lo].done else { return }
        inflight[lo].done = true
        pendingSamples -= inflight[lo].samples
        metrics.pending(pendingSamples)
        var moved = false
        while inflightHead < inflight.count && inflight[inflightHead].done {
            if inflight[inflightHead].end > cursor { cursor = inflight[inflightHead].end; moved = true }
            inflightHead += 1
        }
        if inflightHead > 4096 && inflightHead * 2 > inflight.count {
            inflight.removeFirst(inflightHead)
            inflightHead = 0
        }
        guard moved else { return }
        // A cursor at the end of a finished segment moves to the next one so the file can go.
        if let si = segments.firstIndex(where: { $0.index == cursor.segment }), si < segments.count - 1,
           cursor.offset >= segments[si].bytes {
            cursor = QueuePosition(segment: segments[si + 1].index, offset: DiskQueue.headerSize)
        }
        persistCursor()
        while segments.count > 1 && segments[0].index < cursor.segment {
            let s = segments.removeFirst()
            if readFdSegment == s.index && readFd >= 0 { Glibc.close(readFd); readFd = -1 }
            totalBytes -= s.bytes
            unlink(DiskQueue.segmentPath(dir, s.index))
        }
        metrics.bytes(totalBytes)
        metrics.segments(segments.count)
    }

    private func persistCursor() {
        var b: [UInt8] = Array("FSQC".utf8)
        b.appendLE64(cursor.segment)
        b.appendLE64(UInt64(bitPattern: cursor.offset))
        b.appendLE32(CRC32C.checksum(b))
        do {
            try FS.pwriteAll(cursorFd, b, at: 0, path: dir + "/cursor")
        } catch {
            logger.error("queue: \(error); after a restart some batches will be sent again")
        }
    }

    // MARK: state

    public func stats() -> QueueStats {
        QueueStats(pendingSamples: pendingSamples, bytes: totalBytes, segments: segments.count,
                   droppedFull: droppedFull, droppedCorrupt: droppedCorrupt, cursor: cursor)
    }

    /// Syncs and closes the files. Waiting readers get nil; records in flight stay on disk
    /// and are sent again after the next start.
    public func close() async {
        guard !closed else { return }
        closed = true
        wakeReaders()
        while appending > 0 { await Task.yield() }
        do { try log.close() } catch { logger.error("queue: \(error)") }
        _ = fsync(cursorFd)
        Glibc.close(cursorFd)
        if readFd >= 0 { Glibc.close(readFd); readFd = -1 }
        Glibc.close(lockFd)
    }

    deinit {
        // An abandoned (never closed) queue must not keep its directory locked.
        // The log closes its own descriptors.
        if !closed {
            Glibc.close(cursorFd)
            if readFd >= 0 { Glibc.close(readFd) }
            Glibc.close(lockFd)
        }
    }

    // MARK: files and recovery

    static func segmentPath(_ dir: String, _ index: UInt64) -> String { layout.path(dir, index) }

    struct Recovered {
        var segments: [(index: UInt64, bytes: Int64, samples: Int)]
        var cursor: QueuePosition
        var cursorFd: Int32
        var lockFd: Int32
        var samplesBeforeCursor: Int
        var droppedCorrupt: Int
    }

    static func recover(dir: String, setting: String, logger: Logger) throws -> Recovered {
        do { try FS.mkdirAll(dir, mode: 0o755) } catch {
            // The edge's default queue.dir is under /var/lib: name the setting for non-root runs.
            throw DurableQueueError("\(error) (set \(setting) to a writable directory)")
        }
        var indices: [UInt64] = []
        for name in try FS.list(dir) where name.hasSuffix(".seg") {
            if let i = UInt64(name.dropLast(4)) { indices.append(i) }
        }
        indices.sort()

        // One process per queue directory: two writers would interleave records and fight
        // over the cursor.
        let lockPath = dir + "/lock"
        guard case .held(let lockFd) = try FS.tryLock(lockPath, .flock) else {
            throw DurableQueueError("queue directory \(dir) is in use by another process; give each instance its own \(setting)")
        }
        let cursorPath = dir + "/cursor"
        let cursorFd: Int32
        do { cursorFd = try FS.open(cursorPath, O_RDWR | O_CREAT, mode: 0o644) } catch { Glibc.close(lockFd); throw error }
        var cursor = QueuePosition(segment: indices.first ?? 0, offset: headerSize)
        let raw = try FS.pread(cursorFd, 24, at: 0, path: cursorPath)
        if raw.count == 24, Array(raw[0..<4]) == Array("FSQC".utf8), CRC32C.checksum(Array(raw[0..<20])) == raw.le32(at: 20) {
            cursor = QueuePosition(segment: raw.le64(at: 4), offset: Int64(bitPattern: raw.le64(at: 12)))
        } else if !raw.isEmpty {
            logger.warning("queue: \(cursorPath) is damaged; resending everything still queued (the receiver may see duplicates)")
        }

        var segs: [(index: UInt64, bytes: Int64, samples: Int)] = []
        var samplesBeforeCursor = 0
        for idx in indices {
            let path = segmentPath(dir, idx)
            if idx < cursor.segment {
                unlink(path) // fully acknowledged before the last stop
                continue
            }
            let fd = try FS.open(path, O_RDWR)
            defer { Glibc.close(fd) }
            let size = FS.size(of: fd)
            let head = try FS.pread(fd, Int(headerSize), at: 0, path: path)
            guard head == segmentHeader else {
                logger.warning("queue: \(path) has no valid header (crashed while creating it?); removing it")
                unlink(path)
                continue
            }
            var off = headerSize
            var samples = 0
            var before = 0
            var cursorSeen = idx != cursor.segment
            while off < size {
                if idx == cursor.segment && off == cursor.offset { cursorSeen = true; before = samples }
                guard let rec = try? readRecord(fd, at: off, limit: size, path: path) else { break }
                samples += rec.samples
                off += Int64(recordHeaderSize + rec.payload.count)
            }
            if idx == cursor.segment && off == cursor.offset { cursorSeen = true; before = samples }
            if off < size {
                logger.warning("queue: cut a torn or damaged tail (crash during an append?)", metadata: [
                    "segment": "\(path)", "at_offset": "\(off)", "bytes_cut": "\(size - off)"])
                try FS.cutTail(fd, to: off, path: path)
            }
            if !cursorSeen {
                // The cursor is not on a record boundary we know: resend the whole segment
                // rather than risk skipping samples.
                logger.warning("queue: cursor \(cursor) is not at a record boundary; resending segment \(idx) from its start")
                cursor = QueuePosition(segment: idx, offset: headerSize)
                before = 0
            }
            if off == headerSize && idx != cursor.segment {
                unlink(path) // empty: nothing to keep
                continue
            }
            if idx == cursor.segment { samplesBeforeCursor = before }
            segs.append((idx, off, samples))
        }
        if let first = segs.first, cursor.segment < first.index {
            cursor = QueuePosition(segment: first.index, offset: headerSize)
            samplesBeforeCursor = 0
        }
        // A cut tail held at most the records whose appends never returned, so nothing
        // acknowledged to a producer is counted as lost here.
        return Recovered(segments: segs, cursor: cursor, cursorFd: cursorFd, lockFd: lockFd,
                         samplesBeforeCursor: samplesBeforeCursor, droppedCorrupt: 0)
    }
}

/// What the queue reports as it works; the owner maps it onto its metrics registry. The
/// defaults do nothing, so tests and tools need no registry.
public struct QueueObserver: Sendable {
    public var appended: @Sendable (_ samples: Int) -> Void = { _ in }
    /// Deleted for the budget before they were sent (`WhenFull.dropOldest`).
    public var droppedFull: @Sendable (_ samples: Int) -> Void = { _ in }
    public var droppedCorrupt: @Sendable (_ samples: Int) -> Void = { _ in }
    public var droppedWriteError: @Sendable (_ samples: Int) -> Void = { _ in }
    /// Appends refused for the budget (`WhenFull.refuse`): not queued, the producer keeps them.
    public var refused: @Sendable (_ samples: Int) -> Void = { _ in }
    public var bytes: @Sendable (Int64) -> Void = { _ in }
    public var pending: @Sendable (_ samples: Int) -> Void = { _ in }
    public var segments: @Sendable (Int) -> Void = { _ in }
    public var fsyncs: @Sendable () -> Void = {}

    public init() {}
}
