#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Torn-tail repair for append-only logs: a crash mid-append leaves a partial record at the
/// end of the last segment. Start-up finds the last good record (each log checks its own
/// framing) and cuts the file there, durably, so nothing is ever appended after garbage.
extension FS {
    /// Truncates the open file to `length` bytes and fsyncs it.
    public static func cutTail(_ fd: Int32, to length: Int64, path: String) throws {
        if ftruncate(fd, off_t(length)) != 0 { throw DurableIOError("cannot truncate", path) }
        if fsync(fd) != 0 { throw DurableIOError("cannot fsync", path) }
    }

    /// Truncates the file at `path` to `length` bytes and fsyncs it.
    public static func cutTail(_ path: String, to length: Int64) throws {
        let fd = try open(path, O_WRONLY)
        defer { close(fd) }
        try cutTail(fd, to: length, path: path)
    }
}
