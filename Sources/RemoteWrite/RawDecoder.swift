import Storage

/// A `WriteRequest` decoded without building label `String`s: per series its samples and where
/// its labels are in the request bytes. Most series of a steady scrape already exist in the
/// head, which can find them by those bytes; only the others need `timeSeries(_:in:)`, the
/// `WireDecoder` result for that series.
///
/// Reads the bytes with the same `Reader` calls in the same order as `WireDecoder.decode`, so a
/// malformed request fails with exactly the same error (a test checks this on mutated requests).
public struct RawWriteRequest: Sendable {
    public struct Series: Sendable {
        /// The `TimeSeries` message in the request bytes.
        let start: Int32, end: Int32
        /// Labels in wire order: `labelCount` entries of `labels` from `firstLabel`.
        public let firstLabel: Int32, labelCount: Int32
        /// Every label is one name and one value field and nothing else: the label ranges say
        /// everything about it. Otherwise only `timeSeries(_:in:)` reads it right.
        public let plain: Bool
        /// A slice of the request's one sample array: one allocation per request instead of
        /// one per series (most series of a scrape carry a single sample).
        public internal(set) var samples: ArraySlice<Sample> = []
        /// Where `samples` is in that array, until `decode` has read every series.
        let sampleStart: Int32, sampleEnd: Int32
        public let exemplarCount: Int
        public let histogramCount: Int
    }

    public private(set) var series: [Series] = []
    /// Four numbers per wire label: name offset, name length, value offset, value length.
    public private(set) var labels: [UInt32] = []
    public private(set) var metadata: [MetricMetadata] = []

    public static func decode(_ bytes: [UInt8]) throws(RemoteWriteError) -> RawWriteRequest {
        try bytes.withUnsafeBufferPointer { p in Result { () throws(RemoteWriteError) -> RawWriteRequest in
            var r = Reader(p, 0, p.count)
            var req = RawWriteRequest()
            var samples: [Sample] = []
            req.series.reserveCapacity(p.count / 128)
            req.labels.reserveCapacity(p.count / 8)
            samples.reserveCapacity(p.count / 64)
            while !r.atEnd {
                let (field, wire) = try r.tag(in: "WriteRequest")
                switch (field, wire) {
                case (1, 2):
                    var sub = try r.submessage(in: "WriteRequest.timeseries")
                    req.series.append(try req.timeSeries(&sub, &samples))
                case (3, 2):
                    var sub = try r.submessage(in: "WriteRequest.metadata")
                    req.metadata.append(try WireDecoder.metadata(&sub))
                default:
                    try r.skipUnknown(field, wire, known: [1: 2, 3: 2], in: "WriteRequest")
                }
            }
            // Slices only now: `samples` no longer grows, so they all share its final buffer.
            for i in req.series.indices {
                req.series[i].samples = samples[Int(req.series[i].sampleStart)..<Int(req.series[i].sampleEnd)]
            }
            return req
        } }.get()
    }

    /// `WireDecoder.timeSeries` with label ranges instead of strings.
    private mutating func timeSeries(_ r: inout Reader, _ samples: inout [Sample]) throws(RemoteWriteError) -> Series {
        let start = r.pos, first = labels.count / 4, firstSample = samples.count
        var exemplars = 0, histograms = 0
        var plain = true
        while !r.atEnd {
            let (field, wire) = try r.tag(in: "TimeSeries")
            switch (field, wire) {
            case (1, 2):
                var sub = try r.submessage(in: "TimeSeries.labels")
                // The usual label, read without the field loop: tag 1, a one-byte length, the
                // name, tag 2, a one-byte length, the value, and the message ends there. The loop
                // below reads such bytes to the same ranges without an error, so nothing changes.
                let q = sub.p, at = sub.pos
                if sub.end - at >= 4, q[at] == 0x0A, q[at + 1] < 0x80 {
                    let nl = Int(q[at + 1]), v = at + 2 + nl
                    if v + 2 <= sub.end, q[v] == 0x12, q[v + 1] < 0x80, v + 2 + Int(q[v + 1]) == sub.end {
                        labels.append(UInt32(truncatingIfNeeded: at + 2)); labels.append(UInt32(truncatingIfNeeded: nl))
                        labels.append(UInt32(truncatingIfNeeded: v + 2)); labels.append(UInt32(truncatingIfNeeded: q[v + 1]))
                        continue
                    }
                }
                var name = (0, 0), value = (0, 0), names = 0, values = 0
                while !sub.atEnd {
                    let (f, w) = try sub.tag(in: "Label")
                    switch (f, w) {
                    case (1, 2):
                        let n = try sub.length(in: "Label.name")
                        name = (sub.pos, n); names += 1; sub.pos += n
                    case (2, 2):
                        let n = try sub.length(in: "Label.value")
                        value = (sub.pos, n); values += 1; sub.pos += n
                    default:
                        try sub.skipUnknown(f, w, known: [1: 2, 2: 2], in: "Label")
                        plain = false
                    }
                }
                if names != 1 || values != 1 { plain = false }
                labels.append(UInt32(truncatingIfNeeded: name.0)); labels.append(UInt32(truncatingIfNeeded: name.1))
                labels.append(UInt32(truncatingIfNeeded: value.0)); labels.append(UInt32(truncatingIfNeeded: value.1))
            case (2, 2):
                var sub = try r.submessage(in: "TimeSeries.samples")
                samples.append(try WireDecoder.sample(&sub))
            case (3, 2):
                _ = try r.submessage(in: "TimeSeries.exemplars")
                exemplars += 1
            case (4, 2):
                _ = try r.submessage(in: "TimeSeries.histograms")
                histograms += 1
            default:
                try r.skipUnknown(field, wire, known: [1: 2, 2: 2, 3: 2, 4: 2], in: "TimeSeries")
            }
        }
        return Series(start: Int32(truncatingIfNeeded: start), end: Int32(truncatingIfNeeded: r.pos),
                      firstLabel: Int32(truncatingIfNeeded: first), labelCount: Int32(truncatingIfNeeded: labels.count / 4 - first),
                      plain: plain, sampleStart: Int32(truncatingIfNeeded: firstSample), sampleEnd: Int32(truncatingIfNeeded: samples.count),
                      exemplarCount: exemplars, histogramCount: histograms)
    }

    /// Series `i` exactly as `WireDecoder.decode` gives it (strings, UTF-8 problems and all).
    /// `bytes` must be the buffer this request was decoded from.
    public func timeSeries(_ i: Int, in bytes: [UInt8]) -> TimeSeries {
        let s = series[i]
        return bytes.withUnsafeBufferPointer { p in
            var r = Reader(p, Int(s.start), Int(s.end))
            // Cannot fail: `decode` read these very bytes with the same calls.
            return (try? WireDecoder.timeSeries(&r)) ?? TimeSeries(labels: [], samples: Array(s.samples), problem: "undecodable series")
        }
    }

    /// The whole request as `WireDecoder.decode` gives it (tests compare the two decoders).
    public func writeRequest(in bytes: [UInt8]) -> WriteRequest {
        WriteRequest(timeseries: series.indices.map { timeSeries($0, in: bytes) }, metadata: metadata)
    }
}
