#if os(Linux)
import Glibc
import Testing
@testable import EdgeScraper

/// StartupPages drops only mappings that read back exactly as they were: the selection on smaps
/// text, and a release in this very process that keeps written data and the code running.
@Suite struct StartupPagesTests {
    // The shape of /proc/PID/smaps (fields trimmed to the ones that matter and a few others).
    static let smaps = """
    55d000000000-55d000010000 r--p 00000000 08:01 100 /usr/bin/edge-scraper
    Size:                 64 kB
    Rss:                  64 kB
    Anonymous:             0 kB
    55d000010000-55d000090000 r-xp 00010000 08:01 100 /usr/bin/edge-scraper
    Rss:                 300 kB
    Anonymous:             0 kB
    55d000090000-55d0000a0000 r--p 00090000 08:01 100 /usr/bin/edge-scraper
    Anonymous:            64 kB
    55d0000a0000-55d0000b0000 rw-p 000a0000 08:01 100 /usr/bin/edge-scraper
    Anonymous:             8 kB
    7f0000000000-7f0000100000 r--p 00000000 08:01 200 /var/lib/edge-scraper/queue/segment-1
    Anonymous:             0 kB
    7f0000100000-7f0000200000 rw-p 00000000 00:00 0
    Anonymous:          1024 kB
    7f0000200000-7f0000300000 r-xp 00000000 08:01 300 /usr/lib/x86_64-linux-gnu/libc.so.6
    Anonymous:             0 kB
    7f0000300000-7f0000310000 r--s 00000000 08:01 300 /usr/lib/x86_64-linux-gnu/libc.so.6
    Anonymous:             0 kB
    7f0000310000-7f0000320000 r--p 00100000 08:01 300 /usr/lib/x86_64-linux-gnu/libc.so.6
    Rss:                  64 kB
    7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0 [vdso]
    Anonymous:             0 kB
    """

    @Test func onlyCleanPrivateReadOnlyMappingsOfExecutableFilesAreSelected() {
        let ranges = StartupPages.cleanExecutableFileMappings(smaps: Self.smaps)
        #expect(ranges == [
            0x55d0_0000_0000..<0x55d0_0001_0000,   // headers and tables of the binary
            0x55d0_0001_0000..<0x55d0_0009_0000,   // its text
            0x7f00_0020_0000..<0x7f00_0030_0000,   // libc's text
        ])
        // Not selected: RELRO with relocated pages, .data, a data file (no executable mapping),
        // the heap, a shared mapping, a mapping whose Anonymous line is missing, the vdso.
    }

    @Test func garbageIsNoMapping() {
        #expect(StartupPages.cleanExecutableFileMappings(smaps: "").isEmpty)
        #expect(StartupPages.cleanExecutableFileMappings(smaps: "zz-yy r-xp 0 0 0 /x\nAnonymous: 0 kB\n1-0 r-xp 0 0 0 /x\nAnonymous: 0 kB").isEmpty)
    }

    /// Written globals stay written, code and constants still work, and the resident set of the
    /// selected mappings shrinks (the pages this test needs fault back in).
    @Test func releaseKeepsWrittenDataAndDropsCleanPages() throws {
        StartupPagesProbe.counter = 41
        StartupPagesProbe.counter += 1
        let before = residentKiBOfSelectedMappings()
        #expect(before > 0)
        let advised = StartupPages.release()
        #expect(advised > 0)
        let after = residentKiBOfSelectedMappings()
        #expect(after < before)
        #expect(StartupPagesProbe.counter == 42)
        #expect(strlen("edge") == 4)
        #expect(String(describing: [1, 2, 3].map { $0 * 2 }) == "[2, 4, 6]")
    }

    private func residentKiBOfSelectedMappings() -> Int {
        guard let f = fopen("/proc/self/smaps", "r") else { return -1 }
        defer { fclose(f) }
        var text = ""
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, Int32(buf.count), f) != nil { text += String(cString: buf) }
        let selected = StartupPages.cleanExecutableFileMappings(smaps: text)
        var kib = 0, inSelected = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, !first.hasSuffix(":") {
                let b = first.split(separator: "-")
                inSelected = b.count == 2 && selected.contains { $0.lowerBound == UInt(b[0], radix: 16) }
            } else if inSelected, fields.first == "Rss:", fields.count >= 2 {
                kib += Int(fields[1]) ?? 0
            }
        }
        return kib
    }
}

enum StartupPagesProbe { nonisolated(unsafe) static var counter = 0 }
#endif
