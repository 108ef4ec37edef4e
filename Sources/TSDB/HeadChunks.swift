#if canImport(Glibc)
import Glibc
#endif
import DurableIO

/// Where sealed head chunks live once they are full: append-only scratch files mapped read-only,
/// as Prometheus' chunks_head, so the bulk of the head's samples is page cache, not heap. The
/// WAL remains the source of truth; the directory is wiped on every open and never fsynced.
/// Any file error just leaves chunks in memory. Accessed only under the head lock.
final class HeadChunkStore {
    struct Ref: Sendable, Equatable {
        var file: UInt32
        var offset: UInt32
        var length: UInt32
    }

    /// One file's read-only mapping. Query snapshots hold these while they decode outside the
    /// head lock, so a file dropped meanwhile stays mapped until its last reader is done.
    final class Mapping: @unchecked Sendable {
        let base: UnsafeRawPointer
        init(_ base: UnsafeRawPointer) { self.base = base }
        deinit { munmap(UnsafeMutableRawPointer(mutating: base), HeadChunkStore.fileSize) }
    }

    /// The files a query snapshot reads: the mappings, held so that a file dropped meanwhile
    /// stays mapped, and their addresses, so decoding looks chunks up without reference counting.
    struct Files: @unchecked Sendable {
        let mappings: [UInt32: Mapping]
        let bases: [UInt32: UnsafeRawPointer]

        init(_ mappings: [UInt32: Mapping] = [:]) {
            self.mappings = mappings
            bases = mappings.mapValues(\.base)
        }

        /// The bytes of a chunk written to one of the files (sealed chunks never change).
        func bytes(_ r: Ref) -> UnsafeRawBufferPointer? {
            bases[r.file].map { UnsafeRawBufferPointer(start: $0 + Int(r.offset), count: Int(r.length)) }
        }
    }

    private struct File {
        let fd: Int32
        let mapping: Mapping
        var live: Int
        var base: UnsafeRawPointer { mapping.base }
    }

    static let fileSize = 64 << 20
    let dir: String?
    private var files: [UInt32: File] = [:]
    private var current: UInt32 = 0
    private var offset = HeadChunkStore.fileSize
    private var disabled: Bool

    /// `dir == nil` keeps everything in memory.
    init(dir: String?) {
        self.dir = dir
        disabled = dir == nil
        if let dir {
            try? FS.removeAll(dir)
            if (try? FS.mkdirAll(dir)) == nil { disabled = true }
        }
    }

    deinit {
        for (id, f) in files { drop(id, f) }
    }

    private func path(_ id: UInt32) -> String { dir! + "/" + WAL.segmentName(Int(id)) }

    /// Unmapping waits for the last `Mapping` reference (see there).
    private func drop(_ id: UInt32, _ f: File) {
        close(f.fd)
        unlink(path(id))
    }

    private func openNext() -> Bool {
        if let f = files[current], f.live == 0 { drop(current, f); files[current] = nil }
        let id = current &+ 1
        let p = path(id)
        let fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        // Sparse: reads through the mapping never go past the end, writes use pwrite so a
        // full disk is an error return, not a SIGBUS.
        guard ftruncate(fd, off_t(HeadChunkStore.fileSize)) == 0,
              let m = mmap(nil, HeadChunkStore.fileSize, PROT_READ, MAP_SHARED, fd, 0), m != MAP_FAILED else {
            close(fd)
            unlink(p)
            return false
        }
        files[id] = File(fd: fd, mapping: Mapping(UnsafeRawPointer(m)), live: 0)
        current = id
        offset = 0
        return true
    }

    /// Moves a sealed chunk's bytes to disk; returns it unchanged when that is not possible.
    func offload(_ c: ChunkData) -> ChunkData {
        guard !disabled, c.disk == nil, !c.data.isEmpty, c.data.count < HeadChunkStore.fileSize else { return c }
        if offset + c.data.count > HeadChunkStore.fileSize || files[current] == nil {
            guard openNext() else { disabled = true; return c }
        }
        let n = c.data.withUnsafeBytes { pwrite(files[current]!.fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard n == c.data.count else { return c }
        var out = c
        out.disk = Ref(file: current, offset: UInt32(offset), length: UInt32(c.data.count))
        out.data = []
        files[current]!.live += 1
        offset += c.data.count
        return out
    }

    /// The chunk with its bytes in memory.
    func load(_ c: ChunkData) -> ChunkData {
        guard let r = c.disk, let f = files[r.file] else { return c }
        var out = c
        out.data = Array(UnsafeRawBufferPointer(start: f.base + Int(r.offset), count: Int(r.length)))
        out.disk = nil
        return out
    }

    /// Every file's mapping, for a query to read disk chunks after the head lock is released.
    func filesForQuery() -> Files { Files(files.mapValues(\.mapping)) }

    /// The chunk no longer needs its disk copy; files with no live chunks are deleted.
    func release(_ c: ChunkData) {
        guard let r = c.disk, var f = files[r.file] else { return }
        f.live -= 1
        if f.live <= 0 && r.file != current {
            drop(r.file, f)
            files[r.file] = nil
        } else {
            files[r.file] = f
        }
    }

    var fileCount: Int { files.count }
}
