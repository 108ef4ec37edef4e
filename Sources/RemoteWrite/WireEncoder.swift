import Storage

/// Encodes a `WriteRequest` as protobuf. Hand-written because building protobuf-c's
/// pointer graphs from Swift costs an allocation per message; the differential tests
/// decode its output with protobuf-c to keep it honest.
public struct WireEncoder {
    private var buf: [UInt8] = []

    public init() {}

    public static func encode(_ req: WriteRequest) -> [UInt8] {
        // Series are written into a buffer of their exact size through a pointer: appending
        // label by label to a growing array (a capacity and uniqueness check per byte run) was
        // most of the edge agent's encode time, which is a sixth of its CPU (docs/benchmarks.md,
        // "Edge agent, issue 15: CPU per sample"). Metadata is rare and keeps the appending path.
        var e = WireEncoder()
        if !req.timeseries.isEmpty { e.buf = SeriesWriter.encode(req.timeseries) }
        for m in req.metadata { e.metadata(m) }
        return e.buf
    }

    /// protobuf + snappy: the body of a remote-write POST.
    public static func encodeCompressed(_ req: WriteRequest) -> [UInt8] {
        if req.metadata.isEmpty { return encodeCompressed(series: req.timeseries) }
        return Snappy.compress(encode(req))
    }

    /// `encodeCompressed` of a request with series only. The protobuf goes into a scratch buffer
    /// that is kept for the next call (`EncodeScratch`) instead of a fresh array: a record of a
    /// thousand series is ~110 KiB of protobuf, and glibc handed those pages back after every
    /// scrape, so each scrape faulted them in and cleared them again (3 % of the edge agent's CPU;
    /// docs/benchmarks.md, "Edge agent, issue 15: CPU per sample, third round").
    public static func encodeCompressed(series: [TimeSeries]) -> [UInt8] {
        if series.isEmpty { return Snappy.compress([UInt8]()) }
        return series.withUnsafeBufferPointer { all in
            let (sizes, total) = SeriesWriter.sizes(all)
            return EncodeScratch.with(bytes: total) { base in
                SeriesWriter.write(all, sizes: sizes, total: total, into: base)
                return Snappy.compress(UnsafeRawBufferPointer(start: base, count: total))
            }
        }
    }

    private mutating func metadata(_ m: MetricMetadata) {
        var size = 0
        if m.type != .unknown { size += 1 + varintSize(UInt64(m.type.rawValue)) }
        for (s, _) in [(m.family, 2), (m.help, 4), (m.unit, 5)] where !s.isEmpty {
            size += 1 + varintSize(UInt64(s.utf8.count)) + s.utf8.count
        }
        tag(3, 2); varint(UInt64(size))
        if m.type != .unknown { tag(1, 0); varint(UInt64(m.type.rawValue)) }
        string(2, m.family); string(4, m.help); string(5, m.unit)
    }

    private mutating func string(_ field: UInt64, _ s: String) {
        guard !s.isEmpty else { return }
        tag(field, 2)
        varint(UInt64(s.utf8.count))
        buf.append(contentsOf: s.utf8)
    }

    @inline(__always) private mutating func tag(_ field: UInt64, _ wire: UInt64) { varint(field << 3 | wire) }

    @inline(__always) private mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { buf.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        buf.append(UInt8(v))
    }
}

@inline(__always) func varintSize(_ v: UInt64) -> Int {
    v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7
}

/// Writes remote-write `TimeSeries` messages (WriteRequest field 1: labels as field 1, samples as
/// field 2, proto3 defaults omitted) into a buffer sized exactly beforehand.
struct SeriesWriter {
    private var p: UnsafeMutablePointer<UInt8>

    static func encode(_ series: [TimeSeries]) -> [UInt8] {
        // The series are read in place through a buffer pointer: iterating the array (and zipping
        // it with the sizes) copied each `TimeSeries` out, a retain and a release of its label and
        // sample arrays per series and pass.
        series.withUnsafeBufferPointer { all in
            let (sizes, total) = SeriesWriter.sizes(all)
            return [UInt8](unsafeUninitializedCapacity: total) { buf, count in
                guard let base = buf.baseAddress else { count = 0; return }
                write(all, sizes: sizes, total: total, into: base)
                count = total
            }
        }
    }

    /// The size of `e` as a `TimeSeries` field of a `WriteRequest`: tag, length, labels, sample.
    /// A sample message is at most 20 bytes (a double, a 10-byte varint and two tags), so its
    /// length takes one byte.
    static func messageSize(_ e: EncodedBatch.Entry) -> Int {
        let b = Int(e.size) + 2 + sampleSize(e.sample)
        return 1 + varintSize(UInt64(b)) + b
    }

    /// `entries[range]` of `batch`, whose `messageSize`s add up to `total`, as a snappy-compressed
    /// `WriteRequest`. The caller has checked that the entries lie within the labels.
    static func encodeCompressed(_ batch: EncodedBatch, _ range: Range<Int>, total: Int) -> [UInt8] {
        batch.entries.withUnsafeBufferPointer { entries in
            batch.labels.withUnsafeBufferPointer { labels in
                batch.shared.withPieces { shared, bounds in
                    EncodeScratch.with(bytes: total) { base in
                        var w = SeriesWriter(p: base)
                        for e in entries[range] {
                            w.encoded(e, stored: UnsafeBufferPointer(rebasing: labels[Int(e.offset) ..< Int(e.offset) + Int(e.length)]),
                                      shared: shared, bounds: bounds, end: base + total)
                        }
                        precondition(w.p == base + total, "SeriesWriter: wrote \(w.p - base) bytes, sized \(total)")
                        return Snappy.compress(UnsafeRawBufferPointer(start: base, count: total))
                    }
                }
            }
        }
    }

    /// The producer built the stored labels and their size; if either were wrong this would
    /// write outside the buffer, so a mismatch stops the process rather than go on.
    private mutating func encoded(_ e: EncodedBatch.Entry, stored: UnsafeBufferPointer<UInt8>, shared: UnsafeBufferPointer<UInt8>,
                                  bounds: UnsafeBufferPointer<Int>, end: UnsafeMutablePointer<UInt8>) {
        let n = SeriesWriter.sampleSize(e.sample)
        byte(1 << 3 | 2); varint(UInt64(Int(e.size) + 2 + n))
        let labelsEnd = p + Int(e.size)
        precondition(labelsEnd <= end, "SeriesWriter: entry larger than sized")
        var q = p
        let valid = SharedLabels.forEachPiece(stored, shared: shared, bounds: bounds) { piece in
            precondition(piece.count <= labelsEnd - q, "SeriesWriter: labels larger than their size")
            if let b = piece.baseAddress { q.update(from: b, count: piece.count) }
            q += piece.count
        }
        precondition(valid && q == labelsEnd, "SeriesWriter: stored labels do not match their size")
        p = q
        sample(e.sample, size: n)
    }

    /// Each series' message size and the total with their tags and length prefixes.
    static func sizes(_ all: UnsafeBufferPointer<TimeSeries>) -> (sizes: [Int], total: Int) {
        var total = 0
        let sizes = [Int](unsafeUninitializedCapacity: all.count) { sz, n in
            for k in all.indices {
                let b = bodySize(all[k])
                (sz.baseAddress! + k).initialize(to: b)
                total += 1 + varintSize(UInt64(b)) + b
            }
            n = all.count
        }
        return (sizes, total)
    }

    /// Writes the series, sized by `sizes`, to `base` (room for `total` bytes).
    static func write(_ all: UnsafeBufferPointer<TimeSeries>, sizes: [Int], total: Int, into base: UnsafeMutablePointer<UInt8>) {
        var w = SeriesWriter(p: base)
        for k in all.indices { w.timeSeries(all[k], size: sizes[k]) }
        // The sizes and the writes come from the same values; a mismatch would be a bug that
        // wrote outside the buffer, so it stops the process rather than go on.
        precondition(w.p == base + total, "SeriesWriter: wrote \(w.p - base) bytes, sized \(total)")
    }

    static func bodySize(_ ts: TimeSeries) -> Int {
        var size = 0
        for l in ts.labels { let n = labelSize(l); size += 1 + varintSize(UInt64(n)) + n }
        for s in ts.samples { let n = sampleSize(s); size += 1 + varintSize(UInt64(n)) + n }
        return size
    }

    @inline(__always) static func labelSize(_ l: Label) -> Int {
        let n = l.name.utf8.count, v = l.value.utf8.count
        return (n > 0 ? 1 + varintSize(UInt64(n)) + n : 0) + (v > 0 ? 1 + varintSize(UInt64(v)) + v : 0)
    }

    @inline(__always) static func sampleSize(_ s: Sample) -> Int {
        (s.v.bitPattern != 0 ? 9 : 0) + (s.t != 0 ? 1 + varintSize(UInt64(bitPattern: s.t)) : 0)
    }

    private mutating func timeSeries(_ ts: TimeSeries, size: Int) {
        byte(1 << 3 | 2); varint(UInt64(size))
        for l in ts.labels {
            byte(1 << 3 | 2); varint(UInt64(SeriesWriter.labelSize(l)))
            string(1, l.name); string(2, l.value)
        }
        for s in ts.samples { sample(s, size: SeriesWriter.sampleSize(s)) }
    }

    @inline(__always) private mutating func sample(_ s: Sample, size: Int) {
        byte(2 << 3 | 2); varint(UInt64(size))
        // proto3 omits default values; +0.0 is the default for doubles (bit pattern 0).
        if s.v.bitPattern != 0 {
            byte(1 << 3 | 1)
            UnsafeMutableRawPointer(p).storeBytes(of: s.v.bitPattern.littleEndian, as: UInt64.self)
            p += 8
        }
        if s.t != 0 { byte(2 << 3 | 0); varint(UInt64(bitPattern: s.t)) }
    }

    @inline(__always) private mutating func string(_ field: UInt8, _ s: String) {
        let n = s.utf8.count
        guard n > 0 else { return }
        byte(field << 3 | 2)
        varint(UInt64(n))
        let copied: Void? = s.utf8.withContiguousStorageIfAvailable { src in
            p.update(from: src.baseAddress!, count: n)
        }
        if copied == nil {
            for (k, c) in s.utf8.enumerated() { p[k] = c }
        }
        p += n
    }

    @inline(__always) private mutating func byte(_ b: UInt8) {
        p.pointee = b
        p += 1
    }

    @inline(__always) private mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { byte(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        byte(UInt8(v))
    }
}
