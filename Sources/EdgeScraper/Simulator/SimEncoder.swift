/// Writes a remote-write `WriteRequest` straight from label strings and values, with no
/// intermediate `TimeSeries` values: the simulator produces hundreds of thousands of samples
/// per second and must not allocate per label.
struct SimEncoder {
    var body: [UInt8] = []
    private var series: [UInt8] = []
    var samples = 0
    var seriesCount = 0

    init(capacity: Int = 64 << 10) {
        body.reserveCapacity(capacity)
        series.reserveCapacity(1024)
    }

    mutating func reset() {
        body.removeAll(keepingCapacity: true)
        samples = 0
        seriesCount = 0
    }

    /// Starts a series; add its labels in name order with `label`, then `sample`s, then `end`.
    mutating func begin() { series.removeAll(keepingCapacity: true) }

    mutating func label(_ name: StaticString, _ value: String) {
        let n = name.utf8CodeUnitCount
        var v = value
        v.withUTF8 { vb in
            let inner = 1 + varintLen(n) + n + (vb.isEmpty ? 0 : 1 + varintLen(vb.count) + vb.count)
            series.append(0x0A) // TimeSeries.labels, length-delimited
            appendVarint(&series, UInt64(inner))
            series.append(0x0A) // Label.name
            appendVarint(&series, UInt64(n))
            name.withUTF8Buffer { series.append(contentsOf: $0) }
            if !vb.isEmpty {
                series.append(0x12) // Label.value
                appendVarint(&series, UInt64(vb.count))
                series.append(contentsOf: vb)
            }
        }
    }

    mutating func sample(_ t: Int64, _ v: Double) {
        let bits = v.bitPattern
        let inner = (bits != 0 ? 9 : 0) + (t != 0 ? 1 + varintLen64(UInt64(bitPattern: t)) : 0)
        series.append(0x12) // TimeSeries.samples
        appendVarint(&series, UInt64(inner))
        if bits != 0 {
            series.append(0x09) // Sample.value, fixed64
            withUnsafeBytes(of: bits.littleEndian) { series.append(contentsOf: $0) }
        }
        if t != 0 {
            series.append(0x10) // Sample.timestamp, varint
            appendVarint(&series, UInt64(bitPattern: t))
        }
        samples += 1
    }

    mutating func appendRaw(_ bytes: ArraySlice<UInt8>, samples n: Int) {
        body.append(contentsOf: bytes)
        samples += n
        seriesCount += 1
    }

    mutating func end() {
        body.append(0x0A) // WriteRequest.timeseries
        appendVarint(&body, UInt64(series.count))
        body.append(contentsOf: series)
        seriesCount += 1
    }
}

@inline(__always) private func varintLen(_ v: Int) -> Int { varintLen64(UInt64(v)) }

@inline(__always) private func varintLen64(_ v: UInt64) -> Int {
    v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7
}

@inline(__always) private func appendVarint(_ buf: inout [UInt8], _ v: UInt64) {
    var v = v
    while v >= 0x80 {
        buf.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    buf.append(UInt8(v))
}

/// SplitMix64: tiny, fast, and the same sequence everywhere for a given seed.
struct SimRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func int(_ upper: Int) -> Int { Int(next() % UInt64(max(upper, 1))) }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var r = SimRNG(seed: a ^ (b &* 0x9E37_79B9_7F4A_7C15))
        return r.next()
    }
}
