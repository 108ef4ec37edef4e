#if canImport(Glibc)
import Glibc
#endif
import Storage
import Synchronization

/// Write-ahead log records. On disk each record is
/// `type u8 | length u32 BE | crc32c u32 BE (over type and payload) | payload`.
enum WALRecord {
    case series([(ref: UInt64, labels: Labels)])
    case samples([(ref: UInt64, t: Int64, v: Double)])

    static let headerSize = 9
    static let maxPayload = 1 << 30

    static func encodeSeries(_ series: [(ref: UInt64, labels: Labels)], into w: inout ByteWriter) {
        for s in series {
            w.putUVarint(s.ref)
            w.putUVarint(UInt64(s.labels.pairs.count))
            for l in s.labels.pairs { w.putString(l.name); w.putString(l.value) }
        }
    }

    static func decode(type: UInt8, _ r: inout ByteReader) throws -> WALRecord {
        switch type {
        case 1:
            var out: [(ref: UInt64, labels: Labels)] = []
            while !r.isAtEnd {
                let ref = try r.uvarint()
                let n = try r.count(limit: r.remaining / 2)
                var pairs: [Label] = []
                pairs.reserveCapacity(n)
                for _ in 0..<n {
                    let name = try r.string()
                    let value = try r.string()
                    pairs.append(Label(name, value))
                }
                out.append((ref, Labels(pairs)))
            }
            return .series(out)
        case 2:
            var out: [(ref: UInt64, t: Int64, v: Double)] = []
            if r.isAtEnd { return .samples(out) }
            let baseRef = try r.uvarint()
            let baseT = try r.varint()
            out.reserveCapacity(r.remaining / 10)
            while !r.isAtEnd {
                let ref = baseRef &+ UInt64(bitPattern: try r.varint())
                let t = baseT &+ (try r.varint())
                let v = Double(bitPattern: try r.le64())
                out.append((ref, t, v))
            }
            return .samples(out)
        default:
            throw r.fail("unknown WAL record type \(type)")
        }
    }

    /// Samples payload: base ref uvarint, base t varint, then per sample ref and t as zig-zag
    /// deltas from the bases and the value's 64 bits little-endian. A batch shares one scrape
    /// time and nearby refs, so the deltas are one or two bytes.
    struct SamplesWriter {
        var w = ByteWriter()
        private var baseRef: UInt64 = 0
        private var baseT: Int64 = 0
        private var started = false

        init(capacity: Int = 0) { w = ByteWriter(capacity: capacity) }

        var isEmpty: Bool { !started }

        mutating func add(_ ref: UInt64, _ t: Int64, _ v: Double) {
            if !started {
                started = true
                baseRef = ref
                baseT = t
                w.putUVarint(ref)
                w.putVarint(t)
            }
            w.putVarint(Int64(bitPattern: ref &- baseRef))
            w.putVarint(t &- baseT)
            w.putLE64(v.bitPattern)
        }
    }

    /// Frames a payload with the record header.
    static func frame(type: UInt8, payload: [UInt8], into out: inout [UInt8]) {
        var crc = withUnsafeBytes(of: type) { CRC32C.update(0, $0) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        var h = ByteWriter(capacity: 9)
        h.putByte(type)
        h.putBE32(UInt32(payload.count))
        h.putBE32(crc)
        out.append(contentsOf: h.bytes)
        out.append(contentsOf: payload)
    }

    /// Parses records from a segment. Stops at the first damaged record and returns its offset.
    static func scan(_ bytes: [UInt8], file: String, _ body: (WALRecord) throws -> Void) rethrows -> (damagedAt: Int?, reason: String?) {
        var off = 0
        while off < bytes.count {
            if bytes.count - off < headerSize { return (off, "torn record header") }
            let type = bytes[off]
            let len = Int(bytes[off + 1]) << 24 | Int(bytes[off + 2]) << 16 | Int(bytes[off + 3]) << 8 | Int(bytes[off + 4])
            let crc = UInt32(bytes[off + 5]) << 24 | UInt32(bytes[off + 6]) << 16 | UInt32(bytes[off + 7]) << 8 | UInt32(bytes[off + 8])
            if type != 1 && type != 2 { return (off, "unknown record type \(type)") }
            if len > maxPayload || bytes.count - off - headerSize < len { return (off, "torn record of \(len) bytes") }
            let start = off + headerSize
            let ok: Bool = bytes.withUnsafeBytes { raw in
                var c = withUnsafeBytes(of: type) { CRC32C.update(0, $0) }
                c = CRC32C.update(c, UnsafeRawBufferPointer(rebasing: raw[start..<start + len]))
                return c == crc
            }
            if !ok { return (off, "checksum mismatch") }
            let rec: WALRecord
            do {
                rec = try bytes.withUnsafeBytes { raw in
                    var r = ByteReader(raw, file: file, start: start, end: start + len)
                    return try decode(type: type, &r)
                }
            } catch {
                return (off, "undecodable record: \(error)")
            }
            try body(rec)
            off = start + len
        }
        return (nil, nil)
    }
}

/// Segmented write-ahead log with group commit: writers append under a short lock and then
/// wait until some fsync covers their bytes; whoever finds no fsync running issues one for
/// everyone queued so far.
final class WAL: Sendable {
    struct Stats {
        var fsyncs = 0
        var fsyncSeconds = 0.0
        var bytesWritten = 0
    }

    private struct State: ~Copyable {
        var segment: Int
        var fd: Int32
        var size = 0
        var written: UInt64 = 0
        var synced: UInt64 = 0
        var syncing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var pendingClose: [Int32] = []
        var failure: TSDBError?
        var closed = false
        var stats = Stats()
    }

    let dir: String
    let segmentSize: Int
    private let state: Mutex<State>

    static func segmentName(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    static func checkpointName(_ n: Int) -> String { "checkpoint." + segmentName(n) }

    /// Existing segment numbers, sorted.
    static func segments(in dir: String) throws -> [Int] {
        try FileIO.list(dir).compactMap { $0.count == 8 ? Int($0) : nil }.sorted()
    }

    static func checkpoints(in dir: String) throws -> [Int] {
        try FileIO.list(dir).compactMap { name -> Int? in
            guard name.hasPrefix("checkpoint."), !name.hasSuffix(".tmp") else { return nil }
            return Int(name.dropFirst("checkpoint.".count))
        }.sorted()
    }

    init(dir: String, segmentSize: Int, firstSegment: Int) throws {
        self.dir = dir
        self.segmentSize = segmentSize
        let fd = try WAL.create(dir + "/" + WAL.segmentName(firstSegment))
        FileIO.syncDirectory(dir)
        state = Mutex(State(segment: firstSegment, fd: fd))
    }

    private static func create(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIO.error("cannot create WAL segment", path) }
        return fd
    }

    var stats: Stats { state.withLock { $0.stats } }
    var currentSegment: Int { state.withLock { $0.segment } }

    /// Writes framed records; returns the log position to wait for with `waitDurable`.
    /// A failed write is cut back off the segment so later records never follow garbage.
    func log(_ framed: [UInt8]) throws -> UInt64 {
        try state.withLock { s in
            if let f = s.failure { throw f }
            if s.closed { throw TSDBError("the TSDB is closed; no more appends are accepted") }
            if s.size > 0 && s.size + framed.count > segmentSize {
                try rotateLocked(&s)
            }
            let path = dir + "/" + WAL.segmentName(s.segment)
            do {
                try framed.withUnsafeBytes { try FileIO.writeAll(s.fd, $0, path: path) }
            } catch {
                if ftruncate(s.fd, off_t(s.size)) != 0 {
                    s.failure = TSDBError("WAL segment \(path) could not be repaired after a failed write (\(FileIO.errnoText())); restart the collector")
                }
                throw error
            }
            s.size += framed.count
            s.written += UInt64(framed.count)
            s.stats.bytesWritten += framed.count
            return s.written
        }
    }

    private func rotateLocked(_ s: inout State) throws {
        let path = dir + "/" + WAL.segmentName(s.segment)
        if fsync(s.fd) != 0 {
            s.failure = FileIO.error("cannot fsync WAL segment", path)
            throw s.failure!
        }
        s.stats.fsyncs += 1
        if s.syncing { s.pendingClose.append(s.fd) } else { Glibc.close(s.fd) }
        // Everything written so far is durable now that the old segment is synced.
        s.synced = s.written
        let next = s.segment + 1
        s.fd = try WAL.create(dir + "/" + WAL.segmentName(next))
        s.segment = next
        s.size = 0
        FileIO.syncDirectory(dir)
    }

    /// Starts a new segment and returns the number of the last completed one.
    func cut() throws -> Int {
        try state.withLock { s in
            if let f = s.failure { throw f }
            let last = s.segment
            try rotateLocked(&s)
            return last
        }
    }

    func waitDurable(_ pos: UInt64) async throws {
        enum Action { case done, fail(TSDBError), lead(Int32, UInt64), wait }
        while true {
            let action: Action = state.withLock { s in
                if s.synced >= pos { return .done }
                if let e = s.failure { return .fail(e) }
                if !s.syncing { s.syncing = true; return .lead(s.fd, s.written) }
                return .wait
            }
            switch action {
            case .done: return
            case .fail(let e): throw e
            case .lead(let fd, let target):
                let start = ContinuousClock.now
                let rc = fsync(fd)
                let err = errno
                let d = ContinuousClock.now - start
                let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    s.syncing = false
                    for f in s.pendingClose { Glibc.close(f) }
                    s.pendingClose = []
                    s.stats.fsyncs += 1
                    s.stats.fsyncSeconds += secs
                    if rc == 0 {
                        s.synced = max(s.synced, target)
                    } else {
                        // After a failed fsync the page cache state is unknown; refuse further writes.
                        s.failure = TSDBError("fsync of WAL in \(dir) failed: \(FileIO.errnoText(err)); restart the collector")
                    }
                    let w = s.waiters
                    s.waiters = []
                    return w
                }
                for w in waiters { w.resume() }
            case .wait:
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { s -> Bool in
                        if !s.syncing || s.synced >= pos || s.failure != nil { return true }
                        s.waiters.append(c)
                        return false
                    }
                    if now { c.resume() }
                }
            }
        }
    }

    func close() throws {
        try state.withLock { s in
            if s.closed { return }
            s.closed = true
            let rc = fsync(s.fd)
            Glibc.close(s.fd)
            for f in s.pendingClose { Glibc.close(f) }
            s.pendingClose = []
            if rc != 0 { throw FileIO.error("cannot fsync WAL segment", dir + "/" + WAL.segmentName(s.segment)) }
            s.synced = s.written
        }
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
            let bytes = try FileIO.readFile(path)
            _ = WALRecord.scan(bytes, file: path) { rec in
                var w = ByteWriter()
                switch rec {
                case .series(let ss):
                    WALRecord.encodeSeries(ss.filter { liveRef($0.ref) == $0.ref }, into: &w)
                    if w.count > 0 { WALRecord.frame(type: 1, payload: w.bytes, into: &out) }
                case .samples(let ss):
                    var sw = WALRecord.SamplesWriter()
                    for s in ss where keepSample(s.t) {
                        guard let ref = liveRef(s.ref) else { continue }
                        sw.add(ref, s.t, s.v)
                    }
                    if !sw.isEmpty { WALRecord.frame(type: 2, payload: sw.w.bytes, into: &out) }
                }
            }
        }
        try FileIO.writeFileAtomically(dir + "/" + WAL.checkpointName(lastSegment), out)
        FileIO.syncDirectory(dir)
        for s in segs { try FileIO.removeAll(dir + "/" + WAL.segmentName(s)) }
        for cp in oldCheckpoints where cp != lastSegment { try FileIO.removeAll(dir + "/" + WAL.checkpointName(cp)) }
    }
}
