import Storage

/// Samples whose series labels are already protobuf. Entry k is one remote-write `TimeSeries`
/// with one sample; its labels are stored at `labels[offset ..< offset + length]` as the `labels`
/// fields of that message (tags and lengths included, `EncodedLabels`), except that a label held
/// in `shared` is stored as one byte referring to it (`SharedLabels`). `size` is their length on
/// the wire.
///
/// The edge keeps every series' labels stored this way, once, in an arena per target, and a
/// scrape's batch shares that arena: a scrape copies bytes instead of encoding label strings, the
/// edge holds no array of label strings per series, and the labels every series of a target
/// carries (job, instance, the external labels) are kept once, not once per series
/// (docs/benchmarks.md, "Issue 15, seventh round").
public struct EncodedBatch: Sendable {
    public struct Entry: Sendable, Equatable {
        public var offset: UInt32
        public var length: UInt32
        /// The labels' length on the wire, with the shared ones in place.
        public var size: UInt32
        public var sample: Sample

        public init(offset: UInt32, length: UInt32, size: UInt32, sample: Sample) {
            self.offset = offset
            self.length = length
            self.size = size
            self.sample = sample
        }

        /// An entry whose labels refer to no shared label.
        public init(offset: UInt32, length: UInt32, sample: Sample) {
            self.init(offset: offset, length: length, size: length, sample: sample)
        }
    }

    public var labels: [UInt8]
    public var shared: SharedLabels
    public var entries: [Entry]
    /// The producer's stream key (the edge: its scrape target's), which the disk queue uses to
    /// keep one target's series on one shard.
    public var key: UInt32

    public init(labels: [UInt8], shared: SharedLabels = SharedLabels(), entries: [Entry], key: UInt32) {
        self.labels = labels
        self.shared = shared
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

    /// The wire bytes of `entry`'s labels, or nil if its stored labels are not what `SharedLabels`
    /// describes.
    public func wireLabels(of entry: Entry) -> [UInt8]? {
        let start = Int(entry.offset), end = start + Int(entry.length)
        guard end <= labels.count else { return nil }
        var out: [UInt8] = []
        let valid = labels.withUnsafeBufferPointer { stored in
            shared.withPieces { sharedBytes, bounds in
                SharedLabels.forEachPiece(UnsafeBufferPointer(rebasing: stored[start ..< end]), shared: sharedBytes, bounds: bounds) {
                    out.append(contentsOf: $0)
                }
            }
        }
        return valid ? out : nil
    }

    /// The labels of `entry`, decoded.
    public func labels(of entry: Entry) -> [Label]? {
        wireLabels(of: entry).flatMap { EncodedLabels.decode($0[...]) }
    }

    /// Every entry as a `TimeSeries`; entries whose labels do not decode are left out.
    public var timeSeries: [TimeSeries] {
        entries.compactMap { e in labels(of: e).map { TimeSeries(labels: $0, samples: [e.sample]) } }
    }
}

/// Label records that many series carry, stored once: a series' stored labels refer to record i
/// with the single byte `0x80 | i` in its place. A stored label record starts with its tag, 0x0A,
/// so the two cannot be confused. At most 64 records.
public struct SharedLabels: Sendable {
    /// The records one after another; record i is `bytes[bounds[i] ..< bounds[i + 1]]`.
    private var bytes: [UInt8] = []
    private var bounds: [Int] = [0]
    private var labels: [Label] = []

    public static let maxCount = 64

    public init() {}

    /// The first `maxCount` of `labels`.
    public init(_ labels: some Sequence<Label>) {
        for l in labels.prefix(Self.maxCount) {
            EncodedLabels.append(CollectionOfOne(l), to: &bytes)
            bounds.append(bytes.count)
            self.labels.append(l)
        }
    }

    /// Appends `labels` stored as described above and returns their length on the wire. Labels
    /// are matched byte for byte (Swift's `==` on strings would also match canonically
    /// equivalent Unicode, whose bytes differ).
    @discardableResult
    public func append(_ labels: some Sequence<Label>, to out: inout [UInt8]) -> Int {
        var wire = 0
        for l in labels {
            if let i = self.labels.firstIndex(where: { $0.name.utf8.elementsEqual(l.name.utf8) && $0.value.utf8.elementsEqual(l.value.utf8) }) {
                out.append(0x80 | UInt8(i))
                wire += bounds[i + 1] - bounds[i]
            } else {
                let start = out.count
                EncodedLabels.append(CollectionOfOne(l), to: &out)
                wire += out.count - start
            }
        }
        return wire
    }

    func withPieces<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int>) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in bounds.withUnsafeBufferPointer { body(b, $0) } }
    }

    /// Calls `body` with the wire bytes of the stored labels `stored`, in order: runs of stored
    /// label records and the shared records referred to between them. Returns false, having
    /// stopped, at bytes that are neither a whole label record nor a reference to one of
    /// `bounds.count - 1` shared records.
    @inline(__always)
    static func forEachPiece(_ stored: UnsafeBufferPointer<UInt8>, shared: UnsafeBufferPointer<UInt8>, bounds: UnsafeBufferPointer<Int>,
                             _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        var i = 0, run = 0
        while i < stored.count {
            let b = stored[i]
            if b == 1 << 3 | 2 {
                // A label record: tag, varint length, message.
                var j = i + 1, length = 0, shift = 0
                while true {
                    guard j < stored.count, shift < 63 else { return false }
                    let c = stored[j]
                    j += 1
                    length |= Int(c & 0x7F) << shift
                    if c < 0x80 { break }
                    shift += 7
                }
                guard length >= 0, length <= stored.count - j else { return false }
                i = j + length
            } else {
                let k = Int(b & 0x7F)
                guard b >= 0x80, k + 1 < bounds.count else { return false }
                if i > run { body(UnsafeBufferPointer(rebasing: stored[run ..< i])) }
                body(UnsafeBufferPointer(rebasing: shared[bounds[k] ..< bounds[k + 1]]))
                i += 1
                run = i
            }
        }
        if i > run { body(UnsafeBufferPointer(rebasing: stored[run ..< i])) }
        return true
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
