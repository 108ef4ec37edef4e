import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Gives back the pages of the binary and its shared libraries that only start-up used.
///
/// Loading, relocating, parsing arguments and the configuration, and the first scrapes touch code
/// and tables (the libraries' symbol tables, ArgumentParser, YAML, error paths) that the steady
/// state never runs again; they stay resident for the life of the process. Once the agent has
/// settled, the pages of the loaded objects that are exactly the file's bytes are unmapped from
/// this process (`MADV_DONTNEED`): the libraries' stay in the page cache, shared with other
/// processes (libc), the binary's are evicted (below), and what the agent still runs faults back
/// in (with the kernel's fault-around: the gain is start-up code, tables and metadata, and the
/// libraries' pages that other processes keep mapped). Docs: docs/benchmarks.md, "Edge agent,
/// issue 15: packed relocations and start-up pages" and "exact drop".
///
/// `MADV_DONTNEED` on a private mapping also throws away copy-on-write pages (a relocated page, a
/// debugger's breakpoint), which would then read as the file's bytes again. So no page is dropped
/// on a snapshot: the selection is made inside `dl_iterate_phdr`'s callback, whose lock keeps the
/// listed objects mapped (no dlclose can unmap one and a dlopen reuse its addresses), it takes
/// only segments nothing in the process writes after loading (read-only `PT_LOAD` segments; not
/// RELRO, which the loader may write again; no object with text relocations), and each page is
/// checked in /proc/self/pagemap right before its drop: only present pages that are the file's
/// own (not anonymous, not in swap) go (`StartupPages.dropFilePages`). What is left is a window of
/// microseconds between a page's check and its drop in which only an outside writer (a debugger's
/// or a uprobe's breakpoint set at that moment) could make it a copy.
///
/// Not `MADV_PAGEOUT` (the previous way): it keeps pages other processes map (libc's), and for a
/// process that neither owns the binary nor may write it (an agent run as a service user on a
/// root-owned /usr/bin/edge-scraper) the kernel ignores it for file pages altogether.
public enum StartupPages {
    /// Schedules one release `seconds` from now on the agent's event loop (no thread of its own).
    public static func releaseAfter(seconds: Int64) {
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .seconds(seconds)) { release() }
    }

    /// Drops the file pages of the loaded objects' read-only segments; returns how many bytes were
    /// dropped (0 where /proc is missing or this is not Linux).
    @discardableResult
    public static func release() -> Int {
        #if os(Linux) && canImport(Glibc)
        let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard pagemap >= 0 else { return 0 }
        defer { close(pagemap) }
        let walk = ObjectWalk(pagemap: pagemap)
        _ = withExtendedLifetime(walk) {
            edgeDlIteratePhdr({ info, _, context in
                guard let info, let context else { return 1 }
                Unmanaged<ObjectWalk>.fromOpaque(context).takeUnretainedValue()
                    .visit(info.assumingMemoryBound(to: LoadedObject.self).pointee)
                return 0
            }, Unmanaged.passUnretained(walk).toOpaque())
        }
        // The binary's own pages, now mapped by no one, leave the page cache too: read back on
        // demand they come in smaller folios, and the kernel maps a text fault's whole folio, so
        // the text that stays resident follows the functions run more closely (docs/benchmarks.md,
        // "exact drop"). Only clean, unmapped pages go; the file is read again when needed.
        let exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        if exe >= 0 { _ = posix_fadvise(exe, 0, 0, POSIX_FADV_DONTNEED); close(exe) }
        return walk.dropped
        #else
        return 0
        #endif
    }
}

#if os(Linux) && canImport(Glibc)
/// The state of one `dl_iterate_phdr` walk; `visit` runs with the loader's lock held.
private final class ObjectWalk {
    let pagemap: Int32
    let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))
    /// Read once, at the first object with segments to drop: while the walk holds the lock, listed
    /// objects stay mapped, and the read-only segments taken (no text relocations) are never made
    /// writable, so what this snapshot says of them holds for the whole walk.
    var readOnlyFileMappings: [Range<UInt>]?
    var dropped = 0
    var visited = 0

    init(pagemap: Int32) { self.pagemap = pagemap }

    func visit(_ object: LoadedObject) {
        let isExecutable = visited == 0   // glibc lists the main program first
        visited += 1
        guard let phdr = object.headers else { return }
        let headers = UnsafeBufferPointer(start: phdr, count: Int(object.headerCount))
        let segments = StartupPages.segmentsNotWrittenAfterLoad(base: object.base, headers: headers, pageSize: pageSize)
        guard !segments.isEmpty else { return }
        if readOnlyFileMappings == nil {
            readOnlyFileMappings = StartupPages.readOnlyPrivateFileMappings(maps: FileIO.readIfPresent("/proc/self/maps") ?? "")
        }
        for range in StartupPages.intersect(segments, readOnlyFileMappings ?? []) {
            // The binary's pages come back one by one, without read-around (its page cache is
            // emptied below); advice only, contents unchanged.
            if isExecutable, let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) {
                _ = madvise(start, Int(range.upperBound - range.lowerBound), MADV_RANDOM)
            }
            dropped += StartupPages.dropFilePages(in: range, pagemap: pagemap, pageSize: pageSize)
        }
    }
}

/// The leading fields of glibc's `struct dl_phdr_info` (link.h; the fields after `dlpi_phnum` came
/// later and are not needed). The Glibc module does not export it: link.h declares it, and
/// `dl_iterate_phdr`, only under _GNU_SOURCE.
struct LoadedObject {
    var base: UInt                                  // dlpi_addr
    var name: UnsafePointer<CChar>?                 // dlpi_name
    var headers: UnsafePointer<Elf64_Phdr>?         // dlpi_phdr
    var headerCount: UInt16                         // dlpi_phnum
}

/// glibc's `dl_iterate_phdr` (link.h): calls `callback` once per loaded object with the loader's
/// lock held, so the listed objects stay mapped until it returns.
@_silgen_name("dl_iterate_phdr")
func edgeDlIteratePhdr(
    _ callback: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32,
    _ context: UnsafeMutableRawPointer?) -> Int32
#endif
