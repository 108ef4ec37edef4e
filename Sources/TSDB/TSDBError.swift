import DurableIO

/// Why a TSDB operation failed, as cases a caller can act on (Prometheus' CorruptionErr and
/// friends): the ingest path answers "retry later" for `isRetryable` errors, and corruption
/// messages name the file and byte offset so an operator can decide whether to delete a block
/// or let WAL repair handle it.
public enum TSDBError: Error, Sendable, CustomStringConvertible {
    /// Damaged bytes in a file: which file, where, and what was wrong.
    case corruption(file: String, offset: Int, reason: String)
    /// A system call failed (disk full, permissions, I/O error); nothing was changed.
    case io(DurableIOError)
    /// The WAL refuses writes after a failed fsync or repair, until the process restarts.
    case walFailed(DurableIOError)
    /// Appends after `close()`.
    case closed
    /// Another process has the data directory open.
    case locked(dir: String, reason: String)
    /// `TSDBOptions` that cannot work.
    case invalidOptions(String)
    /// A broken invariant inside the TSDB (a bug).
    case internalError(String)

    public var description: String {
        switch self {
        case .corruption(let file, let offset, let reason):
            "corrupt data in \(file) at offset \(offset): \(reason); remove or restore the file"
        case .io(let e): e.description
        case .walFailed(let e): "WAL write or fsync failed (\(e)); restart the collector"
        case .closed: "the TSDB is closed; no more appends are accepted"
        case .locked(let dir, let reason):
            "data directory \(dir) is in use by another process (\(reason)); stop it or use another data directory"
        case .invalidOptions(let why): "invalid TSDB options: \(why)"
        case .internalError(let why): "internal error: \(why)"
        }
    }

    public var message: String { description }

    /// True when the caller's data was fine and the same request may succeed later (a full
    /// disk freed, a restarted collector): answer 503 + Retry-After, not 400.
    public var isRetryable: Bool {
        switch self {
        case .io, .walFailed, .closed, .locked: true
        case .corruption, .invalidOptions, .internalError: false
        }
    }

    /// Runs `body`, turning the I/O library's errors into `.io`: the TSDB's public calls
    /// throw only TSDBError.
    static func wrappingIO<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as DurableIOError { throw TSDBError.io(e) }
    }
}
