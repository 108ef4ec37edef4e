#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DurableIO

/// The data directory holds bcrypt hashes, token hashes and every sample: it is the owner's
/// alone (directory 0700, files 0600), whatever the process umask, so library use (tests,
/// embedding) is as safe as the `collector` binary, which also sets umask 077.
enum PrivateFiles {
    /// Creates `path` (and missing parents) 0700, or tightens an existing directory to 0700.
    static func prepareDirectory(_ path: String) throws {
        try FS.preparePrivateDirectory(path)
    }

    /// SQLite creates a database 0644 and gives its -wal, -shm and -journal files the
    /// database's mode: creating the database 0600 first keeps all of them private.
    /// Existing files from older versions are tightened.
    static func prepareDatabase(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PrivateFilesError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        if fchmod(fd, 0o600) != 0 {
            throw PrivateFilesError("cannot restrict permissions (chmod 0600) of \(path): \(String(cString: strerror(errno)))")
        }
        for suffix in ["-wal", "-shm", "-journal"] { _ = chmod(path + suffix, 0o600) }
    }
}

struct PrivateFilesError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
