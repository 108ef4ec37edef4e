import Synchronization

/// One sample: timestamp in milliseconds since the epoch, float value.
public struct Sample: Sendable, Equatable {
    public var t: Int64
    public var v: Double
    public init(t: Int64, v: Double) { self.t = t; self.v = v }

    /// Two samples are the same when timestamps match and values are bit-identical
    /// (so NaN equals NaN, and a stale marker differs from an ordinary NaN).
    public func sameAs(_ o: Sample) -> Bool { t == o.t && v.bitPattern == o.v.bitPattern }
}

/// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
public enum StaleNaN {
    public static let bits: UInt64 = 0x7ff0_0000_0000_0002
    public static let value = Double(bitPattern: bits)
    @inline(__always) public static func isStale(_ v: Double) -> Bool { v.bitPattern == bits }
}

/// A series with its samples inside the querier's time range, sorted by time,
/// one sample per timestamp, stale markers included.
public struct Series: Sendable {
    public let labels: Labels
    public let samples: [Sample]
    public init(labels: Labels, samples: [Sample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// Something that can be read: the TSDB, or an in-memory store in tests.
/// This is the boundary PromQL evaluates over; PromQL never sees storage internals.
public protocol Queryable: Sendable {
    /// A read view over `[mint, maxt]`, both inclusive, in milliseconds.
    func querier(mint: Int64, maxt: Int64) throws -> any Querier
}

public protocol Querier: Sendable {
    /// Series matching every matcher that have at least one sample in range, sorted by labels.
    func select(_ matchers: [LabelMatcher]) throws -> [Series]
    /// Label sets of matching series with data in range, sorted, without reading samples.
    func series(_ matchers: [LabelMatcher]) throws -> [Labels]
    /// Sorted label names of matching series (all series when `matchers` is empty).
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String]
    /// Sorted distinct values of `name` over matching series (all series when empty).
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String]
}

/// A plain in-memory store: the reference for tests of anything that reads through `Queryable`.
public final class MemoryStorage: Queryable {
    // A class because tests append while queries read.
    private let data = Mutex<[Labels: [Sample]]>([:])

    public init() {}

    public func append(_ labels: Labels, _ t: Int64, _ v: Double) {
        data.withLock { data in
            var s = data[labels, default: []]
            if let last = s.last, last.t >= t {
                if let i = s.firstIndex(where: { $0.t >= t }), s[i].t != t { s.insert(Sample(t: t, v: v), at: i) }
            } else {
                s.append(Sample(t: t, v: v))
            }
            data[labels] = s
        }
    }

    public func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        let snapshot = data.withLock { $0 }
        return MemoryQuerier(data: snapshot, mint: mint, maxt: maxt)
    }
}

struct MemoryQuerier: Querier {
    let data: [Labels: [Sample]]
    let mint: Int64
    let maxt: Int64

    func select(_ matchers: [LabelMatcher]) throws -> [Series] {
        data.compactMap { (labels, samples) -> Series? in
            guard labels.matches(matchers) else { return nil }
            let inRange = samples.filter { $0.t >= mint && $0.t <= maxt }
            return inRange.isEmpty ? nil : Series(labels: labels, samples: inRange)
        }.sorted { $0.labels < $1.labels }
    }

    func series(_ matchers: [LabelMatcher]) throws -> [Labels] { try select(matchers).map(\.labels) }

    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] {
        Set(try select(matchers).flatMap { $0.labels.map(\.name) }).sorted()
    }

    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        Set(try select(matchers).compactMap { $0.labels[name] }).sorted()
    }
}
