#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DurableIO

public struct SnapshotReport: Sendable {
    public var blocks = 0
    public var walFiles = 0
    public var walBytes: Int64 = 0
}

extension TSDB {
    /// Writes a consistent copy of the store into `target` (a new directory, on the same file
    /// system as the data directory so block files can be hard-linked: blocks never change once
    /// written, and a link keeps a block's data even after compaction or retention deletes it).
    ///
    /// Consistency: under the maintenance lock no head cut, compaction, retention or WAL
    /// checkpoint runs, so the block list and the WAL (checkpoint + segments) describe the same
    /// store. Appends go on meanwhile; the last segment is copied as far as it is written, and
    /// a record torn at its end is cut on open, as after a crash: the copy holds every sample
    /// acknowledged before the snapshot began, and possibly some written during it.
    /// `withHead: false` (Prometheus' `skip_head`) copies the blocks only.
    ///
    /// Restoring is opening a data directory that holds the copy: the WAL replays into the head.
    public func snapshot(into target: String, withHead: Bool = true) throws -> SnapshotReport {
        try maintenance.withLock { _ in try TSDBError.wrappingIO {
            var report = SnapshotReport()
            guard !FS.exists(target) else {
                throw TSDBError.io(DurableIOError(message: "snapshot target \(target) already exists", path: target))
            }
            try FS.mkdirAll(target)
            let blocks = shared.withLock { $0.blocks }
            for b in blocks {
                let name = String(b.dir.split(separator: "/").last ?? "")
                try SnapshotFiles.linkTree(b.dir, target + "/" + name)
                report.blocks += 1
            }
            if withHead {
                let walTarget = target + "/wal"
                try FS.mkdirAll(walTarget)
                let names = try FS.list(walDir).filter { !$0.hasSuffix(".tmp") }
                for name in names {
                    report.walBytes += try SnapshotFiles.copyFile(walDir + "/" + name, walTarget + "/" + name)
                    report.walFiles += 1
                }
                FS.syncDirectory(walTarget)
            }
            FS.syncDirectory(target)
            return report
        } }
    }

}

/// File work of a snapshot, outside `TSDB` whose static `open` would shadow the system call.
private enum SnapshotFiles {
    /// Hard-links every file below `from` into `to` (created); copies where links are refused
    /// (another file system).
    static func linkTree(_ from: String, _ to: String) throws {
        try FS.mkdirAll(to)
        for name in try FS.list(from) {
            let src = from + "/" + name, dst = to + "/" + name
            if FS.isDirectory(src) {
                try linkTree(src, dst)
            } else if link(src, dst) != 0 {
                guard errno == EXDEV || errno == EPERM else { throw DurableIOError("cannot link \(src) to", dst) }
                _ = try copyFile(src, dst)
            }
        }
        FS.syncDirectory(to)
    }

    /// Copies a file as far as it is written now, fsynced, mode 0600; returns the bytes copied.
    static func copyFile(_ from: String, _ to: String) throws -> Int64 {
        let bytes = try FS.readFile(from)
        let fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableIOError("cannot create", to) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try FS.writeAll(fd, $0, path: to) }
        if fsync(fd) != 0 { throw DurableIOError("cannot fsync", to) }
        return Int64(bytes.count)
    }
}
