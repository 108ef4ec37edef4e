/// One label pair. Series identity is the sorted set of these.
public struct Label: Hashable, Sendable, Comparable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public static func < (a: Label, b: Label) -> Bool {
        a.name != b.name ? a.name < b.name : a.value < b.value
    }
}

/// A label set kept sorted by name with unique names, as Prometheus' `labels.Labels`.
/// Sorted storage makes equality, hashing and printing canonical without extra work.
public struct Labels: Hashable, Sendable, RandomAccessCollection, CustomStringConvertible, Comparable {
    public private(set) var pairs: [Label]

    public static let metricName = "__name__"

    public init() { pairs = [] }

    /// Sorts and, for duplicate names, keeps the last value. Empty values are dropped
    /// because Prometheus treats `l=""` as "label absent".
    public init(_ pairs: [Label]) {
        var p = pairs.filter { !$0.value.isEmpty }
        p.sort { $0.name < $1.name }
        var out: [Label] = []
        out.reserveCapacity(p.count)
        for l in p {
            if let last = out.last, last.name == l.name { out[out.count - 1] = l } else { out.append(l) }
        }
        self.pairs = out
    }

    /// Caller guarantees `pairs` is sorted by name, names unique, values non-empty.
    public init(sortedUnchecked pairs: [Label]) { self.pairs = pairs }

    public init(_ dict: [String: String]) {
        self.init(dict.map { Label($0.key, $0.value) })
    }

    public var startIndex: Int { pairs.startIndex }
    public var endIndex: Int { pairs.endIndex }
    public subscript(i: Int) -> Label { pairs[i] }

    public subscript(name: String) -> String? {
        // Label sets are small (typically < 20); a linear scan beats binary search here.
        for l in pairs where l.name == name { return l.value }
        return nil
    }

    public var metricName: String? { self[Labels.metricName] }

    /// Returns a copy with `name` set to `value` (removed when `value` is empty).
    public func setting(_ name: String, _ value: String) -> Labels {
        var p = pairs.filter { $0.name != name }
        if !value.isEmpty {
            let i = p.firstIndex { $0.name > name } ?? p.endIndex
            p.insert(Label(name, value), at: i)
        }
        return Labels(sortedUnchecked: p)
    }

    public func removing(_ names: Set<String>) -> Labels {
        Labels(sortedUnchecked: pairs.filter { !names.contains($0.name) })
    }

    public func keeping(_ names: Set<String>) -> Labels {
        Labels(sortedUnchecked: pairs.filter { names.contains($0.name) })
    }

    public var withoutMetricName: Labels { removing([Labels.metricName]) }

    /// Prometheus' text form: `name{a="1", b="2"}`.
    public var description: String {
        var s = metricName ?? ""
        let rest = pairs.filter { $0.name != Labels.metricName }
        if rest.isEmpty && !s.isEmpty { return s }
        s += "{"
        s += rest.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ", ")
        s += "}"
        return s
    }

    /// Lexicographic order over the sorted pairs, as Prometheus' `labels.Compare`. Inlinable and
    /// through buffer pointers because sorting series calls it millions of times: that way the
    /// strings are borrowed rather than retained and released per comparison.
    @inlinable public static func < (a: Labels, b: Labels) -> Bool {
        a.pairs.withUnsafeBufferPointer { pa in
            b.pairs.withUnsafeBufferPointer { pb in
                let n = Swift.min(pa.count, pb.count)
                for i in 0..<n {
                    if pa[i].name != pb[i].name { return pa[i].name < pb[i].name }
                    if pa[i].value != pb[i].value { return pa[i].value < pb[i].value }
                }
                return pa.count < pb.count
            }
        }
    }
}

public func escapeLabelValue(_ v: String) -> String {
    var out = ""
    out.reserveCapacity(v.utf8.count)
    for c in v {
        switch c {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.append(c)
        }
    }
    return out
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, the Prometheus label name rule.
public func isValidLabelName(_ name: String) -> Bool {
    if let r = name.utf8.withContiguousStorageIfAvailable(isValidLabelName) { return r }
    var first = true
    if name.utf8.isEmpty { return false }
    for b in name.utf8 {
        let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F || (!first && b >= 0x30 && b <= 0x39)
        if !ok { return false }
        first = false
    }
    return true
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the Prometheus metric name rule.
public func isValidMetricName(_ name: String) -> Bool {
    if let r = name.utf8.withContiguousStorageIfAvailable(isValidMetricName) { return r }
    var first = true
    if name.utf8.isEmpty { return false }
    for b in name.utf8 {
        let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F || b == 0x3A
            || (!first && b >= 0x30 && b <= 0x39)
        if !ok { return false }
        first = false
    }
    return true
}

// Byte-buffer forms of the two rules: iterating `String.UTF8View` decodes the string's
// representation on every byte; a contiguous buffer is a plain loop (label names are checked
// for every series of every write request).
public func isValidLabelName(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    if b.isEmpty { return false }
    for i in 0..<b.count {
        let c = b[i]
        let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || (i > 0 && c >= 0x30 && c <= 0x39)
        if !ok { return false }
    }
    return true
}

public func isValidMetricName(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    if b.isEmpty { return false }
    for i in 0..<b.count {
        let c = b[i]
        let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A
            || (i > 0 && c >= 0x30 && c <= 0x39)
        if !ok { return false }
    }
    return true
}
