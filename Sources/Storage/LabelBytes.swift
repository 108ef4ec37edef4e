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
        bytes.withUnsafeBufferPointer { b in
            var k = Int(span.first) * 4
            for _ in 0..<(Int(span.count) * 2) {
                h.absorb(UnsafeBufferPointer(rebasing: b[Int(ranges[k])..<Int(ranges[k]) + Int(ranges[k + 1])]))
                k += 2
            }
        }
    }

    /// The value of label `name` in the set, as bytes; nil when absent.
    public func withValue<R>(of name: String, in span: Span, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
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

    @inline(__always) public static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        return memcmp(pa, pb, a.count) == 0
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
                var w: UInt64 = 0, shift: UInt64 = 0
                while i < n { w |= UInt64(b[i]) << shift; shift += 8; i += 1 }
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
