import Storage

/// A decoded remote-write 1.0 `TimeSeries`. Labels keep wire order so the receiver can
/// tell unsorted or duplicated names apart. Native histograms and exemplars are only
/// counted: storing them is not supported yet.
public struct TimeSeries: Sendable, Equatable {
    public var labels: [Label]
    public var samples: [Sample]
    public var exemplarCount: Int
    public var histogramCount: Int
    /// Set when the series could be framed but not read (e.g. a label that is not UTF-8);
    /// the receiver rejects this series alone.
    public var problem: String?

    public init(labels: [Label], samples: [Sample], exemplarCount: Int = 0, histogramCount: Int = 0, problem: String? = nil) {
        self.labels = labels
        self.samples = samples
        self.exemplarCount = exemplarCount
        self.histogramCount = histogramCount
        self.problem = problem
    }

    public static func == (a: TimeSeries, b: TimeSeries) -> Bool {
        a.labels == b.labels && a.exemplarCount == b.exemplarCount && a.histogramCount == b.histogramCount
            && a.problem == b.problem && a.samples.count == b.samples.count
            && zip(a.samples, b.samples).allSatisfy { $0.sameAs($1) }
    }
}

public enum MetricType: Int, Sendable {
    case unknown = 0, counter, gauge, histogram, gaugeHistogram, summary, info, stateSet
}

public struct MetricMetadata: Sendable, Equatable {
    public var type: MetricType
    public var family: String
    public var help: String
    public var unit: String

    public init(type: MetricType, family: String, help: String = "", unit: String = "") {
        self.type = type
        self.family = family
        self.help = help
        self.unit = unit
    }
}

public struct WriteRequest: Sendable, Equatable {
    public var timeseries: [TimeSeries]
    public var metadata: [MetricMetadata]

    public init(timeseries: [TimeSeries] = [], metadata: [MetricMetadata] = []) {
        self.timeseries = timeseries
        self.metadata = metadata
    }

    public var sampleCount: Int { timeseries.reduce(0) { $0 + $1.samples.count } }
}

/// Header names and values of remote-write 1.0, and what a response status means to a sender.
public enum RemoteWriteProtocol {
    public static let contentEncoding = "snappy"
    public static let contentType = "application/x-protobuf"
    public static let versionHeader = "X-Prometheus-Remote-Write-Version"
    public static let version = "0.1.0"

    public enum Outcome: Sendable, Equatable {
        /// Stored; drop the batch from the queue.
        case delivered
        /// Try again later with backoff (5xx, 429).
        case retry
        /// Retrying cannot help (other 4xx): drop the batch and count it.
        case rejected
    }

    public static func outcome(status: Int) -> Outcome {
        switch status {
        case 200..<300: return .delivered
        case 429, 500..<600: return .retry
        default: return .rejected
        }
    }
}
