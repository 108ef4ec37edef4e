extension StartupPages {
    /// The private mappings of files that are not writable now, from the text of
    /// /proc/PID/maps ("lo-hi perms offset dev inode path"). Not writable: anything a store
    /// could reach is left out. Private: a shared mapping's pages are the file's, written through.
    /// A file: not the heap, stacks, the vdso or anonymous memory.
    static func readOnlyPrivateFileMappings(maps: String) -> [Range<UInt>] {
        var ranges: [Range<UInt>] = []
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6 else { continue }
            let perms = fields[1], path = fields[5].drop { $0 == " " }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let lo = UInt(bounds[0], radix: 16), let hi = UInt(bounds[1], radix: 16), lo < hi,
                  perms.count == 4, perms.dropFirst().first == "-", perms.last == "p", path.hasPrefix("/")
            else { continue }
            ranges.append(lo..<hi)
        }
        return ranges
    }

    /// The parts of `ranges` inside some mapping of `mappings` (both lists of disjoint ranges).
    static func intersect(_ ranges: [Range<UInt>], _ mappings: [Range<UInt>]) -> [Range<UInt>] {
        var out: [Range<UInt>] = []
        for range in ranges {
            for mapping in mappings where mapping.overlaps(range) {
                out.append(max(range.lowerBound, mapping.lowerBound)..<min(range.upperBound, mapping.upperBound))
            }
        }
        return out
    }
}
