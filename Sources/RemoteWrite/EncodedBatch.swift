import Storage

/// Samples whose series labels are already protobuf. Entry k is one remote-write `TimeSeries`
/// with one sample; its labels are the `labels` fields of that message (tags and lengths
/// included, `EncodedLabels`) at `labels[offset ..< offset + length]`.
///
/// The edge keeps every series' labels encoded this way, once, in an arena per target, and a
/// scrape's batch shares that arena: a scrape copies bytes instead of encoding label strings, and
/// the edge holds no array of label strings per series (docs/benchmarks.md, "Issue 15, seventh
/// round").
public struct EncodedBatch: Sendable {
    public struct Entry: Sendable, Equatable {
        public var offset: UInt32
        public var length: UInt32
        public var sample: Sample

        public init(offset: UInt32, length: UInt32, sample: Sample) {
            self.offset = offset
            self.length = length
            self.sample = sample
        }
    }

    public var labels: [UInt8]
    public var entries: [Entry]
    /// The producer's stream key (the edge: its scrape target's), which the disk queue uses to
    /// keep one target's series on one shard.
    public var key: UInt32

    public init(labels: [UInt8], entries: [Entry], key: UInt32) {
        self.labels = labels
        self.entries = entries
        self.key = key
    }

    /// `series` with one entry per sample, in order, as far as their labels fit in 4 GiB.
    public init(_ series: [TimeSeries], key: UInt32) {
        var labels: [UInt8] = [], entries: [Entry] = []
        for ts in series where !ts.samples.isEmpty {
            let start = labels.count
            EncodedLabels.append(ts.labels, to: &labels)
            guard let offset = UInt32(exactly: start), let length = UInt32(exactly: labels.count - start),
                  UInt32(exactly: labels.count) != nil else { break }
            for s in ts.samples { entries.append(Entry(offset: offset, length: length, sample: s)) }
        }
        self.init(labels: labels, entries: entries, key: key)
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The labels of `entry`, decoded.
    public func labels(of entry: Entry) -> [Label]? {
        let start = Int(entry.offset), end = start + Int(entry.length)
        guard end <= labels.count else { return nil }
        return EncodedLabels.decode(labels[start ..< end])
    }

    /// Every entry as a `TimeSeries`; entries whose labels do not decode are left out.
    public var timeSeries: [TimeSeries] {
        entries.compactMap { e in labels(of: e).map { TimeSeries(labels: $0, samples: [e.sample]) } }
    }
}

/// A series' labels as the `labels` fields (1) of a remote-write `TimeSeries`: for each label
/// the tag, the length and a `Label` message (name as field 1, value as field 2, empty strings
/// omitted as proto3 does).
public enum EncodedLabels {
    public static func append(_ labels: some Sequence<Label>, to out: inout [UInt8]) {
        for l in labels {
            out.append(1 << 3 | 2)
            appendVarint(UInt64(SeriesWriter.labelSize(l)), to: &out)
            appendString(1, l.name, to: &out)
            appendString(2, l.value, to: &out)
        }
    }

    /// The labels of `bytes`, or nil if they are not `append`'s encoding of valid UTF-8 strings.
    public static func decode(_ bytes: ArraySlice<UInt8>) -> [Label]? {
        var r = ProtoReader(bytes)
        var out: [Label] = []
        while !r.atEnd {
            guard r.byte() == 1 << 3 | 2, let message = r.lengthDelimited() else { return nil }
            var m = ProtoReader(message)
            var name = "", value = ""
            while !m.atEnd {
                let tag = m.byte()
                guard tag == 1 << 3 | 2 || tag == 2 << 3 | 2, let s = m.lengthDelimited(),
                      let string = String(validating: s, as: UTF8.self) else { return nil }
                if tag == 1 << 3 | 2 { name = string } else { value = string }
            }
            out.append(Label(name, value))
        }
        return out
    }

    private static func appendString(_ field: UInt8, _ s: String, to out: inout [UInt8]) {
        guard !s.isEmpty else { return }
        out.append(field << 3 | 2)
        appendVarint(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    private static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    /// Just enough protobuf reading for `decode`: one-byte tags, varint lengths, bounds checked.
    private struct ProtoReader {
        var rest: ArraySlice<UInt8>
        init(_ bytes: ArraySlice<UInt8>) { rest = bytes }
        var atEnd: Bool { rest.isEmpty }

        mutating func byte() -> UInt8? { rest.popFirst() }

        mutating func lengthDelimited() -> ArraySlice<UInt8>? {
            var n: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard let b = rest.popFirst(), shift < 64 else { return nil }
                n |= UInt64(b & 0x7F) << shift
                if b < 0x80 { break }
                shift += 7
            }
            guard n <= UInt64(rest.count) else { return nil }
            let s = rest.prefix(Int(n))
            rest = rest.dropFirst(Int(n))
            return s
        }
    }
}
