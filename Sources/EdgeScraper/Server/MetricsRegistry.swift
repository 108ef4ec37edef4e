import Storage
import Synchronization

// The scraper's own metrics. Deliberately tiny (no swift-metrics): counters, gauges and
// histograms with fixed label values, rendered in Prometheus text format 0.0.4.

public final class Counter: Sendable {
    private let value = Mutex<Double>(0)
    public func inc(_ by: Double = 1) { value.withLock { $0 += by } }
    public func inc(_ by: Int) { inc(Double(by)) }
    public var get: Double { value.withLock { $0 } }
}

public final class Gauge: Sendable {
    private let value = Mutex<Double>(0)
    public func set(_ v: Double) { value.withLock { $0 = v } }
    public func set(_ v: Int) { set(Double(v)) }
    public func add(_ v: Double) { value.withLock { $0 += v } }
    public var get: Double { value.withLock { $0 } }
}

public final class Histogram: Sendable {
    public let bounds: [Double]
    private struct State { var counts: [UInt64]; var sum = 0.0; var count: UInt64 = 0 }
    private let state: Mutex<State>

    init(bounds: [Double]) {
        self.bounds = bounds
        state = Mutex(State(counts: Array(repeating: 0, count: bounds.count)))
    }

    public func observe(_ v: Double) {
        state.withLock { s in
            // Cumulative buckets are built at render time; store per-bucket counts here.
            if let i = bounds.firstIndex(where: { v <= $0 }) { s.counts[i] += 1 }
            s.sum += v
            s.count += 1
        }
    }

    var snapshot: (counts: [UInt64], sum: Double, count: UInt64) {
        state.withLock { ($0.counts, $0.sum, $0.count) }
    }
}

public final class MetricsRegistry: Sendable {
    private enum Kind: String { case counter, gauge, histogram }
    fileprivate enum Child { case counter(Counter), gauge(Gauge), histogram(Histogram) }
    private struct Family { var kind: Kind; var help: String; var children: [(labels: [Label], child: Child)] }
    private struct State { var order: [String] = []; var families: [String: Family] = [:] }
    // Children are created at start-up and on reload, never per sample, so one lock suffices.
    private let state = Mutex(State())

    public init() {}

    public func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
        child(name, help, .counter, labels, make: { .counter(Counter()) }).counterValue!
    }

    public func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        child(name, help, .gauge, labels, make: { .gauge(Gauge()) }).gaugeValue!
    }

    public func histogram(_ name: String, _ help: String, _ labels: [(String, String)] = [],
                          buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]) -> Histogram {
        child(name, help, .histogram, labels, make: { .histogram(Histogram(bounds: buckets)) }).histogramValue!
    }

    private func child(_ name: String, _ help: String, _ kind: Kind, _ labels: [(String, String)], make: () -> Child) -> Child {
        let ls = labels.map { Label($0.0, $0.1) }.sorted()
        return state.withLock { s in
            if s.families[name] == nil {
                s.order.append(name)
                s.families[name] = Family(kind: kind, help: help, children: [])
            }
            if let existing = s.families[name]!.children.first(where: { $0.labels == ls }) { return existing.child }
            let c = make()
            s.families[name]!.children.append((ls, c))
            return c
        }
    }

    /// Prometheus text format 0.0.4.
    public func render() -> String {
        let (order, families) = state.withLock { ($0.order, $0.families) }
        var out = ""
        out.reserveCapacity(8192)
        for name in order {
            guard let f = families[name] else { continue }
            out += "# HELP \(name) \(f.help)\n# TYPE \(name) \(f.kind.rawValue)\n"
            for (labels, child) in f.children {
                switch child {
                case .counter(let c): out += "\(name)\(fmtLabels(labels)) \(fmtValue(c.get))\n"
                case .gauge(let g): out += "\(name)\(fmtLabels(labels)) \(fmtValue(g.get))\n"
                case .histogram(let h):
                    let snap = h.snapshot
                    var cum: UInt64 = 0
                    for (i, b) in h.bounds.enumerated() {
                        cum += snap.counts[i]
                        out += "\(name)_bucket\(fmtLabels(labels + [Label("le", fmtValue(b))])) \(cum)\n"
                    }
                    out += "\(name)_bucket\(fmtLabels(labels + [Label("le", "+Inf")])) \(snap.count)\n"
                    out += "\(name)_sum\(fmtLabels(labels)) \(fmtValue(snap.sum))\n"
                    out += "\(name)_count\(fmtLabels(labels)) \(snap.count)\n"
                }
            }
        }
        return out
    }
}

extension MetricsRegistry.Child {
    var counterValue: Counter? { if case .counter(let c) = self { c } else { nil } }
    var gaugeValue: Gauge? { if case .gauge(let g) = self { g } else { nil } }
    var histogramValue: Histogram? { if case .histogram(let h) = self { h } else { nil } }
}

private func fmtLabels(_ labels: [Label]) -> String {
    if labels.isEmpty { return "" }
    return "{" + labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
}

func fmtValue(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == .infinity { return "+Inf" }
    if v == -.infinity { return "-Inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return "\(v)"
}
