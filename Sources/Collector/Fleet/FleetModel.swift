// The fleet registry's vocabulary: options, health, and the cluster views the API shows.

/// Thresholds and cadences of the fleet registry (`fleet:` in the collector config).
public struct FleetOptions: Sendable {
    /// No sample for longer than this: the cluster is down.
    public var downAfterMs: Int64 = 120_000
    /// No sample for longer than this: the cluster is stale (probably gone for good).
    public var staleAfterMs: Int64 = 3_600_000
    /// How often the key numbers (CPU, memory, disk, pods) are recomputed through PromQL
    /// and the fleet state is written back as series.
    public var refreshInterval: Duration = .seconds(30)
    /// How often changed clusters are written to `fleet.sqlite`.
    public var flushInterval: Duration = .seconds(10)
    public init() {}
}

public enum FleetHealth: String, Sendable, CaseIterable {
    /// `catchingUp`: requests keep arriving, but the newest sample is older than `down_after`
    /// (an edge delivering its backlog after an outage). Not down: it is reachable and the gap closes.
    case healthy, degraded, catchingUp = "catching_up", down, stale

    /// One character per cluster in the grid endpoint.
    var gridCharacter: Character {
        switch self {
        case .healthy: "h"
        case .degraded: "d"
        case .catchingUp: "c"
        case .down: "D"
        case .stale: "s"
        }
    }

    /// Worst first: what needs attention now comes before what is probably decommissioned.
    var severityRank: Int {
        switch self {
        case .down: 0
        case .degraded: 1
        case .catchingUp: 2
        case .stale: 3
        case .healthy: 4
        }
    }
}

public struct PodCounts: Sendable, Equatable {
    public var running: Int
    public var pending: Int
    public var failed: Int
    public init(running: Int = 0, pending: Int = 0, failed: Int = 0) {
        self.running = running
        self.pending = pending
        self.failed = failed
    }
}

/// The key numbers the refresher computes through PromQL. A nil map means "the query failed,
/// keep what we had"; a cluster missing from a non-nil map has no such data (null).
public struct FleetDerived: Sendable {
    public var cpuPercent: [String: Double]?
    public var memoryPercent: [String: Double]?
    public var diskPercent: [String: Double]?
    public var pods: [String: PodCounts]?
    public init(cpuPercent: [String: Double]? = nil, memoryPercent: [String: Double]? = nil,
                diskPercent: [String: Double]? = nil, pods: [String: PodCounts]? = nil) {
        self.cpuPercent = cpuPercent
        self.memoryPercent = memoryPercent
        self.diskPercent = diskPercent
        self.pods = pods
    }
}

/// One cluster as the API shows it, with health evaluated at snapshot time.
public struct FleetCluster: Sendable {
    public var name: String
    var nameLower: String
    public var region: String
    public var site: String
    public var health: FleetHealth
    /// Milliseconds; nil when nothing was ever received.
    public var firstSeenMs: Int64?
    public var lastSeenMs: Int64?
    public var samplesPerSecond: Double
    public var series: Int
    public var samplesTotal: Int64
    public var cpuPercent: Double?
    public var memoryPercent: Double?
    public var diskPercent: Double?
    public var pods: PodCounts?
    public var targetsUp: Int
    public var targetsDown: Int
    public var alertsFiring: Int
    /// How far ahead of the collector's clock the cluster's newest refused sample was, while
    /// the cluster keeps sending such samples (nil otherwise).
    public var clockAheadMs: Int64?
    /// While catching up: how far the newest sample is behind the collector's clock, and how
    /// fast that gap shrinks (seconds per second; nil until two measurements a while apart).
    public var behindMs: Int64?
    public var catchUpRate: Double?

    /// The labels a user's scope is matched against.
    func label(_ name: String) -> String {
        switch name {
        case "cluster": self.name
        case "region": region
        case "site": site
        default: ""
        }
    }
}

/// A consistent view of every cluster, sorted by name.
public struct FleetSnapshot: Sendable {
    public let clusters: [FleetCluster]
    public let generatedAtMs: Int64
}
