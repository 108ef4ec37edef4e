#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One process per data directory: two writers would interleave records.
extension FS {
    public enum Lock: Sendable {
        /// The descriptor holding the lock; closing it releases the lock.
        case held(Int32)
        /// Another holder has it; the errno of the refusal.
        case busy(Int32)
    }

    public enum LockKind: Sendable {
        /// POSIX record lock (fcntl): it belongs to the process, so reopening inside one
        /// process (tests simulating a crash) still works.
        case record
        /// flock: it belongs to the open file, so a second open in the same process is refused too.
        case flock
    }

    /// Creates `path` (0600 for `.record`, 0644 for `.flock`, as each user always did) and
    /// tries to lock it without waiting.
    public static func tryLock(_ path: String, _ kind: LockKind) throws -> Lock {
        let fd = try open(path, O_RDWR | O_CREAT, mode: kind == .record ? 0o600 : 0o644, what: "cannot create lock file")
        let ok: Bool
        switch kind {
        case .record:
            var fl = flock()
            fl.l_type = Int16(F_WRLCK)
            fl.l_whence = Int16(SEEK_SET)
            ok = fcntl(fd, F_SETLK, &fl) == 0
        case .flock:
            ok = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        if ok { return .held(fd) }
        let e = errno
        close(fd)
        return .busy(e)
    }
}
