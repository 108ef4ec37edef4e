import Testing
import TestSupport

@testable import TSDB

/// The head's open-addressing hash -> series table against `Dictionary` as the model: random
/// inserts, replacements and removals, with hashes drawn from 8 values (a table that stays
/// small), from 65,536 (thousands of entries, probe runs that wrap around the end of the table,
/// removals from the middle of runs, growth) and from all 64 bits.
@Suite struct SeriesByHashTests {
    @Test(arguments: [UInt64(7), 0xFFFF, .max])
    func behavesAsADictionary(keyMask: UInt64) {
        var rng = SplitMix(seed: keyMask)
        var table = SeriesByHash()
        var model: [Int: MemSeries] = [:]
        var nextRef: HeadRef = 1
        for step in 0..<20_000 {
            let h = Int(truncatingIfNeeded: rng.next() & keyMask)
            switch rng.next() % 4 {
            case 0, 1:
                let s = MemSeries(ref: nextRef)
                nextRef += 1
                table[h] = s
                model[h] = s
            case 2:
                table[h] = nil
                model[h] = nil
            default:
                #expect(table[h] === model[h], "step \(step) hash \(h)")
            }
            #expect(table.count == model.count)
        }
        for (h, s) in model { #expect(table[h] === s, "hash \(h)") }
        // Everything removed again: nothing left behind by the shifts.
        for h in model.keys { table[h] = nil }
        #expect(table.count == 0)
        for h in model.keys { #expect(table[h] == nil) }
    }
}
