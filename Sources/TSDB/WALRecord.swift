import DurableIO
import Storage

/// The kinds of WAL record (Prometheus' record.Type); the byte is the first of each record and
/// is the format flag: segments written by earlier versions hold types 1 and 2 and replay as
/// before, today's writer writes 3 and 4, and a segment may hold both.
enum WALRecordType: UInt8 {
    /// New series: repeated { ref uvarint, n uvarint, n × (name string, value string) }.
    case series = 1
    /// Samples: base ref uvarint, base t varint, repeated { ref−base varint, t−base varint, v u64 LE }.
    case samples = 2
    /// New series, compressed: codec u8 (`WALCodec`) | the series payload of type 1.
    case seriesV2 = 3
    /// Samples, columnar and compressed: codec u8 | `WALSamples` body.
    case samplesV2 = 4
}

/// Write-ahead log records. On disk each record is
/// `type u8 | length u32 BE | crc32c u32 BE (over type and payload) | payload`.
enum WALRecord {
    case series([(ref: UInt64, labels: Labels)])
    case samples([(ref: UInt64, t: Int64, v: Double)])

    static let headerSize = 9
    static let maxPayload = 1 << 30

    static func encodeSeries(_ series: [(ref: UInt64, labels: Labels)], into w: inout ByteWriter) {
        for s in series {
            w.putUVarint(s.ref)
            w.putUVarint(UInt64(s.labels.pairs.count))
            for l in s.labels.pairs { w.putString(l.name); w.putString(l.value) }
        }
    }

    /// Frames the series records of today's format (`seriesV2`).
    static func frameSeries(_ series: ByteWriter, into out: inout [UInt8]) {
        frame(type: .seriesV2, payload: WALCodec.pack(series.bytes), into: &out)
    }

    /// Decodes a payload; `offset` is the record's offset in `file`, for corruption errors.
    static func decode(type: WALRecordType, _ r: inout ByteReader, offset: Int) throws -> WALRecord {
        switch type {
        case .seriesV2, .samplesV2:
            let body = try WALCodec.unpack(try r.bytes(r.remaining), file: r.file, offset: offset)
            if type == .samplesV2 { return .samples(try WALSamples.decode(body, file: r.file, offset: offset)) }
            do {
                return try body.withUnsafeBytes { raw in
                    var br = ByteReader(raw, file: r.file)
                    return try decode(type: .series, &br, offset: offset)
                }
            } catch let TSDBError.corruption(file, at, why) {
                throw TSDBError.corruption(file: file, offset: offset, reason: "series record, decoded byte \(at): \(why)")
            }
        case .series:
            var out: [(ref: UInt64, labels: Labels)] = []
            while !r.isAtEnd {
                let ref = try r.uvarint()
                let n = try r.count(limit: r.remaining / 2)
                var pairs: [Label] = []
                pairs.reserveCapacity(n)
                for _ in 0..<n {
                    let name = try r.string()
                    let value = try r.string()
                    pairs.append(Label(name, value))
                }
                out.append((ref, Labels(pairs)))
            }
            return .series(out)
        case .samples:
            var out: [(ref: UInt64, t: Int64, v: Double)] = []
            if r.isAtEnd { return .samples(out) }
            let baseRef = try r.uvarint()
            let baseT = try r.varint()
            out.reserveCapacity(r.remaining / 10)
            while !r.isAtEnd {
                let ref = baseRef &+ UInt64(bitPattern: try r.varint())
                let t = baseT &+ (try r.varint())
                let v = Double(bitPattern: try r.le64())
                out.append((ref, t, v))
            }
            return .samples(out)
        }
    }

    /// Samples payload of the old format (type 2), kept for tests that write old segments:
    /// base ref uvarint, base t varint, then per sample ref and t as zig-zag
    /// deltas from the bases and the value's 64 bits little-endian. A batch shares one scrape
    /// time and nearby refs, so the deltas are one or two bytes.
    struct SamplesWriter {
        var w = ByteWriter()
        private var baseRef: UInt64 = 0
        private var baseT: Int64 = 0
        private var started = false

        init(capacity: Int = 0) { w = ByteWriter(capacity: capacity) }

        var isEmpty: Bool { !started }

        mutating func add(_ ref: UInt64, _ t: Int64, _ v: Double) {
            if !started {
                started = true
                baseRef = ref
                baseT = t
                w.putUVarint(ref)
                w.putVarint(t)
            }
            w.putVarint(Int64(bitPattern: ref &- baseRef))
            w.putVarint(t &- baseT)
            w.putLE64(v.bitPattern)
        }
    }

    /// Frames a payload with the record header.
    static func frame(type: WALRecordType, payload: [UInt8], into out: inout [UInt8]) {
        var crc = withUnsafeBytes(of: type.rawValue) { CRC32C.update(0, $0) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        var h = ByteWriter(capacity: 9)
        h.putByte(type.rawValue)
        h.putBE32(UInt32(payload.count))
        h.putBE32(crc)
        out.append(contentsOf: h.bytes)
        out.append(contentsOf: payload)
    }

    /// Parses records from a segment. Stops at the first damaged record and returns its offset.
    static func scan(_ bytes: [UInt8], file: String, _ body: (WALRecord) throws -> Void) rethrows -> (damagedAt: Int?, reason: String?) {
        var off = 0
        while off < bytes.count {
            if bytes.count - off < headerSize { return (off, "torn record header") }
            let typeByte = bytes[off]
            let len = Int(bytes[off + 1]) << 24 | Int(bytes[off + 2]) << 16 | Int(bytes[off + 3]) << 8 | Int(bytes[off + 4])
            let crc = UInt32(bytes[off + 5]) << 24 | UInt32(bytes[off + 6]) << 16 | UInt32(bytes[off + 7]) << 8 | UInt32(bytes[off + 8])
            guard let type = WALRecordType(rawValue: typeByte) else { return (off, "unknown record type \(typeByte)") }
            if len > maxPayload || bytes.count - off - headerSize < len { return (off, "torn record of \(len) bytes") }
            let start = off + headerSize
            let ok: Bool = bytes.withUnsafeBytes { raw in
                var c = withUnsafeBytes(of: typeByte) { CRC32C.update(0, $0) }
                c = CRC32C.update(c, UnsafeRawBufferPointer(rebasing: raw[start..<start + len]))
                return c == crc
            }
            if !ok { return (off, "checksum mismatch") }
            let rec: WALRecord
            do {
                rec = try bytes.withUnsafeBytes { raw in
                    var r = ByteReader(raw, file: file, start: start, end: start + len)
                    return try decode(type: type, &r, offset: off)
                }
            } catch {
                return (off, "undecodable record: \(error)")
            }
            try body(rec)
            off = start + len
        }
        return (nil, nil)
    }
}
