import Foundation

/// Distinct-count estimate over 64-bit hashes (HyperLogLog, Flajolet et al. 2007) in 256
/// one-byte registers: ~6.5% standard error, less (linear counting) below ~600 items.
/// The running sum of 2^-register and the count of empty registers are kept current as
/// registers change, so reading an estimate is O(1) (the registry reads it under its lock).
struct HyperLogLog: Sendable, Equatable {
    static let registerCount = 256

    private var registers = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
    private var inverseSum = Double(HyperLogLog.registerCount)
    private var zeros = Int32(HyperLogLog.registerCount)

    init() {}

    /// `hash` must have every bit usable (well mixed): the low bits pick the register, the
    /// trailing zeros of the rest give its rank.
    mutating func insert(hash: UInt64) {
        let m = UInt64(Self.registerCount)
        let reg = Int(hash % m)
        let rank = UInt8(min((hash / m).trailingZeroBitCount + 1, 57))
        let old = registers[reg]
        guard old < rank else { return }
        registers[reg] = rank
        inverseSum += Self.inversePower(rank) - Self.inversePower(old)
        if old == 0 { zeros -= 1 }
    }

    var estimate: Int {
        let md = Double(Self.registerCount)
        let alpha = 0.7213 / (1 + 1.079 / md)
        var est = alpha * md * md / inverseSum
        if est <= 2.5 * md && zeros > 0 { est = md * log(md / Double(zeros)) }
        return Int(est.rounded())
    }

    /// Empties the registers in place (no new allocation).
    mutating func reset() {
        for k in registers.indices { registers[k] = 0 }
        inverseSum = Double(Self.registerCount)
        zeros = Int32(Self.registerCount)
    }

    /// MurmurHash3's 64-bit finaliser: spreads any hash (or counter) over all 64 bits.
    static func mix(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    @inline(__always) private static func inversePower(_ r: UInt8) -> Double { 1 / Double(UInt64(1) << UInt64(r)) }
}

/// Distinct series per fixed window (the current and the previous one), so a count does
/// not drop to zero when a window starts.
struct WindowedDistinctCount: Sendable {
    static let windowMs: Int64 = 300_000

    private var sketch = HyperLogLog()
    private var window: Int64 = -1
    private var previous: Int32 = 0

    /// Moves to the window holding `now`, keeping the count of the window just ended.
    mutating func advance(now: Int64) {
        let w = now / Self.windowMs
        guard window != w else { return }
        previous = window == w - 1 ? Int32(sketch.estimate) : 0
        sketch.reset()
        window = w
    }

    mutating func insert(hash: UInt64) { sketch.insert(hash: hash) }

    /// The larger of this window's and the previous window's count; the previous window's
    /// alone until the first insert of this one; 0 after a silent window.
    func count(now: Int64) -> Int {
        let w = now / Self.windowMs
        if window == w { return max(Int(previous), sketch.estimate) }
        if window == w - 1 { return sketch.estimate }
        return 0
    }
}
