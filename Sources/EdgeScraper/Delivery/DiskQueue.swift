import DurableIO
import Glibc
import Logging
import NIOPosix
import RemoteWrite
import Storage

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

    public var description: String { "\(a20(segment)):\(offset)" }
}

/// One appended batch: a snappy-compressed remote-write `WriteRequest`, ready for the wire.
public struct QueueRecord: Sendable {
    public var position: QueuePosition
    /// Stream key (hash of the producer's job and instance): records with the same key go to
    /// the same shard, which keeps each series in order on the wire.
    public var key: UInt32
    public var samples: Int
    public var payload: [UInt8]
}

public struct QueueStats: Sendable, Equatable {
    public var pendingSamples: Int
    public var bytes: Int64
    public var segments: Int
    public var droppedFull: Int
    public var droppedCorrupt: Int
    public var cursor: QueuePosition
}

/// The persistent queue. Every sample is appended here (and fsynced) before it is sent, and
/// stays until the sender acknowledges it after a 2xx or a non-retryable rejection.
///
/// Layout under `dir`: segment files `<20-digit number>.seg`, each an 8-byte header
/// ("FSQ1", version) and then records `len u32 | samples u32 | key u32 | crc32c u32 | payload`
/// (little endian; the CRC covers samples, key and payload), plus `cursor`: the position up to
/// which everything is acknowledged (`"FSQC" | segment u64 | offset u64 | crc32c u32`).
///
/// Durability: an append returns after fsync; fsyncs are shared between concurrent appends
/// (group commit, DurableIO's `SegmentedLog`, with the fsync on NIO's thread pool). The cursor is rewritten in place after each acknowledgement without fsync:
/// a `kill -9` cannot lose page-cache writes, and after a power loss a stale or torn cursor
/// only means re-sending, never losing. At start-up every segment is checked record by record
/// and a torn tail (a crash mid-append) is cut at the last good record.
///
/// Budget: when the segments exceed `maxBytes`, whole oldest segments are deleted and the
/// samples in them that were not yet handed to the sender are counted as dropped.
public actor DiskQueue: SampleSink {
    public let dir: String
    public let maxBytes: Int64
    public let segmentBytes: Int64
    public let maxSamplesPerRecord: Int
    private let logger: Logger
    private let metrics: QueueMetrics

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
    /// Appends between their first write and their fsync; `close` waits for them.
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
    private var nextWaiterID = 0
    private var closed = false
    private var droppedFull = 0
    private var droppedCorrupt = 0

    public init(dir: String, maxBytes: Int64, segmentBytes: Int64? = nil, maxSamplesPerRecord: Int = 2_000,
                logger: Logger = Logger(label: "edge.queue"), metrics: QueueMetrics = QueueMetrics()) throws {
        self.dir = dir
        let budget = max(maxBytes, 4096)
        self.maxBytes = budget
        // Small enough that dropping one segment gives back a fraction of the budget,
        // large enough that files stay few.
        self.segmentBytes = segmentBytes ?? min(max(budget / 8, 4096), 16 << 20)
        self.maxSamplesPerRecord = max(maxSamplesPerRecord, 1)
        self.logger = logger
        self.metrics = metrics
        let r = try DiskQueue.recover(dir: dir, logger: logger)
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
        fsyncRunner = DiskQueue.makeFsyncRunner(metrics)
        segments = segs
        cursor = start
        cursorFd = r.cursorFd
        lockFd = r.lockFd
        readPos = start
        readSamplesInSegment = before
        droppedCorrupt = r.droppedCorrupt
        totalBytes = bytes
        pendingSamples = pending
        metrics.droppedCorrupt.inc(r.droppedCorrupt)
        metrics.bytes.set(Double(bytes))
        metrics.pending.set(pending)
        metrics.segments.set(segs.count)
        if pending > 0 {
            logger.info("queue: resuming with backlog", metadata: [
                "dir": "\(dir)", "samples": "\(pending)", "bytes": "\(bytes)", "cursor": "\(start)"])
        }
    }

    // MARK: appending

    /// SampleSink: encode, split into records of at most `maxSamplesPerRecord` samples,
    /// append and wait until they are on disk.
    public func enqueue(_ series: [TimeSeries]) async throws {
        let records = DiskQueue.encode(series, maxSamplesPerRecord: maxSamplesPerRecord)
        guard !records.isEmpty else { return }
        try await append(records, key: DiskQueue.streamKey(series))
    }

    /// Builds records outside the actor so producers encode in parallel.
    public nonisolated static func encode(_ series: [TimeSeries], maxSamplesPerRecord: Int) -> [(payload: [UInt8], samples: Int)] {
        var out: [(payload: [UInt8], samples: Int)] = []
        var batch: [TimeSeries] = []
        var n = 0
        func flush() {
            if n > 0 { out.append((WireEncoder.encodeCompressed(WriteRequest(timeseries: batch)), n)) }
            batch.removeAll(keepingCapacity: true)
            n = 0
        }
        for ts in series where !ts.samples.isEmpty {
            if ts.samples.count <= maxSamplesPerRecord - n {
                batch.append(ts)
                n += ts.samples.count
                continue
            }
            // A series longer than a record (backfill) is split; its pieces stay in order.
            var rest = ts.samples[...]
            while !rest.isEmpty {
                if n == maxSamplesPerRecord { flush() }
                let take = min(rest.count, maxSamplesPerRecord - n)
                batch.append(TimeSeries(labels: ts.labels, samples: Array(rest.prefix(take))))
                n += take
                rest = rest.dropFirst(take)
            }
        }
        flush()
        return out
    }

    /// FNV-1a of the job and instance of the first series: one scrape target's records share it.
    public nonisolated static func streamKey(_ series: [TimeSeries]) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        guard let first = series.first else { return h }
        for l in first.labels where l.name == "job" || l.name == "instance" {
            for b in l.value.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            h = (h ^ 0xFF) &* 16_777_619
        }
        return h
    }

    /// Appends already-encoded records; returns once they are durable.
    public func append(_ records: [(payload: [UInt8], samples: Int)], key: UInt32) async throws {
        guard !closed else { throw QueueError("queue \(dir) is closed") }
        appending += 1
        defer { appending -= 1 }
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
        metrics.appended.inc(total)
        enforceBudget()
        wakeReaders()
        do {
            try await log.waitDurable(pos, fsyncWith: fsyncRunner)
        } catch {
            logger.error("queue: \(error)")
            throw error
        }
    }

    /// fsync on NIO's blocking-I/O pool: the cooperative threads (2 on a small node) keep
    /// scraping while the disk works.
    private static func makeFsyncRunner(_ metrics: QueueMetrics) -> SegmentedLog.FsyncRunner {
        { fd in
            let rc = (try? await NIOThreadPool.singleton.runIfActive { () -> Int32 in fsync(fd) == 0 ? 0 : errno }) ?? EIO
            metrics.fsyncs.inc()
            return rc
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
            metrics.droppedWriteError.inc(samples)
            throw error
        }
        segments[i].bytes += Int64(buf.count)
        segments[i].samples += samples
        totalBytes += Int64(buf.count)
        pendingSamples += samples
        metrics.bytes.set(Double(totalBytes))
        metrics.pending.set(pendingSamples)
        return pos
    }

    private func rotate() throws {
        _ = try log.cut()
        let next = log.currentSegment
        segments.append(Segment(index: next, bytes: DiskQueue.headerSize, samples: 0))
        totalBytes += DiskQueue.headerSize
        metrics.segments.set(segments.count)
    }

    private func enforceBudget() {
        while totalBytes > maxBytes && segments.count > 1 {
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
            metrics.droppedFull.inc(unread)
            unlink(DiskQueue.segmentPath(dir, s.index))
            if cursor.segment <= s.index {
                cursor = QueuePosition(segment: segments[0].index, offset: DiskQueue.headerSize)
                persistCursor()
            }
            logger.warning("queue: over its budget of \(maxBytes) bytes; dropped the oldest segment", metadata: [
                "segment": "\(s.index)", "unsent_samples_dropped": "\(unread)"])
        }
        metrics.bytes.set(Double(totalBytes))
        metrics.pending.set(pendingSamples)
        metrics.segments.set(segments.count)
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
            Task {
                try? await Task.sleep(for: timeout)
                await self.expireWaiter(id)
            }
        }
        return readOne()
    }

    private func expireWaiter(_ id: Int) {
        readWaiters.removeValue(forKey: id)?.resume()
    }

    public var isClosed: Bool { closed }

    /// Wakes waiting readers so a cancelled consumer can notice its cancellation.
    public func interruptReaders() { wakeReaders() }

    /// The next record if one is available now.
    public func poll() -> QueueRecord? { readOne() }

    private func wakeReaders() {
        let w = readWaiters
        readWaiters = [:]
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
                metrics.droppedCorrupt.inc(lost)
                readSamplesInSegment = seg.samples
                readPos.offset = seg.bytes
            }
        }
    }

    struct RawRecord { var samples: Int; var key: UInt32; var payload: [UInt8] }

    static func readRecord(_ fd: Int32, at offset: Int64, limit: Int64, path: String) throws -> RawRecord {
        let h = try FS.pread(fd, recordHeaderSize, at: offset, path: path)
        guard h.count == recordHeaderSize else { throw QueueError("\(path): truncated record header at offset \(offset)") }
        let len = Int(h.le32(at: 0))
        guard len <= maxRecordBytes, offset + Int64(recordHeaderSize + len) <= limit else {
            throw QueueError("\(path): record at offset \(offset) claims \(len) bytes, beyond the end of the segment")
        }
        let payload = try FS.pread(fd, len, at: offset + Int64(recordHeaderSize), path: path)
        guard payload.count == len else { throw QueueError("\(path): truncated record at offset \(offset)") }
        var crc = h.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[4..<12])) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        guard crc == h.le32(at: 12) else { throw QueueError("\(path): checksum mismatch in record at offset \(offset)") }
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
                    metrics.droppedFull.inc(e.samples)
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
        metrics.pending.set(pendingSamples)
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
        metrics.pending.set(pendingSamples)
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
        metrics.bytes.set(Double(totalBytes))
        metrics.segments.set(segments.count)
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

    static func recover(dir: String, logger: Logger) throws -> Recovered {
        do { try FS.mkdirAll(dir, mode: 0o755) } catch {
            // The default queue.dir is under /var/lib: name the setting for non-root runs.
            throw QueueError("\(error) (set queue.dir to a writable directory)")
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
            throw QueueError("queue directory \(dir) is in use by another edge-scraper; give each instance its own queue.dir")
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

/// Zero-padded to 20 digits so names sort as numbers.
func a20(_ v: UInt64) -> String { SegmentLayout(digits: 20).name(v) }

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
}
