import Logging
import Storage
import DurableIO

/// The head's side of the WAL: the records the appender logs, replay of the log into the head on
/// open, and which refs a checkpoint keeps. Segment files and framing are `WAL`/`WALRecord`'s.

/// The records one append logs: a series record for the series it creates and a samples record
/// for every sample it keeps, framed together so one write carries both.
struct HeadWALBatch {
    private var series = ByteWriter()
    private var samples: WALSamples.Encoder

    init(batchSize: Int) { samples = WALSamples.Encoder(capacity: batchSize) }

    mutating func addSeries(_ ref: HeadRef, _ labels: Labels) {
        WALRecord.encodeSeries([(UInt64(ref), labels)], into: &series)
    }

    @inline(__always)
    mutating func addSample(_ ref: HeadRef, _ t: Int64, _ v: Double) { samples.add(UInt64(ref), t, v) }

    /// The compressed record types (series v2, samples v2); replay still reads the first ones.
    func framed() -> [UInt8] {
        var samples = samples
        let payload = samples.finish()
        var out: [UInt8] = []
        out.reserveCapacity(series.count + payload.count + 20)
        if series.count > 0 { WALRecord.frameSeries(series, into: &out) }
        WALRecord.frame(type: .samplesV2, payload: payload, into: &out)
        return out
    }
}

/// WAL series refs that replay mapped onto a different head ref (the same labels logged twice,
/// or a ref already taken). Only the segments written before the last restart hold them, and the
/// next checkpoint covers all of those and rewrites them with the head refs.
struct HeadWALRefs {
    fileprivate var aliases: [UInt64: HeadRef] = [:]
}

/// What a checkpoint keeps, taken under the head lock and used outside it.
struct CheckpointRefs: Sendable {
    fileprivate let live: Set<HeadRef>
    fileprivate let aliases: [UInt64: HeadRef]

    /// The head ref a logged series ref stands for now, or nil when that series is gone.
    func liveRef(_ ref: UInt64) -> UInt64? {
        let r = aliases[ref] ?? (ref <= UInt64(HeadRef.max) ? HeadRef(ref) : nil)
        return r.flatMap { live.contains($0) ? UInt64($0) : nil }
    }
}

extension Head {
    /// The series alive now and the aliases, which the caller's checkpoint is about to rewrite.
    func takeCheckpointRefs() -> CheckpointRefs {
        let a = walRefs.aliases
        walRefs.aliases = [:]
        return CheckpointRefs(live: Set(allSeries.map(\.ref)), aliases: a)
    }

    /// The checkpoint failed: the segments still hold the aliased refs.
    func restoreCheckpointRefs(_ refs: CheckpointRefs) {
        walRefs.aliases.merge(refs.aliases) { a, _ in a }
    }

    /// Replays the latest checkpoint and the segments after it into this (new) head, logging
    /// progress. The first torn or damaged record ends replay: its segment is cut there and later
    /// segments are removed. Returns how many files were repaired that way.
    func replayWAL(walDir: String, logger: Logger) throws -> Int {
        let checkpoints = try WAL.checkpoints(in: walDir)
        let cp = checkpoints.last
        for old in checkpoints.dropLast() { try FS.removeAll(walDir + "/" + WAL.checkpointName(old)) }
        for name in try FS.list(walDir) where name.hasSuffix(".tmp") { try FS.removeAll(walDir + "/" + name) }
        var segments = try WAL.segments(in: walDir)
        if let cp {
            // Segments covered by the checkpoint were meant to be deleted already.
            for s in segments where s <= cp { try FS.removeAll(walDir + "/" + WAL.segmentName(s)) }
            segments.removeAll { $0 <= cp }
        }
        var refMap: [UInt64: HeadRef] = [:]
        var unknownRefs = 0
        var repaired = 0
        func apply(_ rec: WALRecord) {
            switch rec {
            case .series(let ss):
                for s in ss {
                    if let existing = find(s.labels) {
                        refMap[s.ref] = existing.ref
                    } else {
                        let wanted = HeadRef(truncatingIfNeeded: s.ref)
                        refMap[s.ref] = create(s.labels, ref: UInt64(wanted) == s.ref ? wanted : nil).ref
                    }
                }
            case .samples(let ss):
                for s in ss {
                    guard let r = refMap[s.ref], let series = seriesByRef(r) else { unknownRefs += 1; continue }
                    _ = append(s.t, s.v, to: series)
                    widenBounds(min: s.t, max: s.t)
                }
            }
        }
        var files: [(path: String, isCheckpoint: Bool)] = []
        if let cp { files.append((walDir + "/" + WAL.checkpointName(cp), true)) }
        files += segments.map { (walDir + "/" + WAL.segmentName($0), false) }
        var segIndex = 0
        for (i, f) in files.enumerated() {
            if f.isCheckpoint {
                logger.info("replaying WAL checkpoint", metadata: ["file": "\(f.path)"])
            } else {
                segIndex += 1
                logger.info("replaying WAL segment \(segIndex)/\(segments.count)", metadata: ["file": "\(f.path)"])
            }
            let bytes = try FS.readFile(f.path)
            let (damaged, reason) = WALRecord.scan(bytes, file: f.path, apply)
            guard let damaged else { continue }
            repaired += 1
            if f.isCheckpoint {
                // A checkpoint is written atomically; damage means the disk lost data. Keep what
                // decoded and go on with the segments, which are independent of it.
                logger.error("WAL checkpoint damaged; keeping records before the damage", metadata: [
                    "file": "\(f.path)", "offset": "\(damaged)", "reason": "\(reason ?? "")"])
                continue
            }
            logger.warning("WAL segment damaged; cutting it at the last good record", metadata: [
                "file": "\(f.path)", "offset": "\(damaged)", "reason": "\(reason ?? "")",
                "droppedBytes": "\(bytes.count - damaged)"])
            try FS.cutTail(f.path, to: Int64(damaged))
            for later in files[(i + 1)...] {
                logger.warning("removing WAL segment after the damaged one", metadata: ["file": "\(later.path)"])
                try FS.removeAll(later.path)
            }
            break
        }
        for (walRef, headRef) in refMap where UInt64(headRef) != walRef { walRefs.aliases[walRef] = headRef }
        // New series must never reuse a ref that still appears in the log with other labels.
        if let top = refMap.keys.max() { reserveRefs(through: top) }
        if unknownRefs > 0 {
            logger.warning("WAL samples for unknown series were skipped", metadata: ["samples": "\(unknownRefs)"])
        }
        logger.info("WAL replay done", metadata: ["series": "\(seriesCount)"])
        return repaired
    }
}
