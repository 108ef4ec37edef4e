import Storage

/// Encodes a `WriteRequest` as protobuf. Hand-written because building protobuf-c's
/// pointer graphs from Swift costs an allocation per message; the differential tests
/// decode its output with protobuf-c to keep it honest.
public struct WireEncoder {
    private var buf: [UInt8] = []

    public init() {}

    public static func encode(_ req: WriteRequest) -> [UInt8] {
        var e = WireEncoder()
        e.buf.reserveCapacity(req.sampleCount * 12 + req.timeseries.count * 64)
        for ts in req.timeseries { e.timeSeries(ts) }
        for m in req.metadata { e.metadata(m) }
        return e.buf
    }

    /// protobuf + snappy: the body of a remote-write POST.
    public static func encodeCompressed(_ req: WriteRequest) -> [UInt8] {
        Snappy.compress(encode(req))
    }

    private mutating func timeSeries(_ ts: TimeSeries) {
        var size = 0
        for l in ts.labels { let n = labelSize(l); size += 1 + varintSize(UInt64(n)) + n }
        for s in ts.samples { let n = sampleSize(s); size += 1 + varintSize(UInt64(n)) + n }
        tag(1, 2); varint(UInt64(size))
        for l in ts.labels { tag(1, 2); varint(UInt64(labelSize(l))); string(1, l.name); string(2, l.value) }
        for s in ts.samples { tag(2, 2); varint(UInt64(sampleSize(s))); sample(s) }
    }

    private func labelSize(_ l: Label) -> Int {
        let n = l.name.utf8.count, v = l.value.utf8.count
        return (n > 0 ? 1 + varintSize(UInt64(n)) + n : 0) + (v > 0 ? 1 + varintSize(UInt64(v)) + v : 0)
    }

    private func sampleSize(_ s: Sample) -> Int {
        (s.v.bitPattern != 0 ? 9 : 0) + (s.t != 0 ? 1 + varintSize(UInt64(bitPattern: s.t)) : 0)
    }

    private mutating func sample(_ s: Sample) {
        // proto3 omits default values; +0.0 is the default for doubles (bit pattern 0).
        if s.v.bitPattern != 0 {
            tag(1, 1)
            var b = s.v.bitPattern.littleEndian
            withUnsafeBytes(of: &b) { buf.append(contentsOf: $0) }
        }
        if s.t != 0 { tag(2, 0); varint(UInt64(bitPattern: s.t)) }
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
