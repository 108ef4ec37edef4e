import Storage

/// Decodes a protobuf `WriteRequest` straight from the request bytes: one pass, no
/// intermediate message graph, errors that name the byte offset and field.
/// `ProtobufCDecoder` (in the tests) is the reference it is differentially tested against.
public struct WireDecoder {
    public static func decode(_ bytes: [UInt8]) throws(RemoteWriteError) -> WriteRequest {
        try bytes.withUnsafeBufferPointer { p in Result { () throws(RemoteWriteError) -> WriteRequest in
            var r = Reader(p, 0, p.count)
            var req = WriteRequest()
            while !r.atEnd {
                let (field, wire) = try r.tag(in: "WriteRequest")
                switch (field, wire) {
                case (1, 2):
                    var sub = try r.submessage(in: "WriteRequest.timeseries")
                    req.timeseries.append(try timeSeries(&sub))
                case (3, 2):
                    var sub = try r.submessage(in: "WriteRequest.metadata")
                    req.metadata.append(try metadata(&sub))
                default:
                    try r.skipUnknown(field, wire, known: [1: 2, 3: 2], in: "WriteRequest")
                }
            }
            return req
        } }.get()
    }

    static func timeSeries(_ r: inout Reader) throws(RemoteWriteError) -> TimeSeries {
        var ts = TimeSeries(labels: [], samples: [])
        while !r.atEnd {
            let (field, wire) = try r.tag(in: "TimeSeries")
            switch (field, wire) {
            case (1, 2):
                var sub = try r.submessage(in: "TimeSeries.labels")
                if ts.labels.isEmpty { ts.labels.reserveCapacity(12) }
                var name = "", value = "", valid = true
                while !sub.atEnd {
                    let (f, w) = try sub.tag(in: "Label")
                    switch (f, w) {
                    case (1, 2):
                        guard let s = try sub.string(in: "Label.name") else {
                            ts.problem = "label name is not valid UTF-8"; valid = false; continue
                        }
                        name = s
                    case (2, 2):
                        guard let s = try sub.string(in: "Label.value") else {
                            ts.problem = "value of label \"\(name)\" is not valid UTF-8"; valid = false; continue
                        }
                        value = s
                    default: try sub.skipUnknown(f, w, known: [1: 2, 2: 2], in: "Label")
                    }
                }
                if valid { ts.labels.append(Label(name, value)) }
            case (2, 2):
                var sub = try r.submessage(in: "TimeSeries.samples")
                ts.samples.append(try sample(&sub))
            case (3, 2):
                _ = try r.submessage(in: "TimeSeries.exemplars")
                ts.exemplarCount += 1
            case (4, 2):
                _ = try r.submessage(in: "TimeSeries.histograms")
                ts.histogramCount += 1
            default:
                try r.skipUnknown(field, wire, known: [1: 2, 2: 2, 3: 2, 4: 2], in: "TimeSeries")
            }
        }
        return ts
    }

    /// One `Sample` message (also read by `RawWriteRequest`).
    @inline(__always) static func sample(_ sub: inout Reader) throws(RemoteWriteError) -> Sample {
        var s = Sample(t: 0, v: 0)
        while !sub.atEnd {
            let (f, w) = try sub.tag(in: "Sample")
            switch (f, w) {
            case (1, 1): s.v = Double(bitPattern: try sub.fixed64(in: "Sample.value"))
            case (2, 0): s.t = Int64(bitPattern: try sub.varint(in: "Sample.timestamp"))
            default: try sub.skipUnknown(f, w, known: [1: 1, 2: 0], in: "Sample")
            }
        }
        return s
    }

    static func metadata(_ r: inout Reader) throws(RemoteWriteError) -> MetricMetadata {
        var m = MetricMetadata(type: .unknown, family: "")
        while !r.atEnd {
            let (f, w) = try r.tag(in: "MetricMetadata")
            switch (f, w) {
            case (1, 0): m.type = MetricType(rawValue: Int(truncatingIfNeeded: try r.varint(in: "MetricMetadata.type"))) ?? .unknown
            case (2, 2): m.family = try r.string(in: "MetricMetadata.metric_family_name") ?? ""
            case (4, 2): m.help = try r.string(in: "MetricMetadata.help") ?? ""
            case (5, 2): m.unit = try r.string(in: "MetricMetadata.unit") ?? ""
            default: try r.skipUnknown(f, w, known: [1: 0, 2: 2, 4: 2, 5: 2], in: "MetricMetadata")
            }
        }
        return m
    }
}

/// A bounds-checked cursor over `[pos, end)` of a byte buffer.
struct Reader {
    let p: UnsafeBufferPointer<UInt8>
    var pos: Int
    let end: Int

    init(_ p: UnsafeBufferPointer<UInt8>, _ pos: Int, _ end: Int) {
        self.p = p
        self.pos = pos
        self.end = end
    }

    var atEnd: Bool { pos >= end }

    private func fail(_ what: String, _ ctx: String) -> RemoteWriteError {
        .protobuf("\(what) in \(ctx) at byte \(pos)")
    }

    @inline(__always) mutating func varint(in ctx: String) throws(RemoteWriteError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw fail("truncated varint", ctx) }
            let b = p[pos]
            pos += 1
            if shift == 63 && b > 1 { throw fail("varint overflows 64 bits", ctx) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    @inline(__always) mutating func tag(in ctx: String) throws(RemoteWriteError) -> (UInt64, UInt64) {
        let t = try varint(in: ctx)
        let field = t >> 3
        guard field != 0 else { throw fail("field number 0", ctx) }
        return (field, t & 7)
    }

    // The decoders' per-field calls are inlined: out of line, `length` alone was ~2 % of the
    // collector's ingest profile.
    @inline(__always) mutating func fixed64(in ctx: String) throws(RemoteWriteError) -> UInt64 {
        guard end - pos >= 8 else { throw fail("truncated fixed64", ctx) }
        // One unaligned little-endian load instead of eight byte loads and shifts.
        let v = UInt64(littleEndian: UnsafeRawPointer(p.baseAddress! + pos).loadUnaligned(as: UInt64.self))
        pos += 8
        return v
    }

    @inline(__always) mutating func length(in ctx: String) throws(RemoteWriteError) -> Int {
        let n = try varint(in: ctx)
        guard n <= UInt64(end - pos) else { throw fail("length \(n) runs past the end of the message", ctx) }
        return Int(n)
    }

    @inline(__always) mutating func submessage(in ctx: String) throws(RemoteWriteError) -> Reader {
        let n = try length(in: ctx)
        let sub = Reader(p, pos, pos + n)
        pos += n
        return sub
    }

    /// nil when the bytes are not valid UTF-8 (the framing is still consumed).
    mutating func string(in ctx: String) throws(RemoteWriteError) -> String? {
        let n = try length(in: ctx)
        let s = Reader.validUTF8(UnsafeBufferPointer(rebasing: p[pos..<pos + n]))
        pos += n
        return s
    }

    /// `String(validating:as:)` runs an unspecialised generic validator (a runtime metadata
    /// lookup per label string, ~7 % of ingest CPU). `String(decoding:as:)` on a UTF-8 buffer
    /// is concrete and validates too, but repairs instead of failing: a repaired string never
    /// has the input's bytes, so comparing them tells invalid input apart exactly.
    @inline(__always) static func validUTF8(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        var s = String(decoding: b, as: UTF8.self)
        var ascii = true
        for c in b where c >= 0x80 { ascii = false; break }
        if ascii { return s }
        let same = s.withUTF8 { u in
            guard u.count == b.count else { return false }
            for i in 0..<b.count where u[i] != b[i] { return false }
            return true
        }
        return same ? s : nil
    }

    /// Skips a field this decoder does not read. A *known* field with another wire type is
    /// an encoding error, not an unknown field: accepting it would store a default value
    /// (a sample with value 0) for bytes that meant something else. protobuf-c refuses it too.
    @inline(__always) mutating func skipUnknown(_ field: UInt64, _ wire: UInt64, known: KeyValuePairs<UInt64, UInt64>, in ctx: String) throws(RemoteWriteError) {
        for (f, w) in known where f == field {
            throw fail("field \(field) has wire type \(wire), expected \(w)", ctx)
        }
        try skip(wire, in: ctx)
    }

    mutating func skip(_ wire: UInt64, in ctx: String) throws(RemoteWriteError) {
        switch wire {
        case 0: _ = try varint(in: ctx)
        case 1: guard end - pos >= 8 else { throw fail("truncated fixed64", ctx) }; pos += 8
        case 2: pos += try length(in: ctx)
        case 5: guard end - pos >= 4 else { throw fail("truncated fixed32", ctx) }; pos += 4
        default: throw fail("unsupported wire type \(wire)", ctx)
        }
    }
}
