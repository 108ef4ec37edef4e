#if os(Linux) && canImport(Glibc)
import Glibc

extension StartupPages {
    /// Unmaps the pages of `range` (page-aligned, in a private file mapping) that are exactly the
    /// file's bytes, and keeps every other page; returns the bytes unmapped.
    ///
    /// Each page's entry in /proc/self/pagemap (Documentation/admin-guide/mm/pagemap.rst) is read
    /// right before the drop: bit 63 "present" and bit 61 "file-page or shared-anon" set means the
    /// page table maps the page cache's page itself. A page written in a private mapping (a
    /// relocated page, a breakpoint) is a copy-on-write anonymous page with bit 61 clear, and one
    /// in swap has bit 63 clear: both are kept. Dropping a file page changes nothing that can be
    /// read (the next access maps the same page-cache page again); it only leaves this process's
    /// resident set. The callers pass only ranges that nothing in the process writes
    /// (`segmentsNotWrittenAfterLoad`, `readOnlyPrivateFileMappings`), so between a page's check and
    /// its drop only an outside writer (a debugger's or a uprobe's breakpoint set at that moment)
    /// could make it a copy.
    static func dropFilePages(in range: Range<UInt>, pagemap: Int32, pageSize: UInt) -> Int {
        let present: UInt64 = 1 << 63, filePage: UInt64 = 1 << 61
        let chunk = 512
        var entries = [UInt64](repeating: 0, count: chunk)
        var dropped = 0
        var page = range.lowerBound
        while page < range.upperBound {
            let count = min(chunk, Int((range.upperBound - page) / pageSize))
            guard count > 0 else { break }
            let want = count * 8
            let got = entries.withUnsafeMutableBytes { pread(pagemap, $0.baseAddress, want, off_t(page / pageSize) * 8) }
            guard got == want else { return dropped }
            // Runs of consecutive file pages, one madvise each.
            var i = 0
            while i < count {
                guard entries[i] & (present | filePage) == present | filePage else { i += 1; continue }
                var j = i + 1
                while j < count, entries[j] & (present | filePage) == present | filePage { j += 1 }
                let length = (j - i) * Int(pageSize)
                if let start = UnsafeMutableRawPointer(bitPattern: page + UInt(i) * pageSize),
                   madvise(start, length, MADV_DONTNEED) == 0 {
                    dropped += length
                }
                i = j
            }
            page += UInt(count) * pageSize
        }
        return dropped
    }
}
#endif
