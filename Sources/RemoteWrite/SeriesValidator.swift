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
