#if os(Linux) && canImport(Glibc)
import Glibc

extension StartupPages {
    /// The address ranges of one loaded object that nothing writes once it is loaded: its
    /// read-only `PT_LOAD` segments (text, constants, the tables of the loader and the Swift
    /// runtime). Not `PT_GNU_RELRO`: the loader writes some of it again after start-up (dlopen of
    /// a library that needs an executable stack makes ld.so's RELRO page writable, changes
    /// `__stack_prot` and protects it again, holding only `dl_load_lock`, not the lock of
    /// `dl_iterate_phdr`), so a page checked as the file's could become a copy just before its
    /// drop; and RELRO's pages are mostly relocated copies anyway. None for an object with text
    /// relocations: the loader makes its text writable while it relocates it, so its read-only
    /// segments are not read-only for all of its life. Rounded to whole pages the way the loader
    /// maps them.
    static func segmentsNotWrittenAfterLoad(base: UInt, headers: UnsafeBufferPointer<Elf64_Phdr>, pageSize: UInt) -> [Range<UInt>] {
        let ptLoad: UInt32 = 1, ptDynamic: UInt32 = 2, pfW: UInt32 = 2
        var ranges: [Range<UInt>] = []
        for header in headers {
            let start = base &+ UInt(header.p_vaddr), end = start &+ UInt(header.p_memsz)
            guard end > start else { continue }
            switch header.p_type {
            case ptDynamic:
                if hasTextRelocations(dynamic: start, count: Int(header.p_memsz) / 16) { return [] }
            case ptLoad where header.p_flags & pfW == 0:
                ranges.append(roundDown(start, pageSize)..<roundUp(end, pageSize))
            default:
                continue
            }
        }
        return ranges
    }

    /// DT_TEXTREL, or DF_TEXTREL in DT_FLAGS, in the dynamic section at `dynamic` (pairs of
    /// 64-bit tag and value, ended by DT_NULL).
    private static func hasTextRelocations(dynamic: UInt, count: Int) -> Bool {
        guard let entries = UnsafePointer<UInt64>(bitPattern: dynamic) else { return false }
        let dtNull: UInt64 = 0, dtTextrel: UInt64 = 22, dtFlags: UInt64 = 30, dfTextrel: UInt64 = 4
        for i in 0..<count {
            let tag = entries[2 * i], value = entries[2 * i + 1]
            if tag == dtNull { break }
            if tag == dtTextrel || (tag == dtFlags && value & dfTextrel != 0) { return true }
        }
        return false
    }

    static func roundDown(_ x: UInt, _ page: UInt) -> UInt { x & ~(page - 1) }
    static func roundUp(_ x: UInt, _ page: UInt) -> UInt { (x &+ page - 1) & ~(page - 1) }
}
#endif
