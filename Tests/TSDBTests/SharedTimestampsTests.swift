import DurableIO
import Storage
import Testing
import TestSupport
@testable import TSDB

/// Shared timestamp columns (encodings 4 and 5): bit-exact round trips including zero-width
/// fields, damage as `ChunkDecodeError`, no reads past a chunk, and blocks keeping one column
/// per scrape group instead of one per series.
@Suite struct SharedTimestampsTests {
    static func column(_ n: Int, _ rng: inout SplitMix) -> [Int64] {
        var t = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
        let kind = rng.int(3)
        return (0..<n).map { _ in
            t &+= kind == 0 ? 15_000 : kind == 1 ? 15_000 + Int64(rng.int(5)) : Int64(1 + rng.int(1_000_000))
            return t
        }
    }

    /// Values of one of the shapes a scrape has: constant, steady counter, varying.
    static func values(_ n: Int, _ rng: inout SplitMix) -> [Double] {
        var m = Int64.random(in: -1_000_000...1_000_000, using: &rng)
        let kind = rng.int(3), step = Int64(rng.int(1000))
        let e = rng.int(4)
        return (0..<n).map { _ in
            switch kind {
            case 0: break
            case 1: m += step
            default: m += Int64(rng.int(1 << rng.int(40)))
            }
            return Double(m) / DecimalChunk.powers[e]
        }
    }

    static func encode(_ s: [Sample], ref: UInt64) throws -> (column: [UInt8], chunk: [UInt8]) {
        let column = try #require(TimestampColumn.encode(s))
        let (h, ms) = try #require(DecimalChunk.mantissas(s))
        return (column, SharedTimestampChunk.encode(header: h, ms: ms, column: ref))
    }

    static func decode(_ column: [UInt8], _ chunk: [UInt8], mint: Int64 = .min, maxt: Int64 = .max) throws -> [Sample] {
        var out: [Sample] = []
        try column.withUnsafeBytes { col in
            try chunk.withUnsafeBytes { try SharedTimestampChunk.decode($0, column: col, mint: mint, maxt: maxt, into: &out) }
        }
        return out
    }

    @Test func roundTripsBitForBit() throws {
        var rng = SplitMix(seed: 99)
        var zeroWidth = 0
        for round in 0..<500 {
            let n = 2 + rng.int(479)
            let s = zip(Self.column(n, &rng), Self.values(n, &rng)).map { Sample(t: $0, v: $1) }
            let ref = UInt64(rng.int(1 << 30))
            let (column, chunk) = try Self.encode(s, ref: ref)
            #expect(try chunk.withUnsafeBytes { try SharedTimestampChunk.columnRef($0) } == ref)
            #expect(bitsEqual(try Self.decode(column, chunk), s))
            if chunk.count < 25 { zeroWidth += 1 }
            let lo = rng.int(n), hi = min(n - 1, lo + rng.int(50))
            #expect(bitsEqual(try Self.decode(column, chunk, mint: s[lo].t, maxt: s[hi].t), Array(s[lo...hi])))
            if round % 25 == 0 {
                for cut in 0..<chunk.count {
                    #expect(throws: ChunkDecodeError.self) { _ = try Self.decode(column, Array(chunk[..<cut])) }
                }
                for cut in 0..<column.count {
                    #expect(throws: ChunkDecodeError.self) { _ = try Self.decode(Array(column[..<cut]), chunk) }
                }
            }
        }
        // Constant gauges and steady counters store no value bits at all.
        #expect(zeroWidth > 50)
    }

    @Test func aColumnOfAnotherLengthIsAnError() throws {
        var rng = SplitMix(seed: 3)
        let s = zip(Self.column(100, &rng), Self.values(100, &rng)).map { Sample(t: $0, v: $1) }
        let (_, chunk) = try Self.encode(s, ref: 7)
        let (other, _) = try Self.encode(Array(s.prefix(99)), ref: 7)
        #expect(throws: ChunkDecodeError.self) { _ = try Self.decode(other, chunk) }
    }

    @Test func damageIsAnErrorOrSomeSamplesAndNeverReadsPast() throws {
        var rng = SplitMix(seed: 17)
        for _ in 0..<400 {
            let n = 2 + rng.int(200)
            let s = zip(Self.column(n, &rng), Self.values(n, &rng)).map { Sample(t: $0, v: $1) }
            var (column, chunk) = try Self.encode(s, ref: 1)
            if rng.int(2) == 0 {
                column[rng.int(column.count)] = UInt8(truncatingIfNeeded: rng.next())
            } else {
                chunk[rng.int(chunk.count)] = UInt8(truncatingIfNeeded: rng.next())
            }
            let gc = ChunkPointerDecodeTests.GuardedBytes(column), gk = ChunkPointerDecodeTests.GuardedBytes(chunk)
            var out: [Sample] = []
            do {
                _ = try SharedTimestampChunk.columnRef(gk.bytes)
                try SharedTimestampChunk.decode(gk.bytes, column: gc.bytes, mint: .min, maxt: .max, into: &out)
            } catch is ChunkDecodeError {}
            // Whatever damage does, what comes out is in time order.
            #expect(zip(out, out.dropFirst()).allSatisfy { $0.t < $1.t })
        }
    }

    /// Three clusters of 40 series scraped together for 960 scrapes: each cluster's two
    /// columns (two 480-sample chunks) are written once, every other chunk refers to them, and
    /// every answer is the same after the block is reopened and after one column is damaged
    /// the reads that need it fail with a named corruption error.
    @Test func blocksShareOneColumnPerScrapeGroup() async throws {
        var rng = SplitMix(seed: 21)
        let dir = TempDir(); defer { dir.cleanup() }
        let ref = MemoryStorage()
        let db = try openDB(dir)
        var counters = [Double](repeating: 0, count: 120)
        for step in 0..<960 {
            var batch: [SeriesSamples] = []
            for cluster in 0..<3 {
                let t = Int64(step) * 15_000 + Int64(cluster * 1000) + Int64(rng.int(5))
                for i in 0..<40 {
                    let k = cluster * 40 + i
                    counters[k] += i % 3 == 0 ? 0 : Double(i % 3 == 1 ? 10 : rng.int(5000))
                    let l = lbls(["__name__": "m\(i)", "cluster": "c\(cluster)"])
                    batch.append(SeriesSamples(labels: l, samples: [Sample(t: t, v: counters[k])]))
                    ref.append(l, t, counters[k])
                }
            }
            _ = try await db.append(batch)
        }
        try db.close(persistingHead: true)

        let blocks = try FS.list(dir.path).filter { $0 != "wal" && $0 != "chunks_head" && FS.isDirectory(dir.path + "/" + $0) }
        var encodings: [UInt8: Int] = [:], columnAt: [(block: String, offset: Int)] = []
        for b in blocks.sorted() {
            let bytes = try FS.readFile(dir.path + "/" + b + "/chunks")
            var r = 5
            while r < bytes.count {
                var len = 0, shift = 0
                while true { let x = Int(bytes[r]); r += 1; len |= (x & 0x7f) << shift; if x < 0x80 { break }; shift += 7 }
                encodings[bytes[r], default: 0] += 1
                if bytes[r] == BlockWriter.encodingTimestamps { columnAt.append((b, r)) }
                r += 1 + len + 4
            }
        }
        // Per column: the first chunk stays self-contained, the other 39 refer to it.
        let columns = encodings[BlockWriter.encodingTimestamps] ?? 0
        #expect(columns >= 6)
        #expect(encodings[BlockWriter.encodingSharedTimestamps] == 39 * columns, "\(encodings)")

        let reopened = try openDB(dir)
        #expect(try expectSameAnswers(reopened, ref, mint: .min, maxt: .max, matchers: [[]]))
        #expect(try expectSameAnswers(reopened, ref, mint: 3_000_000, maxt: 9_000_000, matchers: [[]]))
        try reopened.close()

        // Damage the first column: the chunks that share it fail with a named error.
        let (b, first) = try #require(columnAt.first)
        let block = dir.path + "/" + b
        var bytes = try FS.readFile(block + "/chunks")
        bytes[first + 4] ^= 0x40
        try FS.writeFileAtomically(block + "/chunks", bytes)
        let damaged = try openDB(dir)
        #expect {
            _ = try damaged.querier(mint: .min, maxt: .max).select([])
        } throws: { e in
            "\(e)".contains("/chunks") && "\(e)".contains("checksum")
        }
        try damaged.close()
    }

    /// A decoded column is remembered per block: two blocks laid out alike (their columns at
    /// the same offsets) but an hour apart give their own timestamps through one cache, and a
    /// series read through the cache equals the same series read without one.
    @Test func theColumnCacheKeepsBlocksApart() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        func write(hour: Int64) throws -> (Block, [Labels: [Sample]]) {
            var want: [Labels: [Sample]] = [:]
            let labels = (0..<8).map { lbls(["__name__": "m\($0)", "cluster": "c"]) }.sorted()
            for (i, l) in labels.enumerated() {
                // Same jitter pattern in both blocks, so their records have the same sizes.
                want[l] = (0..<200).map { k in
                    Sample(t: hour * 3_600_000 + Int64(k) * 15_000 + Int64(k % 3), v: Double(i * 1000 + k))
                }
            }
            let w = try BlockWriter(parent: dir.path, meta: BlockMeta(
                ulid: ULID.make(), minTime: hour * 3_600_000, maxTime: (hour + 1) * 3_600_000,
                compaction: .init(level: 1, sources: []), seq: UInt64(hour)))
            for l in labels { try w.add(l, want[l]!) }
            return (try Block(dir: try w.finish()), want)
        }
        let (a, wantA) = try write(hour: 1), (b, wantB) = try write(hour: 2)
        // Alike: the same bytes but for each chunk's first timestamp, so the same offsets.
        #expect(try FS.readFile(a.dir + "/chunks").count == FS.readFile(b.dir + "/chunks").count)
        var columns = TimestampColumnCache()
        for (block, want) in [(a, wantA), (b, wantB), (a, wantA)] {
            for ref in try block.allPostings() {
                let e = try block.series(ref)
                var got: [Sample] = []
                try block.samples(e.chunks, mint: .min, maxt: .max, into: &got, columns: &columns)
                #expect(bitsEqual(got, want[e.labels]!))
                #expect(bitsEqual(try block.samples(e, mint: .min, maxt: .max), got))
                let from = want[e.labels]![37].t, to = want[e.labels]![150].t
                var part: [Sample] = []
                try block.samples(e.chunks, mint: from, maxt: to, into: &part, columns: &columns)
                #expect(bitsEqual(part, Array(want[e.labels]![37...150])))
            }
        }
        #expect(columns.count >= 2)
    }
}

extension SharedTimestampChunk {
    /// A chunk's samples over its column record, decoded here (readers keep decoded columns in a
    /// `TimestampColumnCache` instead).
    static func decode(_ bytes: UnsafeRawBufferPointer, column: UnsafeRawBufferPointer, mint: Int64, maxt: Int64,
                       into out: inout [Sample]) throws {
        var ts: [Int64] = []
        try TimestampColumn.decode(column, into: &ts)
        try decode(bytes, timestamps: ts, mint: mint, maxt: maxt, into: &out)
    }
}
