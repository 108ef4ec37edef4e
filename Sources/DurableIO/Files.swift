#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FS {
    public static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    public static func size(of fd: Int32) -> Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// `open(2)` with O_CLOEXEC; new files get `mode` (owner-only by default).
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600, what: String = "cannot open") throws -> Int32 {
        #if canImport(Glibc)
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        #else
        let fd = Darwin.open(path, flags | O_CLOEXEC, mode)
        #endif
        if fd < 0 { throw DurableIOError(what, path) }
        return fd
    }

    public static func rename(_ from: String, _ to: String) throws {
        #if canImport(Glibc)
        let rc = Glibc.rename(from, to)
        #else
        let rc = Darwin.rename(from, to)
        #endif
        if rc != 0 { throw DurableIOError("cannot rename to \(to):", from) }
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try pread(fd, Int(size(of: fd)), at: 0, path: path)
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    public static func pread(_ fd: Int32, _ count: Int, at offset: Int64, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        try out.withUnsafeMutableBytes { p in
            while got < count {
                #if canImport(Glibc)
                let n = Glibc.pread(fd, p.baseAddress! + got, count - got, off_t(offset) + off_t(got))
                #else
                let n = Darwin.pread(fd, p.baseAddress! + got, count - got, off_t(offset) + off_t(got))
                #endif
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DurableIOError("cannot read", path)
                }
                if n == 0 { break }
                got += n
            }
        }
        if got < count { out.removeLast(count - got) }
        return out
    }

    /// Writes all of `bytes` at the descriptor's position, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < bytes.count {
            #if canImport(Glibc)
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            #else
            let n = Darwin.write(fd, bytes.baseAddress! + off, bytes.count - off)
            #endif
            if n < 0 { if errno == EINTR { continue }; throw DurableIOError("cannot write", path) }
            off += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    public static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: String) throws {
        var done = 0
        try bytes.withUnsafeBytes { p in
            while done < p.count {
                #if canImport(Glibc)
                let n = Glibc.pwrite(fd, p.baseAddress! + done, p.count - done, off_t(offset) + off_t(done))
                #else
                let n = Darwin.pwrite(fd, p.baseAddress! + done, p.count - done, off_t(offset) + off_t(done))
                #endif
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DurableIOError("cannot write", path)
                }
                done += n
            }
        }
    }

    /// Writes `path.tmp` (0600), fsyncs it and renames it over `path`: readers see the old
    /// or the new content, never a mix. The caller syncs the directory when the name matters.
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC, what: "cannot create")
        do {
            try writeAll(fd, bytes, path: tmp)
            if fsync(fd) != 0 { throw DurableIOError("cannot fsync", tmp) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(tmp, path)
    }

    public static func syncFile(_ path: String) throws {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        if fsync(fd) != 0 { throw DurableIOError("cannot fsync", path) }
    }
}
