import Glibc

// Low-level helpers for the persistent queue: CRC-32C, little-endian fields, and thin
// Glibc wrappers that turn errno into errors naming the path.

public struct QueueError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }

    init(_ message: String) { self.message = message }

    static func errno(_ what: String, _ path: String, _ code: Int32 = Glibc.errno) -> QueueError {
        QueueError("\(what) \(path): \(String(cString: strerror(code)))")
    }
}

/// CRC-32C (Castagnoli), slicing-by-8. Castagnoli rather than IEEE because it detects
/// more error patterns in the short records the queue writes, as in LevelDB and Prometheus' WAL.
enum CRC32C {
    /// Eight 256-entry tables back to back: table k at k*256.
    static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    static func update(_ crc: UInt32, _ p: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        var i = 0
        let n = p.count
        table.withUnsafeBufferPointer { t in
            while n - i >= 8 {
                let lo = p.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian ^ c
                let hi = p.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                let a = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int(lo >> 8 & 0xFF)]
                let b = t[5 * 256 + Int(lo >> 16 & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                let d = t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int(hi >> 8 & 0xFF)]
                let e = t[256 + Int(hi >> 16 & 0xFF)] ^ t[Int(hi >> 24)]
                c = a ^ b ^ d ^ e
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(p[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func appendLE64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }

    func le32(at i: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian }
    }

    func le64(at i: Int) -> UInt64 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian }
    }
}

enum QFile {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw QueueError.errno("cannot open", path) }
        return fd
    }

    static func pread(_ fd: Int32, _ count: Int, at offset: Int64, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        try out.withUnsafeMutableBytes { p in
            while got < count {
                let n = Glibc.pread(fd, p.baseAddress! + got, count - got, off_t(offset) + off_t(got))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw QueueError.errno("cannot read", path)
                }
                if n == 0 { break }
                got += n
            }
        }
        if got < count { out.removeLast(count - got) }
        return out
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var done = 0
        try bytes.withUnsafeBytes { p in
            while done < p.count {
                let n = Glibc.write(fd, p.baseAddress! + done, p.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw QueueError.errno("cannot write", path)
                }
                done += n
            }
        }
    }

    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: String) throws {
        var done = 0
        try bytes.withUnsafeBytes { p in
            while done < p.count {
                let n = Glibc.pwrite(fd, p.baseAddress! + done, p.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw QueueError.errno("cannot write", path)
                }
                done += n
            }
        }
    }

    static func size(_ fd: Int32) -> Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    static func mkdirAll(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                // The default queue.dir is under /var/lib: name the setting for non-root runs.
                throw QueueError("cannot create directory \(prefix): \(String(cString: strerror(errno))) (set queue.dir to a writable directory)")
            }
        }
    }

    static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else { throw QueueError.errno("cannot list", dir) }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    static func fsyncDir(_ dir: String) {
        let fd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}

enum DeliveryClock {
    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
