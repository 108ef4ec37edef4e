import Foundation
import Logging
import Storage
import Synchronization
import TSDB

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

/// Every cluster that ever sent a sample: when it was first and last heard of, how much it
/// sends, its `up` targets and the key numbers the refresher derives, and from those its
/// health. Fed from the ingest hot path (one lock per batch, O(series), nothing allocated
/// per sample); persisted to SQLite so a restarted collector still knows the whole fleet.
public final class FleetRegistry: Sendable {
    public let options: FleetOptions
    let clock: @Sendable () -> Int64
    private let state: Mutex<State>
    private let store: FleetStore?
    /// Serialises flushes so an older batch of rows can never overwrite a newer one.
    private let flushLock = Mutex<Int>(0)
    private let cache = Mutex<(snapshot: FleetSnapshot, version: UInt64)?>(nil)

    /// Time constant of the decayed samples/s rate: "the last few minutes".
    static let rateTauMs: Double = 120_000
    /// Active-series counts cover windows of this length (the current and the previous one).
    static let seriesWindowMs: Int64 = 300_000
    /// HyperLogLog registers per cluster: ~6.5% standard error, less (linear counting) below
    /// ~600 series; 256 bytes per cluster, 32 MB for 125,000.
    static let registersPerCluster = 256

    /// `path` nil keeps the registry in memory only (tests).
    public init(path: String?, options: FleetOptions = FleetOptions(),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.options = options
        self.clock = clock
        var st = State()
        if let path {
            let store = try FleetStore(path: path)
            self.store = store
            for row in try store.load() { st.restore(row) }
        } else {
            store = nil
        }
        state = Mutex(st)
    }

    public var count: Int { state.withLock { $0.entries.count } }

    // MARK: ingest

    /// Per series of a batch: everything the registry needs, computed before taking the lock.
    private struct SeriesObservation {
        var slot: Int
        var hash: UInt64
        var samples: Int
        var upValue: Double?
        var upT: Int64
    }

    private struct BatchCluster {
        var name: String
        var region: String?
        var site: String?
        var samples = 0
        var minT = Int64.max
        var maxT = Int64.min
    }

    /// Called after a durable append. `cluster` is the ingest token's cluster; without one
    /// (`--no-auth`) every series counts for the cluster in its own `cluster` label.
    public func record(cluster: String?, series: [SeriesSamples]) {
        record(identity: cluster.map { IngestIdentity(cluster: $0) }, series: series)
    }

    /// As `record(cluster:series:)` for an ingest token: region and site come from the
    /// token when it binds them, never from what the cluster sends.
    public func record(identity: IngestIdentity?, series: [SeriesSamples]) {
        let cluster = identity?.cluster
        guard !series.isEmpty else { return }
        var groups: [BatchCluster] = []
        var slotByName: [String: Int] = [:]
        var obs: [SeriesObservation] = []
        obs.reserveCapacity(series.count)
        if let identity {
            groups.append(BatchCluster(name: identity.cluster, region: identity.label("region"), site: identity.label("site")))
        }
        var lastName = ""
        var lastSlot = -1
        for s in series where !s.samples.isEmpty {
            let slot: Int
            if cluster != nil {
                slot = 0
            } else {
                guard let c = s.labels["cluster"] else { continue }
                if lastSlot >= 0 && c == lastName {
                    slot = lastSlot
                } else if let i = slotByName[c] {
                    slot = i
                } else {
                    slot = groups.count
                    groups.append(BatchCluster(name: c))
                    slotByName[c] = slot
                }
                lastName = c
                lastSlot = slot
            }
            var g = groups[slot]
            if g.region == nil, let r = s.labels["region"] { g.region = r }
            if g.site == nil, let r = s.labels["site"] { g.site = r }
            var upValue: Double?
            var upT = Int64.min
            let isUp = s.labels.metricName == "up"
            for x in s.samples {
                if x.t < g.minT { g.minT = x.t }
                if x.t > g.maxT { g.maxT = x.t }
                if isUp && x.t >= upT { upT = x.t; upValue = x.v }
            }
            g.samples += s.samples.count
            groups[slot] = g
            obs.append(SeriesObservation(slot: slot, hash: Self.seriesHash(s.labels),
                                         samples: s.samples.count, upValue: upValue, upT: upT))
        }
        // No series with samples: nothing was heard from anyone (and a token's cluster must not
        // get an entry without a first sample time).
        guard !obs.isEmpty else { return }
        let now = clock()
        state.withLock { st in
            st.version &+= 1
            var index: [Int] = []
            index.reserveCapacity(groups.count)
            for g in groups { index.append(st.apply(g.name, region: g.region, site: g.site, samples: g.samples,
                                                    minT: g.minT, maxT: g.maxT, now: now)) }
            for o in obs {
                let i = index[o.slot]
                st.observeSeries(i, hash: o.hash)
                if let v = o.upValue { st.entries[i].observeUp(hash: o.hash, t: o.upT, v: v) }
            }
        }
    }

    /// FNV-1a over the label pairs, finished with MurmurHash3's mixer so every bit is usable
    /// by the HyperLogLog. Deterministic (unlike `hashValue`), so estimates are reproducible.
    static func seriesHash(_ labels: Labels) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for l in labels {
            for b in l.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xff) &* 0x100_0000_01b3
            for b in l.value.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xfe) &* 0x100_0000_01b3
        }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// A cluster sent samples beyond `ingest.max_future`: shown as "clock ahead by …" until
    /// it has sent none for `clockAheadShownForMs`. A cluster heard of only through such
    /// samples gets an entry too: it is exactly the one an operator must find.
    public func recordClockAhead(cluster: String, aheadMs: Int64) {
        let now = clock()
        state.withLock { st in
            st.version &+= 1
            let i = st.entryIndex(cluster)
            st.entries[i].clockAheadMs = aheadMs
            st.entries[i].clockAheadSeenMs = now
        }
    }

    static let clockAheadShownForMs: Int64 = 900_000
    /// The catch-up rate is measured over 30–60 s (plus the time since the last request).
    static let catchUpCheckpointMs: Int64 = 30_000

    // MARK: derived numbers

    public func applyDerived(_ d: FleetDerived) {
        state.withLock { st in
            st.version &+= 1
            for i in st.entries.indices {
                let name = st.entries[i].name
                var e = st.entries[i]
                var changed = false
                func set<T: Equatable>(_ kp: WritableKeyPath<Entry, T?>, _ map: [String: T]?) {
                    guard let map else { return }
                    let v = map[name]
                    if e[keyPath: kp] != v { e[keyPath: kp] = v; changed = true }
                }
                set(\.cpu, d.cpuPercent)
                set(\.memory, d.memoryPercent)
                set(\.disk, d.diskPercent)
                set(\.pods, d.pods)
                // Not marked dirty: the numbers change every refresh and reach the database with
                // the cluster's next last-seen update (at most a minute later), or on shutdown.
                if changed { st.entries[i] = e }
            }
        }
    }

    /// Firing alerts per cluster (from the rule manager); clusters not in the map have none.
    /// Any firing alert makes a reachable cluster degraded.
    public func applyAlerts(firingByCluster: [String: Int]) {
        state.withLock { st in
            st.version &+= 1
            for i in st.entries.indices {
                let n = Int32(clamping: firingByCluster[st.entries[i].name] ?? 0)
                if st.entries[i].alertsFiring != n { st.entries[i].alertsFiring = n }
            }
        }
    }

    // MARK: reading

    /// Every cluster with its health now, sorted by name. Rebuilt at most once a second for
    /// large fleets, so a dashboard firing summary, grid and list together pays once.
    public func snapshot() -> FleetSnapshot {
        let now = clock()
        if let cached = cache.withLock({ $0 }) {
            let (c, v) = (cached.snapshot, cached.version)
            let fresh = now >= c.generatedAtMs && now - c.generatedAtMs < 1000
            if fresh && (c.clusters.count > 10_000 || v == state.withLock({ $0.version })) { return c }
        }
        let (snap, version) = snapshotUncached(now: now)
        cache.withLock { $0 = (snap, version) }
        return snap
    }

    func snapshotUncached(now: Int64? = nil) -> (FleetSnapshot, UInt64) {
        let now = now ?? clock()
        return state.withLock { st -> (FleetSnapshot, UInt64) in
            let order = st.nameOrder()
            var out: [FleetCluster] = []
            out.reserveCapacity(order.count)
            for i in order { out.append(st.view(Int(i), now: now, options: options)) }
            return (FleetSnapshot(clusters: out, generatedAtMs: now), st.version)
        }
    }

    public func cluster(_ name: String) -> FleetCluster? {
        let now = clock()
        return state.withLock { st in st.index[name].map { st.view(Int($0), now: now, options: options) } }
    }

    // MARK: persistence

    /// A cluster that keeps sending is written once per this interval, not on every flush:
    /// 125,000 rows every 10 s would keep a core busy for a last-seen precision nobody needs.
    static let persistLastSeenEveryMs: Int64 = 60_000

    /// Writes new and changed clusters (`everything`: also every last-seen and key number
    /// not yet written, as on shutdown). Safe to call concurrently.
    public func flush(everything: Bool = false) throws {
        guard let store else { return }
        try flushLock.withLock { flushes in
            let rows = state.withLock { st in st.takeDirtyRows(options: options, everything: everything) }
            if rows.isEmpty { return }
            do {
                try store.save(rows)
            } catch {
                // Nothing is lost from memory; try those rows again next time.
                state.withLock { st in for r in rows { if let i = st.index[r.name] { st.markDirty(Int(i)) } } }
                throw error
            }
            flushes += 1
        }
    }

    public func close() throws {
        try flush(everything: true)
    }
}

struct GapCheckpoint {
    var atMs = Int64.min
    var newestMs = Int64.min
}

/// The latest `up` value of one scrape target.
struct UpTarget {
    var hash: UInt64
    var t: Int64
    var up: Bool
}

struct Entry {
    var name: String
    var nameLower: String
    var region = ""
    var site = ""
    var firstSeenMs = Int64.max
    var lastSeenMs = Int64.min
    var samplesTotal: Int64 = 0
    var rateAcc: Double = 0
    var rateAtMs: Int64 = 0
    /// When this process first heard of the cluster (0: not yet), to un-bias the young rate.
    var rateStartMs: Int64 = 0
    var seriesWindow: Int64 = -1
    var previousSeries: Int32 = 0
    /// Running HyperLogLog sum (of 2^-register) and count of empty registers, kept current as
    /// registers change, so reading an estimate is O(1) while the registry lock is held.
    var hllSum = Double(FleetRegistry.registersPerCluster)
    var hllZeros = Int32(FleetRegistry.registersPerCluster)
    var up: [UpTarget] = []
    /// `up` counts from the database, shown until live `up` samples arrive after a restart.
    var restoredUp: Int32 = 0
    var restoredDown: Int32 = 0
    var cpu: Double?
    var memory: Double?
    var disk: Double?
    var pods: PodCounts?
    var alertsFiring: Int32 = 0
    var clockAheadMs: Int64 = 0
    var clockAheadSeenMs = Int64.min
    /// Collector clock at the last request with samples (not persisted: after a restart a
    /// cluster has to send again to count as reachable).
    var lastReceivedMs = Int64.min
    /// Two (receive time, newest sample) checkpoints at least `catchUpCheckpointMs` apart,
    /// for the rate at which a backlog closes the gap.
    var gapRef = GapCheckpoint()
    var gapCur = GapCheckpoint()
    var dirty = false
    /// What the database holds: `.min` when the cluster has no row yet.
    var persistedLastSeenMs = Int64.min
    var persisted = false

    init(name: String) {
        self.name = name
        let lower = name.lowercased()
        // Most names are lowercase already: share the storage instead of keeping a second copy.
        nameLower = lower == name ? name : lower
    }

    mutating func observeUp(hash: UInt64, t: Int64, v: Double) {
        if restoredUp != 0 || restoredDown != 0 { restoredUp = 0; restoredDown = 0 }
        if let k = up.firstIndex(where: { $0.hash == hash }) {
            guard t >= up[k].t else { return }
            // A stale marker means the target is gone (removed from discovery), not down.
            if StaleNaN.isStale(v) { up.remove(at: k); return }
            up[k].t = t
            up[k].up = v == 1
        } else if !StaleNaN.isStale(v) {
            up.append(UpTarget(hash: hash, t: t, up: v == 1))
        }
    }

    /// Targets whose `up` is recent relative to the cluster's newest sample; a target that
    /// vanished without a stale marker stops counting after a while.
    func targetCounts(options: FleetOptions) -> (up: Int, down: Int) {
        if up.isEmpty { return (Int(restoredUp), Int(restoredDown)) }
        let horizon = lastSeenMs &- max(options.downAfterMs, 300_000)
        var u = 0, d = 0
        for x in up where x.t >= horizon { if x.up { u += 1 } else { d += 1 } }
        return (u, d)
    }
}

struct State {
    var entries: [Entry] = []
    var index: [String: Int32] = [:]
    /// `FleetRegistry.registersPerCluster` bytes per entry, HyperLogLog of series hashes.
    var registers: [UInt8] = []
    var dirtyList: [Int32] = []
    var version: UInt64 = 0
    /// Entry indexes sorted by name; entries are never removed, so it stays valid while the count is unchanged.
    private var sortedByName: [Int32] = []

    mutating func nameOrder() -> [Int32] {
        if sortedByName.count != entries.count {
            var o = (0..<Int32(entries.count)).map { $0 }
            o.sort { entries[Int($0)].name < entries[Int($1)].name }
            sortedByName = o
        }
        return sortedByName
    }

    mutating func entryIndex(_ name: String) -> Int {
        if let i = index[name] { return Int(i) }
        let i = entries.count
        entries.append(Entry(name: name))
        registers.append(contentsOf: repeatElement(0, count: FleetRegistry.registersPerCluster))
        index[name] = Int32(i)
        return i
    }

    mutating func markDirty(_ i: Int) {
        if !entries[i].dirty {
            entries[i].dirty = true
            dirtyList.append(Int32(i))
        }
    }

    mutating func apply(_ name: String, region: String?, site: String?, samples: Int, minT: Int64, maxT: Int64, now: Int64) -> Int {
        let i = entryIndex(name)
        var e = entries[i]
        var persist = !e.persisted
        if let region, region != e.region { e.region = region; persist = true }
        if let site, site != e.site { e.site = site; persist = true }
        if minT < e.firstSeenMs { e.firstSeenMs = minT; persist = true }
        // A cluster whose clock runs ahead must not look alive forever.
        let last = min(maxT, now)
        if last > e.lastSeenMs { e.lastSeenMs = last }
        if e.lastSeenMs != .min && e.firstSeenMs > e.lastSeenMs { e.firstSeenMs = e.lastSeenMs }
        e.samplesTotal += Int64(samples)
        e.lastReceivedMs = max(e.lastReceivedMs, now)
        let checkpoint = FleetRegistry.catchUpCheckpointMs
        if e.gapCur.atMs == .min || now - e.gapCur.atMs >= checkpoint {
            // A checkpoint from before a silence would average the silence into the rate.
            let recent = e.gapCur.atMs != .min && now - e.gapCur.atMs <= 3 * checkpoint
            e.gapRef = recent ? e.gapCur : GapCheckpoint()
            e.gapCur = GapCheckpoint(atMs: now, newestMs: e.lastSeenMs)
        }
        if e.rateStartMs == 0 { e.rateStartMs = now; e.rateAtMs = now }
        let dt = Double(max(0, now - e.rateAtMs))
        e.rateAcc = e.rateAcc * exp(-dt / FleetRegistry.rateTauMs) + Double(samples)
        e.rateAtMs = max(e.rateAtMs, now)
        let window = now / FleetRegistry.seriesWindowMs
        if e.seriesWindow != window {
            e.previousSeries = e.seriesWindow == window - 1 ? Int32(Self.estimate(e)) : 0
            let base = i * FleetRegistry.registersPerCluster
            for k in base..<(base + FleetRegistry.registersPerCluster) { registers[k] = 0 }
            e.hllSum = Double(FleetRegistry.registersPerCluster)
            e.hllZeros = Int32(FleetRegistry.registersPerCluster)
            e.seriesWindow = window
        }
        if e.persistedLastSeenMs == .min || e.lastSeenMs - e.persistedLastSeenMs >= FleetRegistry.persistLastSeenEveryMs {
            persist = true
        }
        entries[i] = e
        if persist { markDirty(i) }
        return i
    }

    mutating func observeSeries(_ i: Int, hash: UInt64) {
        let m = UInt64(FleetRegistry.registersPerCluster)
        let reg = Int(hash % m)
        let rest = hash / m
        let rank = UInt8(min(rest.trailingZeroBitCount + 1, 57))
        let k = i * FleetRegistry.registersPerCluster + reg
        let old = registers[k]
        if old < rank {
            registers[k] = rank
            entries[i].hllSum += Self.inversePower(rank) - Self.inversePower(old)
            if old == 0 { entries[i].hllZeros -= 1 }
        }
    }

    @inline(__always) static func inversePower(_ r: UInt8) -> Double { 1 / Double(UInt64(1) << UInt64(r)) }

    static func estimate(_ e: Entry) -> Int {
        let md = Double(FleetRegistry.registersPerCluster)
        let alpha = 0.7213 / (1 + 1.079 / md)
        var est = alpha * md * md / e.hllSum
        if est <= 2.5 * md && e.hllZeros > 0 { est = md * log(md / Double(e.hllZeros)) }
        return Int(est.rounded())
    }

    static func seriesCount(_ e: Entry, now: Int64) -> Int {
        let window = now / FleetRegistry.seriesWindowMs
        if e.seriesWindow == window { return max(Int(e.previousSeries), Self.estimate(e)) }
        if e.seriesWindow == window - 1 { return Self.estimate(e) }
        return 0
    }

    func view(_ i: Int, now: Int64, options: FleetOptions) -> FleetCluster {
        let e = entries[i]
        let (up, down) = e.targetCounts(options: options)
        let seen = e.lastSeenMs != Int64.min
        var rate = 0.0
        if e.rateStartMs != 0 {
            let tau = FleetRegistry.rateTauMs
            let age = Double(max(0, now - e.rateAtMs))
            let span = max(Double(now - e.rateStartMs), 60_000)
            rate = e.rateAcc * exp(-age / tau) / (tau / 1000 * (1 - exp(-span / tau)))
        }
        let clockAhead = e.clockAheadSeenMs != .min && now &- e.clockAheadSeenMs < FleetRegistry.clockAheadShownForMs
        let health = Self.health(lastSeenMs: seen ? e.lastSeenMs : nil,
                                 lastReceivedMs: e.lastReceivedMs == .min ? nil : e.lastReceivedMs,
                                 up: up, down: down, failedPods: e.pods?.failed ?? 0,
                                 alerts: Int(e.alertsFiring) + (clockAhead ? 1 : 0), now: now, options: options)
        return FleetCluster(
            name: e.name, nameLower: e.nameLower, region: e.region, site: e.site,
            health: health,
            firstSeenMs: seen ? e.firstSeenMs : nil, lastSeenMs: seen ? e.lastSeenMs : nil,
            samplesPerSecond: rate, series: Self.seriesCount(e, now: now), samplesTotal: e.samplesTotal,
            cpuPercent: e.cpu, memoryPercent: e.memory, diskPercent: e.disk, pods: e.pods,
            targetsUp: up, targetsDown: down, alertsFiring: Int(e.alertsFiring),
            clockAheadMs: clockAhead ? e.clockAheadMs : nil,
            behindMs: health == .catchingUp ? now - e.lastSeenMs : nil,
            catchUpRate: health == .catchingUp ? Self.catchUpRate(e) : nil)
    }

    /// Seconds of gap closed per second of wall time, from the older checkpoint to the last
    /// request: (newest sample advanced − wall time passed) / wall time passed. 0 while the
    /// backlog arrives exactly as fast as time passes, negative while it falls further behind.
    static func catchUpRate(_ e: Entry) -> Double? {
        let ref = e.gapRef
        guard ref.atMs != .min, ref.newestMs != .min, e.lastReceivedMs > ref.atMs else { return nil }
        let wall = Double(e.lastReceivedMs - ref.atMs)
        return Double(e.lastSeenMs - ref.newestMs) / wall - 1
    }

    static func health(lastSeenMs: Int64?, lastReceivedMs: Int64? = nil, up: Int, down: Int, failedPods: Int, alerts: Int,
                       now: Int64, options: FleetOptions) -> FleetHealth {
        guard let last = lastSeenMs else { return .stale }
        let age = now - last
        // Old newest sample, but requests arriving: delivering a backlog, not gone.
        if age > options.downAfterMs, let received = lastReceivedMs, now - received <= options.downAfterMs { return .catchingUp }
        if age > options.staleAfterMs { return .stale }
        if age > options.downAfterMs { return .down }
        if down > 0 && up == 0 { return .down }
        if down > 0 || failedPods > 0 || alerts > 0 { return .degraded }
        return .healthy
    }

    mutating func takeDirtyRows(options: FleetOptions, everything: Bool) -> [FleetRow] {
        if everything {
            // Key numbers are never marked dirty on their own; the final flush takes them all.
            for i in entries.indices { markDirty(i) }
        }
        var rows: [FleetRow] = []
        rows.reserveCapacity(dirtyList.count)
        for i32 in dirtyList {
            let i = Int(i32)
            entries[i].dirty = false
            entries[i].persisted = true
            entries[i].persistedLastSeenMs = entries[i].lastSeenMs
            let e = entries[i]
            let (u, d) = e.targetCounts(options: options)
            rows.append(FleetRow(name: e.name, region: e.region, site: e.site,
                                 firstSeenMs: e.lastSeenMs == .min ? nil : e.firstSeenMs,
                                 lastSeenMs: e.lastSeenMs == .min ? nil : e.lastSeenMs,
                                 samplesTotal: e.samplesTotal, targetsUp: u, targetsDown: d,
                                 cpu: e.cpu, memory: e.memory, disk: e.disk, pods: e.pods))
        }
        dirtyList.removeAll(keepingCapacity: true)
        return rows
    }

    mutating func restore(_ r: FleetRow) {
        let i = entryIndex(r.name)
        var e = entries[i]
        e.region = r.region
        e.site = r.site
        if let f = r.firstSeenMs, let l = r.lastSeenMs { e.firstSeenMs = f; e.lastSeenMs = l }
        e.samplesTotal = r.samplesTotal
        e.restoredUp = Int32(clamping: r.targetsUp)
        e.restoredDown = Int32(clamping: r.targetsDown)
        e.cpu = r.cpu
        e.memory = r.memory
        e.disk = r.disk
        e.pods = r.pods
        e.persisted = true
        e.persistedLastSeenMs = e.lastSeenMs
        entries[i] = e
    }
}
