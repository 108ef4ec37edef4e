#if os(Linux)
import Glibc
import Testing
@testable import EdgeScraper

/// StartupPages drops only pages that read back exactly as they were: the selection of mappings,
/// the page-by-page check on a file mapping with a written page, and a release in this very
/// process that keeps relocated and written data and the code running.
@Suite struct StartupPagesTests {
    static let maps = """
    55d000000000-55d000010000 r--p 00000000 08:01 100                        /usr/bin/edge-scraper
    55d000010000-55d000090000 r-xp 00010000 08:01 100                        /usr/bin/edge-scraper
    55d000090000-55d0000a0000 r--p 00090000 08:01 100                        /usr/bin/edge-scraper
    55d0000a0000-55d0000b0000 rw-p 000a0000 08:01 100                        /usr/bin/edge-scraper
    7f0000000000-7f0000100000 r--s 00000000 08:01 200                        /var/lib/edge-scraper/queue/segment-1
    7f0000100000-7f0000200000 rw-p 00000000 00:00 0
    7f0000200000-7f0000300000 r-xp 00000000 08:01 300                        /usr/lib/x86_64-linux-gnu/libc.so.6
    7f0000300000-7f0000301000 r--p 00000000 00:00 0
    7f0000400000-7f0000500000 r-xp 00000000 08:01 400                        /opt/edge/edge-scraper (deleted)
    7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0                          [vdso]
    """

    @Test func onlyReadOnlyPrivateFileMappingsAreSelected() {
        #expect(StartupPages.readOnlyPrivateFileMappings(maps: Self.maps) == [
            0x55d0_0000_0000..<0x55d0_0001_0000,   // headers and tables of the binary
            0x55d0_0001_0000..<0x55d0_0009_0000,   // its text
            0x55d0_0009_0000..<0x55d0_000a_0000,   // its read-only data
            0x7f00_0020_0000..<0x7f00_0030_0000,   // libc's text
            0x7f00_0040_0000..<0x7f00_0050_0000,   // a binary replaced on disk while it runs
        ])
        // Not selected: .data (writable), a shared mapping, the heap, anonymous read-only memory, the vdso.
        #expect(StartupPages.readOnlyPrivateFileMappings(maps: "").isEmpty)
        #expect(StartupPages.readOnlyPrivateFileMappings(maps: "zz-yy r-xp 0 0 0 /x\n2-1 r-xp 0 0 0 /x").isEmpty)
    }

    @Test func segmentsAreClippedToTheMappings() {
        let segments: [Range<UInt>] = [0x1000..<0x5000, 0x8000..<0x9000]
        let mappings: [Range<UInt>] = [0x0..<0x2000, 0x3000..<0x4000, 0x4000..<0x8000]
        #expect(StartupPages.intersect(segments, mappings) == [0x1000..<0x2000, 0x3000..<0x4000, 0x4000..<0x5000])
    }

    /// A private mapping of a file with one page written (copy-on-write, as a relocated page or a
    /// breakpoint): that page keeps what was written and stays resident; the clean pages leave
    /// the resident set and read back as the file.
    @Test func aWrittenPageIsKeptAndCleanPagesAreDropped() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), pages = 8
        var template = Array("/tmp/startup-pages-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        defer { close(fd); unlink(template) }
        let bytes = [UInt8](repeating: UInt8(ascii: "A"), count: page * pages)
        #expect(write(fd, bytes, bytes.count) == bytes.count)
        let mapped = mmap(nil, page * pages, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        try #require(mapped != MAP_FAILED)
        let base = try #require(mapped)
        defer { munmap(base, page * pages) }
        let memory = base.assumingMemoryBound(to: UInt8.self)
        var sum = 0
        for i in 0..<pages { sum += Int(memory[i * page]) }   // every page resident
        #expect(sum == pages * Int(UInt8(ascii: "A")))
        memory[2 * page] = UInt8(ascii: "B")                    // page 2 is now a private copy

        let pagemap = open("/proc/self/pagemap", O_RDONLY)
        try #require(pagemap >= 0)
        defer { close(pagemap) }
        let start = UInt(bitPattern: base)
        #expect(presentPages(start, pages, page, pagemap) == Array(0..<pages))
        let dropped = StartupPages.dropFilePages(in: start..<start + UInt(page * pages), pagemap: pagemap, pageSize: UInt(page))
        #expect(dropped == (pages - 1) * page)
        #expect(presentPages(start, pages, page, pagemap) == [2])
        #expect(memory[2 * page] == UInt8(ascii: "B"))
        #expect(memory[2 * page + 1] == UInt8(ascii: "A"))
        for i in 0..<pages where i != 2 { #expect(memory[i * page] == UInt8(ascii: "A")) }
    }

    /// In this process: code, constants and relocated pointers still work after the release,
    /// written globals stay written, no copy-on-write page of a read-only mapping is dropped, and
    /// those mappings' resident set shrinks.
    @Test func releaseKeepsRelocatedAndWrittenDataAndDropsCleanPages() throws {
        StartupPagesProbe.counter = 41
        StartupPagesProbe.counter += 1
        let before = readOnlyFileMappingKiB()
        #expect(before.rss > 0)
        #expect(before.anonymous > 0)   // RELRO's relocated pages (r--p too): what must survive
        #expect(StartupPages.release() > 0)
        let after = readOnlyFileMappingKiB()
        #expect(after.rss < before.rss)
        #expect(after.anonymous == before.anonymous)
        #expect(StartupPagesProbe.counter == 42)
        #expect(strlen("edge") == 4)
        let values: [any CustomStringConvertible] = [1, "two", 3.5]
        #expect(values.map(\.description) == ["1", "two", "3.5"])
        #expect(String(describing: [1, 2, 3].map { $0 * 2 }) == "[2, 4, 6]")
    }

    /// Resident and copy-on-write KiB of this test binary's mappings that `release` may touch,
    /// from smaps (the binary's only: a library another test loads meanwhile would move the sums).
    private func readOnlyFileMappingKiB() -> (rss: Int, anonymous: Int) {
        let smaps = FileIO.readIfPresent("/proc/self/smaps") ?? ""
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        let exePath = n > 0 ? String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        let selected = Set(StartupPages.readOnlyPrivateFileMappings(maps: smaps).map(\.lowerBound))
        var rss = 0, anonymous = 0, inSelected = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first, fields.count >= 2 else { continue }
            if !first.hasSuffix(":") {
                let b = first.split(separator: "-")
                inSelected = b.count == 2 && UInt(b[0], radix: 16).map(selected.contains) == true
                    && fields.count >= 6 && fields[5] == exePath
            } else if inSelected, first == "Rss:" {
                rss += Int(fields[1]) ?? 0
            } else if inSelected, first == "Anonymous:" {
                anonymous += Int(fields[1]) ?? 0
            }
        }
        return (rss, anonymous)
    }

    private func presentPages(_ start: UInt, _ pages: Int, _ page: Int, _ pagemap: Int32) -> [Int] {
        var entries = [UInt64](repeating: 0, count: pages)
        let got = entries.withUnsafeMutableBytes { pread(pagemap, $0.baseAddress, pages * 8, off_t(start / UInt(page)) * 8) }
        guard got == pages * 8 else { return [-1] }
        return (0..<pages).filter { entries[$0] & (1 << 63) != 0 }
    }
}

enum StartupPagesProbe { nonisolated(unsafe) static var counter = 0 }
#endif
