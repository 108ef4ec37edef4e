import Storage

enum SampleMerge {
    /// Merges two time-sorted, duplicate-free lists; on equal timestamps `a` wins
    /// because callers pass the earlier-written source first.
    static func merge(_ a: [Sample], _ b: [Sample]) -> [Sample] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        if a.last!.t < b.first!.t { return a + b }
        if b.last!.t < a.first!.t { return b + a }
        var out: [Sample] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i].t < b[j].t { out.append(a[i]); i += 1 } else if a[i].t > b[j].t { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1; j += 1 }
        }
        if i < a.count { out.append(contentsOf: a[i...]) }
        if j < b.count { out.append(contentsOf: b[j...]) }
        return out
    }

    /// Decodes head or frozen chunks into sorted samples in [mint, maxt]. Head chunks never hold
    /// two samples for one timestamp, but a stable sort plus keep-first makes that irrelevant.
    /// Chunks moved to disk are read from `files` (a chunk whose file is not there reads as
    /// empty, which cannot happen for a consistent snapshot).
    static func decode(_ chunks: [ChunkData], mint: Int64, maxt: Int64, files: HeadChunkStore.Files = .init()) -> [Sample] {
        var out: [Sample] = []
        var sorted = true
        chunks.withUnsafeBufferPointer { chunks in
            func withBytes(_ c: ChunkData, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
                if let r = c.disk {
                    if let b = files.bytes(r) { try body(b) }
                } else {
                    try c.data.withUnsafeBytes(body)
                }
            }
            // An upper bound from the chunk headers (u16 sample count), so a long range of small
            // head chunks decodes into one allocation instead of a doubling series of copies.
            var bound = 0
            for c in chunks {
                withBytes(c) { b in if b.count >= 2 { bound += Int(b[0]) << 8 | Int(b[1]) } }
            }
            out.reserveCapacity(bound)
            for c in chunks {
                let before = out.count
                do {
                    try withBytes(c) { b in
                        if c.decimal {
                            try DecimalChunk.decode(b, mint: mint, maxt: maxt, into: &out)
                        } else {
                            try XORChunk.decode(b, mint: mint, maxt: maxt, into: &out)
                        }
                    }
                } catch {
                    // As before: a chunk that does not decode reads as empty.
                    out.removeSubrange(before...)
                    continue
                }
                if before > 0, before < out.count, out[before - 1].t >= out[before].t { sorted = false }
            }
        }
        if sorted { return out }
        let idx = out.indices.sorted { out[$0].t != out[$1].t ? out[$0].t < out[$1].t : $0 < $1 }
        var res: [Sample] = []
        res.reserveCapacity(out.count)
        for i in idx where res.last?.t != out[i].t { res.append(out[i]) }
        return res
    }
}
