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
/// settled, the clean read-only mappings of the executable files are paged out
/// (`MADV_PAGEOUT`, Linux 5.4): pages only this process maps leave memory, and what the agent
/// still runs faults back in (with the kernel's fault-around, so the binary's hot text comes back
/// almost whole: the gain is start-up code, tables and metadata). Docs: docs/benchmarks.md, "Edge
/// agent, issue 15: packed relocations and start-up pages".
///
/// `MADV_PAGEOUT`, not `MADV_DONTNEED`: paging out never changes what a page holds (a dirty or
/// copy-on-write page is written to swap or kept), whereas `DONTNEED` on a private mapping throws
/// away copy-on-write pages, and the selection below is a snapshot of smaps that another thread
/// can outdate (a library being loaded by `getaddrinfo` maps, relocates and protects its
/// segments meanwhile; a copy-on-write page can be in swap, not in smaps' `Anonymous`). With
/// `PAGEOUT` an outdated selection costs page faults, never data.
///
/// Selected: private, not writable mappings without a copy-on-write page (smaps' `Anonymous: 0 kB`)
/// of a file that also has an executable mapping (the binary and the libraries, not data files).
public enum StartupPages {
    /// Schedules one release `seconds` from now on the agent's event loop (no thread of its own).
    public static func releaseAfter(seconds: Int64) {
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .seconds(seconds)) { release() }
    }

    /// Pages out the clean executable-file mappings of this process; returns how many bytes of
    /// address range were advised (0 where /proc is missing, the kernel is older than 5.4 or
    /// this is not Linux).
    @discardableResult
    public static func release() -> Int {
        #if os(Linux) && canImport(Glibc)
        guard let smaps = FileIO.readIfPresent("/proc/self/smaps") else { return 0 }
        var bytes = 0
        for range in cleanExecutableFileMappings(smaps: smaps) {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            let length = Int(range.upperBound - range.lowerBound)
            if madvise(start, length, MADV_PAGEOUT) == 0 { bytes += length }
        }
        return bytes
        #else
        return 0
        #endif
    }

    /// The address ranges that `release` may drop, from the text of /proc/PID/smaps.
    static func cleanExecutableFileMappings(smaps: String) -> [Range<UInt>] {
        struct Mapping { var range: Range<UInt>; var perms: Substring; var path: Substring; var anonymousKiB = -1 }
        var mappings: [Mapping] = []
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.hasSuffix(":") {
                // "Anonymous:   12 kB": the copy-on-write pages of the mapping above.
                if first == "Anonymous:", fields.count >= 2, let kib = Int(fields[1]), !mappings.isEmpty {
                    mappings[mappings.count - 1].anonymousKiB = kib
                }
                continue
            }
            // "lo-hi perms offset dev inode [path]"
            guard fields.count >= 5 else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let lo = UInt(bounds[0], radix: 16), let hi = UInt(bounds[1], radix: 16), lo < hi,
                  fields[1].count == 4 else { continue }
            let path = fields.count >= 6 ? fields[5] : ""
            mappings.append(Mapping(range: lo..<hi, perms: fields[1], path: path))
        }
        let executableFiles = Set(mappings.filter { $0.path.hasPrefix("/") && $0.perms.dropFirst(2).first == "x" }.map(\.path))
        return mappings.filter { m in
            executableFiles.contains(m.path)
                && m.perms.dropFirst().first == "-"   // not writable
                && m.perms.last == "p"                // private
                && m.anonymousKiB == 0                // no page differs from the file (unknown: keep)
        }.map(\.range)
    }
}
