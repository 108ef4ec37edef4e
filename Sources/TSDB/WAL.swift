#if canImport(Glibc)
import Glibc
#endif
import DurableIO

/// The TSDB's write-ahead log: a `SegmentedLog` (segments `00000001`…, no header, group
/// commit) of `WALRecord`s, plus checkpoints. Errors come out as TSDBError.
final class WAL: Sendable {
    typealias Stats = SegmentedLog.Stats

    static let layout = SegmentLayout(digits: 8)

    let dir: String
    private let segmentedLog: SegmentedLog

    static func segmentName(_ n: Int) -> String { layout.name(UInt64(n)) }

    static func checkpointName(_ n: Int) -> String { "checkpoint." + segmentName(n) }

    /// Existing segment numbers, sorted.
    static func segments(in dir: String) throws -> [Int] {
        try layout.segments(in: dir).map { Int($0) }
    }

    static func checkpoints(in dir: String) throws -> [Int] {
        try FS.list(dir).compactMap { name -> Int? in
            guard name.hasPrefix("checkpoint."), !name.hasSuffix(".tmp") else { return nil }
            return Int(name.dropFirst("checkpoint.".count))
        }.sorted()
    }

    init(dir: String, segmentSize: Int, firstSegment: Int) throws {
        self.dir = dir
        segmentedLog = try TSDBError.wrappingIO {
            try SegmentedLog(dir: dir, layout: WAL.layout, segmentSize: segmentSize, firstSegment: UInt64(firstSegment))
        }
    }

    var stats: Stats { segmentedLog.stats }
    var currentSegment: Int { Int(segmentedLog.currentSegment) }

    /// The log's errors as TSDBError: a closed log is `.closed`, a log that refuses writes after
    /// a failed fsync is `.walFailed`, any other I/O error `.io`.
    private static func mapped(_ error: any Error) -> any Error {
        switch error {
        case is SegmentedLog.ClosedError: TSDBError.closed
        case let f as SegmentedLog.FailedError: TSDBError.walFailed(f.cause)
        case let e as DurableIOError: TSDBError.io(e)
        default: error
        }
    }

    /// Writes framed records; returns the log position to wait for with `waitDurable`.
    /// A failed write is cut back off the segment so later records never follow garbage.
    func log(_ framed: [UInt8]) throws -> UInt64 {
        do { return try segmentedLog.append(framed) } catch { throw WAL.mapped(error) }
    }

    /// Starts a new segment and returns the number of the last completed one.
    func cut() throws -> Int {
        do { return Int(try segmentedLog.cut()) } catch { throw WAL.mapped(error) }
    }

    func waitDurable(_ pos: UInt64) async throws {
        do { try await segmentedLog.waitDurable(pos) } catch { throw WAL.mapped(error) }
    }

    func close() throws {
        do { try segmentedLog.close() } catch { throw WAL.mapped(error) }
    }

    /// Rewrites everything up to `lastSegment` (and the previous checkpoint) into one
    /// checkpoint that keeps only what the head still needs, then drops those segments.
    /// `liveRef` maps a logged series ref to the head ref it stands for now (replay may have
    /// merged two refs with equal labels), or nil when the series is gone; records are rewritten
    /// with the head ref so the checkpoint never depends on such aliases.
    func checkpoint(upTo lastSegment: Int, liveRef: (UInt64) -> UInt64?, keepSample: (Int64) -> Bool) throws {
        var sources: [String] = []
        let oldCheckpoints = try WAL.checkpoints(in: dir)
        if let cp = oldCheckpoints.last { sources.append(dir + "/" + WAL.checkpointName(cp)) }
        let segs = try WAL.segments(in: dir).filter { $0 <= lastSegment }
        sources += segs.map { dir + "/" + WAL.segmentName($0) }
        var out: [UInt8] = []
        for path in sources {
            let bytes = try FS.readFile(path)
            _ = WALRecord.scan(bytes, file: path) { rec in
                var w = ByteWriter()
                switch rec {
                case .series(let ss):
                    WALRecord.encodeSeries(ss.filter { liveRef($0.ref) == $0.ref }, into: &w)
                    if w.count > 0 { WALRecord.frameSeries(w, into: &out) }
                case .samples(let ss):
                    var sw = WALSamples.Encoder()
                    for s in ss where keepSample(s.t) {
                        guard let ref = liveRef(s.ref) else { continue }
                        sw.add(ref, s.t, s.v)
                    }
                    if !sw.isEmpty { WALRecord.frame(type: .samplesV2, payload: sw.finish(), into: &out) }
                }
            }
        }
        try FS.writeFileAtomically(dir + "/" + WAL.checkpointName(lastSegment), out)
        FS.syncDirectory(dir)
        for s in segs { try FS.removeAll(dir + "/" + WAL.segmentName(s)) }
        for cp in oldCheckpoints where cp != lastSegment { try FS.removeAll(dir + "/" + WAL.checkpointName(cp)) }
    }
}
