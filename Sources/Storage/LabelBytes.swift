#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The label sets of a batch as byte ranges of one buffer (a write request's decompressed body,
/// with the labels the collector injects appended), so the head can find a series that already
/// exists by comparing bytes, and `String`s are built only for the series it has not seen.
///
/// `ranges` holds four numbers per label: name offset, name length, value offset, value length.
/// A label set is a run of consecutive labels (`Span`), sorted by name, names unique, values
/// non-empty, valid UTF-8: exactly what `Labels(sortedUnchecked:)` requires, so `labels(_:)`
/// is the same label set as `Labels`.
public struct LabelBytes: Sendable {
    public let bytes: [UInt8]
    public let ranges: [UInt32]

    /// One label set: `count` labels starting at label number `first`.
    public struct Span: Sendable, Equatable {
        public var first: UInt32
        public var count: UInt32
        public init(first: UInt32, count: UInt32) {
            self.first = first
            self.count = count
        }
    }

    public init(bytes: [UInt8], ranges: [UInt32]) {
        self.bytes = bytes
        self.ranges = ranges
    }

    /// The label set as `Labels` (new `String`s).
    public func labels(_ span: Span) -> Labels {
        var pairs: [Label] = []
        pairs.reserveCapacity(Int(span.count))
        bytes.withUnsafeBufferPointer { b in
            for k in Int(span.first)..<Int(span.first + span.count) {
                pairs.append(Label(string(b, ranges[4 * k], ranges[4 * k + 1]), string(b, ranges[4 * k + 2], ranges[4 * k + 3])))
            }
        }
        return Labels(sortedUnchecked: pairs)
    }

    /// Folds the label set's strings (name, value, name, …) into `h`, as hashing the same
    /// `Labels` string by string does.
    @inlinable public func absorb(_ span: Span, into h: inout LabelHash) {
        // Unsafe buffers for the whole loop: no retain or bounds check per label string.
        bytes.withUnsafeBufferPointer { b in
            ranges.withUnsafeBufferPointer { r in
                var k = Int(span.first) * 4
                for _ in 0..<(Int(span.count) * 2) {
                    h.absorb(UnsafeBufferPointer(rebasing: b[Int(r[k])..<Int(r[k]) + Int(r[k + 1])]))
                    k += 2
                }
            }
        }
    }

    /// The value of label `name` in the set, as bytes; nil when absent.
    /// Inlinable: called a few times per series of every batch (fleet registry, cluster
    /// admission), where the unspecialised generic closures cost ~4 % of ingest CPU.
    @inlinable public func withValue<R>(of name: String, in span: Span, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in
            var key = name
            return key.withUTF8 { n in
                for k in Int(span.first)..<Int(span.first + span.count) {
                    let nb = UnsafeBufferPointer(rebasing: b[Int(ranges[4 * k])..<Int(ranges[4 * k] + ranges[4 * k + 1])])
                    if LabelBytes.equal(nb, n) {
                        return body(UnsafeBufferPointer(rebasing: b[Int(ranges[4 * k + 2])..<Int(ranges[4 * k + 2] + ranges[4 * k + 3])]))
                    }
                }
                return body(nil)
            }
        }
    }

    /// The value of label `name` as a `String`; nil when absent.
    public func value(of name: String, in span: Span) -> String? {
        withValue(of: name, in: span) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    private func string(_ b: UnsafeBufferPointer<UInt8>, _ at: UInt32, _ n: UInt32) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[Int(at)..<Int(at + n)]), as: UTF8.self)
    }

    /// Label strings are short (most under 32 bytes): comparing eight bytes at a time inline
    /// beats a call to `memcmp`, which was ~5 % of the collector's ingest profile.
    @inlinable @inline(__always) public static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = a.count
        guard n == b.count else { return false }
        guard n > 0, let ba = a.baseAddress, let bb = b.baseAddress else { return true }
        let pa = UnsafeRawPointer(ba), pb = UnsafeRawPointer(bb)
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            // The last eight bytes, overlapping what was compared already.
            return pa.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == pb.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        var i = 0
        while i < n {
            if pa.load(fromByteOffset: i, as: UInt8.self) != pb.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// `s`'s UTF-8 bytes equal `b` (no copy of a native string's bytes).
    @inlinable @inline(__always) public static func equal(_ s: String, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.utf8.count == b.count else { return false }
        if let r = s.utf8.withContiguousStorageIfAvailable({ equal($0, b) }) { return r }
        var c = s
        return c.withUTF8 { equal($0, b) }
    }
}

/// A multiply-fold hash over label strings, eight bytes per multiply. The head finds series by
/// it (seeded per process) and the fleet registry counts distinct series with it (fixed seed,
/// so estimates are reproducible); both hash `Labels` and label bytes (`LabelBytes`) and must
/// give the same value for the same bytes. Not a cryptographic hash: it never decides identity
/// on its own.
public struct LabelHash {
    public var state: UInt64

    @inlinable public init(seed: UInt64) { state = seed }

    @inlinable @inline(__always) static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// Folds one string (its length first, so "ab","c" and "a","bc" differ).
    @inlinable @inline(__always) public mutating func absorb(_ b: UnsafeBufferPointer<UInt8>) {
        let n = b.count
        var h = LabelHash.mix(state ^ UInt64(truncatingIfNeeded: n) ^ 0xA076_1D64_78BD_642F, 0xE703_7ED1_A0B4_28DB)
        if n > 0 {
            let raw = UnsafeRawPointer(b.baseAddress!)
            var i = 0
            while i + 8 <= n {
                h = LabelHash.mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0x8EBC_6AF0_9C88_C6E3)
                i += 8
            }
            if i < n {
                // The last 1-7 bytes without a loop over them (most label strings end in one):
                // with 8 or more bytes the last eight (overlapping the words above), otherwise
                // two overlapping 4-byte or three single-byte loads, as wyhash does. The length
                // absorbed first keeps the overlaps from making different strings equal.
                let w: UInt64
                if n >= 8 {
                    w = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                } else if n >= 4 {
                    w = UInt64(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) << 32
                        | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
                } else {
                    w = UInt64(raw.load(fromByteOffset: 0, as: UInt8.self)) << 16
                        | UInt64(raw.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8
                        | UInt64(raw.load(fromByteOffset: n - 1, as: UInt8.self))
                }
                h = LabelHash.mix(h ^ w, 0x5899_65CC_7537_4CC3)
            }
        }
        state = h
    }

    @inlinable @inline(__always) public mutating func absorb(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ absorb($0) }) != nil { return }
        var c = s
        c.withUTF8 { absorb($0) }
    }
}
