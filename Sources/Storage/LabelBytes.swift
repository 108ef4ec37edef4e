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
