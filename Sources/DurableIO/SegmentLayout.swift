/// How a segmented log names its files: zero-padded numbers (so names sort as numbers) with
/// an optional suffix, each file starting with an optional fixed header.
/// TSDB WAL: `00000001` … (8 digits, no header); edge queue: `<20 digits>.seg` with "FSQ1" 01 00 00 00.
public struct SegmentLayout: Sendable {
    public var digits: Int
    public var suffix: String
    public var header: [UInt8]
    /// Mode of new segment files.
    public var mode: UInt32

    public init(digits: Int, suffix: String = "", header: [UInt8] = [], mode: UInt32 = 0o600) {
        self.digits = digits
        self.suffix = suffix
        self.header = header
        self.mode = mode
    }

    public func name(_ n: UInt64) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, digits - s.count)) + s + suffix
    }

    public func path(_ dir: String, _ n: UInt64) -> String { dir + "/" + name(n) }

    /// The segment number of a file name, nil for other files in the directory.
    public func number(_ name: String) -> UInt64? {
        guard name.hasSuffix(suffix), name.count == digits + suffix.count else { return nil }
        return UInt64(name.dropLast(suffix.count))
    }

    /// Existing segment numbers, sorted.
    public func segments(in dir: String) throws -> [UInt64] {
        try FS.list(dir).compactMap(number).sorted()
    }
}
