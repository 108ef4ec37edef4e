#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The write side of a segmented, append-only log with group commit (Prometheus' WAL,
/// VictoriaMetrics' persistentqueue): callers append framed records under a short lock and
/// then wait until some fsync covers their bytes; whoever finds no fsync running issues one
/// for everyone queued so far. Record framing and reading are the caller's: this type only
/// sees bytes.
///
/// A failed write is cut back off the segment, so later records never follow garbage. A
/// failed cut-back makes the log refuse every later write; so does a failed fsync (page cache
/// state unknown, as Postgres and Prometheus treat it) unless the log was opened with
/// `stickyFsyncFailure: false`, in which case only the writes that fsync covered fail
/// (the edge queue's choice: a sender that keeps going beats one that stops).
public final class SegmentedLog: Sendable {
    public struct Stats: Sendable {
        public var fsyncs = 0
        public var fsyncSeconds = 0.0
        public var bytesWritten = 0
    }

    /// Thrown by `append`/`cut` after `close`.
    public struct ClosedError: Error, Sendable, CustomStringConvertible {
        public let dir: String
        public var description: String { "log \(dir) is closed" }
    }

    /// Why the log refuses writes after a failed fsync or repair; the underlying I/O error.
    public struct FailedError: Error, Sendable, CustomStringConvertible {
        public let cause: DurableIOError
        public var description: String { "\(cause); the log accepts no more writes until restarted" }
    }

    private struct State: ~Copyable {
        var segment: UInt64
        var fd: Int32
        /// Bytes in the current segment, header included.
        var size: Int
        /// Log positions (bytes of records appended since open, headers excluded).
        var written: UInt64 = 0
        var synced: UInt64 = 0
        var syncing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Rotated-out descriptors an fsync in progress may still use.
        var pendingClose: [Int32] = []
        var failure: FailedError?
        /// Non-sticky mode: the last failed fsync and the position it was to cover.
        var failedFsync: (through: UInt64, error: DurableIOError)?
        var closed = false
        var stats = Stats()
    }

    public let dir: String
    public let layout: SegmentLayout
    /// A segment is closed when the next append would make it larger (a record larger than
    /// this still goes into a segment of its own).
    public let segmentSize: Int
    public let stickyFsyncFailure: Bool
    private let state: Mutex<State>

    /// Starts segment `firstSegment` (it must not exist yet with data: callers start after the
    /// highest existing number, so nothing is ever appended after a tail recovery judged).
    public init(dir: String, layout: SegmentLayout, segmentSize: Int, firstSegment: UInt64,
                stickyFsyncFailure: Bool = true) throws {
        self.dir = dir
        self.layout = layout
        self.segmentSize = segmentSize
        self.stickyFsyncFailure = stickyFsyncFailure
        let fd = try SegmentedLog.create(dir, layout, firstSegment)
        state = Mutex(State(segment: firstSegment, fd: fd, size: layout.header.count))
    }

    private static func create(_ dir: String, _ layout: SegmentLayout, _ n: UInt64) throws -> Int32 {
        let path = layout.path(dir, n)
        let fd = try FS.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, mode: mode_t(layout.mode), what: "cannot create log segment")
        if !layout.header.isEmpty {
            do {
                try FS.writeAll(fd, layout.header, path: path)
                // The header must survive a crash with the name, or recovery would drop the segment.
                if fsync(fd) != 0 { throw DurableIOError("cannot fsync", path) }
            } catch {
                _ = closeFD(fd)
                throw error
            }
        }
        // The new name must survive a crash too, or appends to it would vanish with it.
        FS.syncDirectory(dir)
        return fd
    }

    public var stats: Stats { state.withLock { $0.stats } }
    public var currentSegment: UInt64 { state.withLock { $0.segment } }
    /// Bytes in the current segment, header included.
    public var currentSize: Int { state.withLock { $0.size } }

    /// Appends `framed` to the current segment (first starting a new one when it would grow
    /// past `segmentSize`); returns the log position to pass to `waitDurable`.
    public func append(_ framed: UnsafeRawBufferPointer) throws -> UInt64 {
        try state.withLock { s in
            if let f = s.failure { throw f }
            if s.closed { throw ClosedError(dir: dir) }
            if s.size > layout.header.count && s.size + framed.count > segmentSize {
                try rotateLocked(&s)
            }
            let path = layout.path(dir, s.segment)
            do {
                try FS.writeAll(s.fd, framed, path: path)
            } catch {
                if ftruncate(s.fd, off_t(s.size)) != 0 {
                    s.failure = FailedError(cause: DurableIOError("cannot cut a failed write off", path))
                }
                throw error
            }
            s.size += framed.count
            s.written += UInt64(framed.count)
            s.stats.bytesWritten += framed.count
            return s.written
        }
    }

    public func append(_ framed: [UInt8]) throws -> UInt64 {
        try framed.withUnsafeBytes { try append($0) }
    }

    private func rotateLocked(_ s: inout State) throws {
        let path = layout.path(dir, s.segment)
        if fsync(s.fd) != 0 {
            let f = FailedError(cause: DurableIOError("cannot fsync log segment", path))
            s.failure = f
            throw f
        }
        s.stats.fsyncs += 1
        if s.syncing { s.pendingClose.append(s.fd) } else { _ = closeFD(s.fd) }
        // Everything written so far is durable now that the old segment is synced.
        s.synced = s.written
        let next = s.segment + 1
        s.fd = try SegmentedLog.create(dir, layout, next)
        s.segment = next
        s.size = layout.header.count
    }

    /// Starts a new segment and returns the number of the last completed one.
    public func cut() throws -> UInt64 {
        try state.withLock { s in
            if let f = s.failure { throw f }
            let last = s.segment
            try rotateLocked(&s)
            return last
        }
    }

    /// Runs the fsync of a group commit; returns 0 or the errno. The default runs it on the
    /// waiting task's thread; the edge queue hands it to a thread pool of its own.
    public typealias FsyncRunner = @Sendable (Int32) async -> Int32

    public static let fsyncInline: FsyncRunner = { fd in fsync(fd) == 0 ? 0 : errno }

    /// Returns once an fsync has covered log position `pos`.
    public func waitDurable(_ pos: UInt64, fsyncWith runner: FsyncRunner = SegmentedLog.fsyncInline) async throws {
        enum Action { case done, fail(any Error), lead(Int32, UInt64), wait }
        while true {
            let action: Action = state.withLock { s in
                if let f = s.failedFsync, pos <= f.through { return .fail(f.error) }
                if s.synced >= pos { return .done }
                if let e = s.failure { return .fail(e) }
                // Closed before `pos` was synced (close's own fsync failed): its descriptor is
                // gone and its number may belong to another file by now, so never fsync it.
                if s.closed { return .fail(ClosedError(dir: dir)) }
                if !s.syncing { s.syncing = true; return .lead(s.fd, s.written) }
                return .wait
            }
            switch action {
            case .done: return
            case .fail(let e): throw e
            case .lead(let fd, let target):
                let start = ContinuousClock.now
                let err = await runner(fd)
                let rc: Int32 = err == 0 ? 0 : -1
                let d = ContinuousClock.now - start
                let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    s.syncing = false
                    for f in s.pendingClose { _ = closeFD(f) }
                    s.pendingClose = []
                    s.stats.fsyncs += 1
                    s.stats.fsyncSeconds += secs
                    if rc == 0 {
                        s.synced = max(s.synced, target)
                    } else if stickyFsyncFailure {
                        // After a failed fsync the page cache state is unknown; refuse further writes.
                        s.failure = FailedError(cause: DurableIOError("cannot fsync log in", dir, code: err))
                    } else {
                        s.failedFsync = (target, DurableIOError("cannot fsync segment in", dir, code: err))
                    }
                    let w = s.waiters
                    s.waiters = []
                    return w
                }
                for w in waiters { w.resume() }
            case .wait:
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { s -> Bool in
                        if !s.syncing || s.synced >= pos || s.failure != nil || (s.failedFsync?.through ?? 0) >= pos { return true }
                        s.waiters.append(c)
                        return false
                    }
                    if now { c.resume() }
                }
            }
        }
    }

    /// Syncs and closes the current segment; later appends throw `ClosedError`.
    public func close() throws {
        try state.withLock { s in
            if s.closed { return }
            s.closed = true
            let rc = fsync(s.fd)
            let err = errno
            _ = closeFD(s.fd)
            for f in s.pendingClose { _ = closeFD(f) }
            s.pendingClose = []
            if rc != 0 {
                let e = DurableIOError("cannot fsync log segment", layout.path(dir, s.segment), code: err)
                // Writes that were waiting for this fsync must fail, not be reported durable.
                s.failure = FailedError(cause: e)
                throw e
            }
            s.synced = s.written
        }
    }

    deinit {
        // A log dropped without `close()` (a failed open further up) must not leak descriptors.
        state.withLock { s in
            if !s.closed {
                _ = closeFD(s.fd)
                for f in s.pendingClose { _ = closeFD(f) }
            }
        }
    }
}

@inline(__always) private func closeFD(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
