import Storage
import Testing
import TestSupport
@testable import TSDB

/// `MemSeries` after its memory layout change (late samples in an optional `LateSamples`, the
/// open chunk's end computed from its first time, the appender growing by a quarter): checked
/// against a plain dictionary model of what a series must hold, with first-write-wins.
@Suite struct SeriesLayoutTests {
    static let blockRange: Int64 = 7_200_000

    /// All samples a series holds, decoded from every chunk it hands out, sorted by time.
    func held(_ s: MemSeries) -> [Sample] {
        s.chunks(mint: .min, maxt: .max).flatMap(\.samples).sorted { $0.t < $1.t }
    }

    func modelSamples(_ m: [Int64: Double]) -> [Sample] {
        m.keys.sorted().map { Sample(t: $0, v: m[$0]!) }
    }

    @Test func randomAppendsMatchTheModel() {
        var rng = SplitMix(seed: 15)
        for round in 0..<60 {
            let store = HeadChunkStore(dir: nil)
            let s = MemSeries(ref: 1)
            var model: [Int64: Double] = [:]
            var lastT = Int64.min
            var t: Int64 = Int64.random(in: -20_000_000...20_000_000, using: &rng)
            for _ in 0..<Int.random(in: 1...700, using: &rng) {
                // Mostly in order with scrape-like steps that cross block-range windows, some late
                // samples (new times and repeats of stored times with the same or another value).
                var at = t
                if Int.random(in: 0..<4, using: &rng) == 0, !model.isEmpty {
                    at = Int.random(in: 0..<2, using: &rng) == 0 ? model.keys.randomElement(using: &rng)! : t - Int64.random(in: 1...5_000_000, using: &rng)
                } else {
                    t += [15_000, 1, 3_600_000, 14_999][Int.random(in: 0..<4, using: &rng)]
                    at = t
                }
                let v = round % 2 == 0 ? Double(Int.random(in: 0...9, using: &rng)) : Double(bitPattern: rng.next())
                let outcome = s.append(at, v, blockRange: Self.blockRange, store: store)
                if let old = model[at] {
                    #expect(outcome == (old.bitPattern == v.bitPattern ? .duplicate : .conflict))
                } else {
                    #expect(outcome == (at > lastT ? .inOrder : .outOfOrder))
                    model[at] = v
                    if at > lastT { lastT = at }
                }
            }
            #expect(bitsEqual(held(s), modelSamples(model)), "round \(round)")
            #expect(s.minTime == model.keys.min() && s.maxTime == model.keys.max())
            // No in-order chunk spans a block-range window: the open chunk's end is computed
            // from its first time and must cut exactly where the stored end did.
            for c in s.sealedChunks {
                #expect(alignDown(c.minT, Self.blockRange) == alignDown(c.maxT, Self.blockRange))
                #expect(c.samples.count <= MemSeries.samplesPerChunk)
            }

            // A cut hands out exactly the samples before it and keeps the rest.
            let keys = model.keys.sorted()
            let cutoff = keys[Int.random(in: 0..<keys.count, using: &rng)]
            let out = s.truncate(before: cutoff, store: store).flatMap(\.samples).sorted { $0.t < $1.t }
            #expect(bitsEqual(out, modelSamples(model.filter { $0.key < cutoff })))
            #expect(bitsEqual(held(s), modelSamples(model.filter { $0.key >= cutoff })))
            #expect(!s.isEmpty)
            _ = s.truncate(before: .max, store: store)
            #expect(s.isEmpty && s.chunkCount == 0)
        }
    }

    @Test func lateSamplesFlushMergeAndLookup() {
        let l = LateSamples()
        #expect(l.isEmpty && l.chunkCount == 0 && l.lookup(5) == nil)
        // Descending times interleaved from two senders: enough to flush and merge several times.
        let times: [Int64] = (0..<1_000).map { (i: Int) -> Int64 in
            let base: Int64 = i % 2 == 0 ? 100_000 : 200_000
            return base - Int64(i) * 7
        }
        for (i, t) in times.enumerated() { l.insert(t, Double(i)) }
        #expect(!l.isEmpty && l.chunkCount > 1)
        for (i, t) in times.enumerated() { #expect(l.lookup(t) == Double(i)) }
        #expect(l.lookup(1) == nil)
        var out: [ChunkData] = []
        l.chunks(mint: .min, maxt: .max, into: &out)
        let all = out.flatMap(\.samples).sorted { $0.t < $1.t }
        #expect(all.map(\.t) == times.sorted())
        var lo: [ChunkData] = []
        l.chunks(mint: 150_000, maxt: 160_000, into: &lo)
        #expect(lo.allSatisfy { $0.maxT >= 150_000 && $0.minT <= 160_000 } && !lo.isEmpty)
    }

    /// The appender's smaller growth steps must not change a byte of the encoding.
    @Test func appenderBytesDoNotDependOnTheStartingCapacity() {
        var rng = SplitMix(seed: 3)
        for _ in 0..<200 {
            var a = XORChunk.Appender(), b = XORChunk.Appender(expectedBytes: Int.random(in: 0...300, using: &rng))
            var t = Int64.random(in: -1 << 40...1 << 40, using: &rng)
            for _ in 0..<Int.random(in: 1...300, using: &rng) {
                t &+= Int64.random(in: 1...Int64(1) << Int64.random(in: 1...50, using: &rng), using: &rng)
                let v = Double(bitPattern: rng.next())
                #expect(a.append(t, v) == b.append(t, v))
            }
            #expect(a.bytes == b.bytes && a.count == b.count)
        }
    }
}
