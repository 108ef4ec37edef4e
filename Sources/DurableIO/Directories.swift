#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX helpers (the Foundation-free part of what VictoriaMetrics keeps in lib/fs).
/// Every error names the path and the errno text.
public enum FS {
    public static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p`; directories it creates get `mode` (owner-only by default: data directories
    /// hold every sample). Existing directories are left as they are.
    public static func mkdirAll(_ path: String, mode: mode_t = 0o700) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if !isDirectory(prefix) && mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw DurableIOError("cannot create directory", prefix)
            }
            prefix += "/"
        }
    }

    /// Data directories made before modes were explicit may be 0755: tighten to owner-only,
    /// which also closes every file below them to other users.
    public static func restrictToOwner(_ path: String) throws {
        if chmod(path, 0o700) != 0 { throw DurableIOError("cannot restrict permissions (chmod 0700) of", path) }
    }

    /// Creates `path` (and missing parents) 0700, or tightens an existing directory to 0700.
    public static func preparePrivateDirectory(_ path: String) throws {
        try mkdirAll(path, mode: 0o700)
        try restrictToOwner(path)
    }

    /// Entry names without "." and "..", sorted.
    public static func list(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw DurableIOError("cannot list directory", path) }
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

    /// Removes a file or a directory tree (block and log directories are flat).
    public static func removeAll(_ path: String) throws {
        if isDirectory(path) {
            for name in try list(path) { try removeAll(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw DurableIOError("cannot remove directory", path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw DurableIOError("cannot remove", path)
        }
    }

    /// Makes created, renamed and removed names in `path` durable. Best effort: some file
    /// systems refuse to fsync a directory, and there is nothing better to do then.
    public static func syncDirectory(_ path: String) {
        #if canImport(Glibc)
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #else
        let fd = Darwin.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #endif
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}
