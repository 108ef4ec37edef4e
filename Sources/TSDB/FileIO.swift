#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX helpers. Errors carry the path and errno text so disk-full and permission
/// problems are obvious to whoever reads the collector's 5xx or log line.
enum FileIO {
    static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    static func error(_ op: String, _ path: String, _ e: Int32 = errno) -> TSDBError {
        TSDBError("\(op) \(path): \(errnoText(e))")
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    static func mkdirAll(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if !isDirectory(prefix) && mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw error("cannot create directory", prefix)
            }
            prefix += "/"
        }
    }

    /// Data directories made before modes were explicit may be 0755: tighten to owner-only,
    /// which also closes every file below them to other users.
    static func restrictToOwner(_ path: String) throws {
        if chmod(path, 0o700) != 0 { throw error("cannot restrict permissions (chmod 0700) of", path) }
    }

    static func list(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw error("cannot list directory", path) }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted()
    }

    /// Removes a file or a directory tree (block directories are flat, WAL dirs too).
    static func removeAll(_ path: String) throws {
        if isDirectory(path) {
            for name in try list(path) { try removeAll(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw error("cannot remove directory", path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw error("cannot remove", path)
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw error("cannot rename to \(to):", from) }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open", path) }
        defer { close(fd) }
        let size = Int(fileSizeOf(fd))
        var buf = [UInt8](repeating: 0, count: size)
        var off = 0
        while off < size {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + off, size - off, off_t(off)) }
            if n < 0 { if errno == EINTR { continue }; throw error("cannot read", path) }
            if n == 0 { break }
            off += n
        }
        if off < size { buf.removeLast(size - off) }
        return buf
    }

    static func fileSizeOf(_ fd: Int32) -> Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 { if errno == EINTR { continue }; throw error("cannot write", path) }
            off += n
        }
    }

    static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw error("cannot create", tmp) }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: tmp) }
            if fsync(fd) != 0 { throw error("cannot fsync", tmp) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(tmp, path)
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open", path) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw error("cannot fsync", path) }
    }
}

/// A read-only memory map of a whole file. Blocks keep their index and chunks mapped so a
/// restart touches only the pages queries need.
final class MappedFile: @unchecked Sendable {
    // Immutable after init; the mapping is released when the last reader lets go.
    let path: String
    let base: UnsafeRawPointer?
    let count: Int

    init(_ path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIO.error("cannot open", path) }
        defer { close(fd) }
        count = Int(FileIO.fileSizeOf(fd))
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileIO.error("cannot mmap", path) }
        base = UnsafeRawPointer(p)
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

extension FileIO {
    /// Takes a POSIX record lock on `<dir>/lock` so a second process cannot open the same data
    /// directory, and returns the descriptor holding it. Record locks belong to the process, so
    /// reopening inside one process (tests simulating a crash) still works.
    static func lockDirectory(_ dir: String) throws -> Int32 {
        let path = dir + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw error("cannot create lock file", path) }
        var fl = flock()
        fl.l_type = Int16(F_WRLCK)
        fl.l_whence = Int16(SEEK_SET)
        if fcntl(fd, F_SETLK, &fl) != 0 {
            let e = errno
            close(fd)
            throw TSDBError("data directory \(dir) is in use by another process (\(errnoText(e))); stop it or use another data directory")
        }
        return fd
    }
}
