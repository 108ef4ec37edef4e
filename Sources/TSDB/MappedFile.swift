#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DurableIO

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
        guard fd >= 0 else { throw TSDBError.io(DurableIOError("cannot open", path)) }
        defer { close(fd) }
        count = Int(FS.size(of: fd))
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw TSDBError.io(DurableIOError("cannot mmap", path)) }
        base = UnsafeRawPointer(p)
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

/// One process per data directory: a POSIX record lock on `<dir>/lock`, held by the returned
/// descriptor. Record locks belong to the process, so reopening inside one process (tests
/// simulating a crash) still works.
func lockDataDirectory(_ dir: String) throws -> Int32 {
    switch try FS.tryLock(dir + "/lock", .record) {
    case .held(let fd): return fd
    case .busy(let e): throw TSDBError.locked(dir: dir, reason: FS.errnoText(e))
    }
}
