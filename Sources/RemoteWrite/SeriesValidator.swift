import Storage

/// Why one series of a write request was refused. The rest of the request is unaffected.
public enum RejectReason: String, CaseIterable, Sendable {
    case invalidUTF8 = "invalid_utf8"
    case missingMetricName = "missing_metric_name"
    case invalidMetricName = "invalid_metric_name"
    case invalidLabelName = "invalid_label_name"
    case duplicateLabelName = "duplicate_label_name"
    case tooManyLabels = "too_many_labels"
    case labelTooLong = "label_too_long"
}

public struct Rejection: Error, Sendable {
    public let reason: RejectReason
    public let message: String
}

/// Checks one decoded series and produces the label set we store: sorted, empty values
/// dropped, `cluster` and the token's other bound labels set from the sender's token. Beside the decoder rather than in the
/// collector so the ingest micro benchmark runs the same checks without the server stack.
public struct SeriesValidator: Sendable {
    public var maxLabels = 128
    public var maxLabelNameLength = 1024
    public var maxLabelValueLength = 16 * 1024
    public static let clusterLabel = "cluster"

    public init() {}

    /// - Parameters:
    ///   - cluster: the cluster the sender's token is bound to; nil when auth is off,
    ///     in which case a `cluster` label the sender set is kept as it is.
    ///   - bound: further labels the token binds (e.g. `region`, `site`), set the same way.
    public func validate(_ ts: TimeSeries, cluster: String?, bound: [Label] = []) -> Result<Labels, Rejection> {
        if let p = ts.problem { return .failure(Rejection(reason: .invalidUTF8, message: p)) }
        if ts.labels.count > maxLabels {
            return .failure(Rejection(reason: .tooManyLabels, message: "series has \(ts.labels.count) labels, the limit is \(maxLabels)"))
        }
        var pairs = ts.labels
        pairs.sort { $0.name < $1.name }
        var out: [Label] = []
        out.reserveCapacity(pairs.count + 1)
        var name: String?
        for (i, l) in pairs.enumerated() {
            if i > 0 && pairs[i - 1].name == l.name {
                return .failure(Rejection(reason: .duplicateLabelName, message: "duplicate label name \"\(l.name)\" in \(describe(ts))"))
            }
            guard isValidLabelName(l.name) else {
                return .failure(Rejection(reason: .invalidLabelName, message: "invalid label name \"\(l.name)\" in \(describe(ts))"))
            }
            if l.name.utf8.count > maxLabelNameLength || l.value.utf8.count > maxLabelValueLength {
                return .failure(Rejection(reason: .labelTooLong, message: "label \"\(l.name.prefix(64))\" is longer than allowed in \(describe(ts))"))
            }
            if l.name == Labels.metricName { name = l.value }
            if l.value.isEmpty { continue }
            out.append(l)
        }
        guard let name, !name.isEmpty else {
            return .failure(Rejection(reason: .missingMetricName, message: "series without a metric name (__name__): \(describe(ts))"))
        }
        guard isValidMetricName(name) else {
            return .failure(Rejection(reason: .invalidMetricName, message: "invalid metric name \"\(name)\""))
        }
        var labels = Labels(sortedUnchecked: out)
        if let cluster { labels = Self.bind(labels, Self.clusterLabel, cluster) }
        for l in bound { labels = Self.bind(labels, l.name, l.value) }
        return .success(labels)
    }

    /// The token decides a bound label. A sender-set value that disagrees is kept as
    /// `exported_<name>`, as Prometheus does for clashing target labels.
    private static func bind(_ labels: Labels, _ name: String, _ value: String) -> Labels {
        var labels = labels
        if let own = labels[name], own != value { labels = labels.setting("exported_" + name, own) }
        return labels.setting(name, value)
    }

    private func describe(_ ts: TimeSeries) -> String {
        let s = "{" + ts.labels.prefix(8).map { "\($0.name)=\"\($0.value.prefix(64))\"" }.joined(separator: ", ")
        return s + (ts.labels.count > 8 ? ", …}" : "}")
    }
}

// MARK: the fast path: label sets checked and found as bytes

extension SeriesValidator {
    /// The labels a token sets on every series (`cluster`, then its bound labels), sorted by
    /// name, as byte ranges appended to the request's buffer. nil when `validate` could not be
    /// mirrored by a plain merge: a name set twice, an empty value (`bind` would remove the label)
    /// or a name that is not a label name (its `String` order could differ from its byte order).
    public struct Injection: Sendable {
        /// name offset, name length, value offset, value length per label, sorted by name.
        fileprivate var ranges: [(UInt32, UInt32, UInt32, UInt32)] = []
    }

    public func injection(cluster: String?, bound: [Label], into bytes: inout [UInt8]) -> Injection? {
        var all: [Label] = []
        if let cluster { all.append(Label(Self.clusterLabel, cluster)) }
        all += bound
        all.sort { $0.name < $1.name }
        var inj = Injection()
        for (i, l) in all.enumerated() {
            if l.value.isEmpty || (i > 0 && all[i - 1].name == l.name) { return nil }
            var n = l.name
            guard n.withUTF8({ isValidLabelName($0) }) else { return nil }
            let no = UInt32(bytes.count)
            bytes.append(contentsOf: l.name.utf8)
            let vo = UInt32(bytes.count)
            bytes.append(contentsOf: l.value.utf8)
            inj.ranges.append((no, UInt32(l.name.utf8.count), vo, UInt32(l.value.utf8.count)))
        }
        return inj
    }

    /// The fast path of `validate`: when series `i` of `raw` is one whose outcome is plainly
    /// "accepted, labels = its wire labels plus `injection`" (plain labels, already sorted by
    /// name without duplicates, non-empty ASCII values, valid names and metric name within the
    /// limits, no wire label that the token sets), appends that final label set to `ranges`
    /// (four numbers per label, as `LabelBytes`) and returns true. Otherwise appends nothing and
    /// returns false: `validate(raw.timeSeries(i, in: bytes), …)` decides, with its exact errors.
    /// For every series this accepts, `validate` gives `.success` with exactly these labels
    /// (property-tested).
    public func plainLabels(_ raw: RawWriteRequest, _ i: Int, injection: Injection, bytes: [UInt8], into ranges: inout [UInt32]) -> Bool {
        let s = raw.series[i]
        guard s.plain, Int(s.labelCount) <= maxLabels else { return false }
        let w = raw.labels
        let base = Int(s.firstLabel) * 4, n = Int(s.labelCount)
        let inj = injection.ranges
        let mark = ranges.count
        // On success exactly every wire label and every injected one are written: room for them
        // is made at once and filled through a pointer (four `append`s per label each checked
        // uniqueness and capacity, ~1.5 % of the collector's ingest profile).
        ranges.append(contentsOf: repeatElement(0, count: 4 * (n + inj.count)))
        let ok = ranges.withUnsafeMutableBufferPointer { out in w.withUnsafeBufferPointer { w in bytes.withUnsafeBufferPointer { b -> Bool in
            func slice(_ at: UInt32, _ len: UInt32) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: b[Int(at)..<Int(at) + Int(len)])
            }
            var o = mark
            func put(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) {
                out[o] = a; out[o + 1] = b; out[o + 2] = c; out[o + 3] = d
                o += 4
            }
            var metric = false
            var j = 0  // next injected label to merge in
            var prev: UnsafeBufferPointer<UInt8>? = nil
            for k in 0..<n {
                let no = w[base + 4 * k], nl = w[base + 4 * k + 1], vo = w[base + 4 * k + 2], vl = w[base + 4 * k + 3]
                let name = slice(no, nl), value = slice(vo, vl)
                guard vl > 0, Int(nl) <= maxLabelNameLength, Int(vl) <= maxLabelValueLength, isValidLabelName(name) else { return false }
                if let p = prev, compare(p, name) >= 0 { return false }  // unsorted or duplicate
                prev = name
                guard isASCII(value) else { return false }
                if nl == 8, LabelBytes.equal(Labels.metricName, name) {
                    guard isValidMetricName(value) else { return false }
                    metric = true
                }
                while j < inj.count {
                    let c = compare(slice(inj[j].0, inj[j].1), name)
                    if c == 0 { return false }  // the token sets this label: `bind` decides
                    if c > 0 { break }
                    put(inj[j].0, inj[j].1, inj[j].2, inj[j].3)
                    j += 1
                }
                put(no, nl, vo, vl)
            }
            while j < inj.count {
                put(inj[j].0, inj[j].1, inj[j].2, inj[j].3)
                j += 1
            }
            return metric
        } } }
        if !ok { ranges.removeSubrange(mark...) }
        return ok
    }
}

/// No byte has its top bit set; eight bytes per test (label values run to tens of bytes).
@inline(__always) private func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = b.count
    guard n > 0, let base = b.baseAddress else { return true }
    let p = UnsafeRawPointer(base)
    var i = 0
    while i + 8 <= n {
        if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
        i += 8
    }
    while i < n {
        if p.load(fromByteOffset: i, as: UInt8.self) >= 0x80 { return false }
        i += 1
    }
    return true
}

/// Byte order, which for label names (ASCII) is `String` order.
@inline(__always) private func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let n = min(a.count, b.count)
    for i in 0..<n where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
    return a.count - b.count
}
