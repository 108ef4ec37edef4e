import Foundation
import Logging
import Storage
import Synchronization
import TSDB

/// Every cluster that ever sent a sample: when it was first and last heard of, how much it
/// sends, its `up` targets and the key numbers the refresher derives, and from those its
/// health. Fed from the ingest hot path (one lock per batch, O(series), nothing allocated
/// per sample); persisted to the state store so a restarted collector still knows the whole
/// fleet, and collectors sharing PostgreSQL know what the others heard (within a flush interval).
/// The registry coordinates: FleetBatch groups a batch, State (FleetState*.swift) keeps the
/// entries, FleetHealthPolicy judges them, FleetStore writes them.
public final class FleetRegistry: Sendable {
    public let options: FleetOptions
    let clock: @Sendable () -> Int64
    private let state: Mutex<State>
    private let store: FleetStore?
    /// Serialises flushes so an older batch of rows can never overwrite a newer one.
    private let flushLock = AsyncLock()
    private let cache = Mutex<(snapshot: FleetSnapshot, version: UInt64)?>(nil)

    /// `store` nil keeps the registry in memory only (tests). Call `load()` before serving.
    init(store: FleetStore?, options: FleetOptions = FleetOptions(),
         clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.options = options
        self.clock = clock
        self.store = store
        state = Mutex(State())
    }

    /// `path` (`fleet.sqlite`) nil keeps the registry in memory only (tests).
    public static func open(path: String?, options: FleetOptions = FleetOptions(),
                            clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) async throws -> FleetRegistry {
        let r = FleetRegistry(store: try await path.asyncMap { try await FleetStore.open(path: $0) }, options: options, clock: clock)
        try await r.load()
        return r
    }

    /// The database clock at the last load: later loads read only rows written since (less a
    /// margin for flushes that were in flight then). nil: the next load reads every row.
    private let loadedAt = Mutex<Int64?>(nil)
    /// Longer than any flush transaction may take (the store gives up after seconds).
    static let reloadOverlapMs: Int64 = 60_000

    /// Reads the stored clusters: every one on start, then what changed since the last load.
    func load() async throws {
        guard let store else { return }
        let since = loadedAt.withLock { $0.map { $0 - Self.reloadOverlapMs } }
        let (rows, now) = try await store.load(since: since)
        loadedAt.withLock { $0 = now }
        state.withLock { st in
            st.version &+= 1
            for row in rows { st.merge(row) }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    // MARK: ingest

    /// Called after a durable append. `cluster` is the ingest token's cluster; without one
    /// (`--no-auth`) every series counts for the cluster in its own `cluster` label.
    public func record(cluster: String?, series: [SeriesSamples]) {
        record(identity: cluster.map { IngestIdentity(cluster: $0) }, series: series)
    }

    /// As `record(cluster:series:)` for an ingest token: region and site come from the
    /// token when it binds them, never from what the cluster sends.
    public func record(identity: IngestIdentity?, series: [SeriesSamples]) {
        guard !series.isEmpty else { return }
        record(FleetBatch(identity: identity, series: series))
    }

    /// As `record(identity:series:)` for a batch as the ingest path appended it (series found
    /// by their label bytes have no `Labels`).
    public func record(identity: IngestIdentity?, series: [AppendSeries], labelBytes: LabelBytes?) {
        guard !series.isEmpty else { return }
        record(FleetBatch(identity: identity, series: series, labelBytes: labelBytes))
    }

    private func record(_ batch: FleetBatch) {
        // No series with samples: nothing was heard from anyone (and a token's cluster must not
        // get an entry without a first sample time).
        guard !batch.observations.isEmpty else { return }
        let now = clock()
        state.withLock { st in
            st.version &+= 1
            var index: [Int] = []
            index.reserveCapacity(batch.groups.count)
            for g in batch.groups {
                index.append(st.apply(g.name, region: g.region, site: g.site, samples: g.samples, minT: g.minT, maxT: g.maxT, now: now))
            }
            for o in batch.observations {
                let i = index[o.slot]
                st.observeSeries(i, hash: o.hash)
                if let v = o.upValue { st.entries[i].observeUp(hash: o.hash, t: o.upT, v: v) }
            }
        }
    }

    /// A cluster sent samples beyond `ingest.max_future`: shown as "clock ahead by …" until
    /// it has sent none for `FleetHealthPolicy.clockAheadShownForMs`. A cluster heard of only
    /// through such samples gets an entry too: it is exactly the one an operator must find.
    public func recordClockAhead(cluster: String, aheadMs: Int64) {
        let now = clock()
        state.withLock { st in
            st.version &+= 1
            let i = st.entryIndex(cluster)
            st.entries[i].clockAheadMs = aheadMs
            st.entries[i].clockAheadSeenMs = now
        }
    }

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
    /// not yet written, as on shutdown); with a shared store (PostgreSQL) then reads what the
    /// other collectors wrote, so every collector shows the same fleet within a flush
    /// interval. Safe to call concurrently.
    /// Returns how many clusters it wrote.
    @discardableResult
    public func flush(everything: Bool = false) async throws -> Int {
        guard let store else { return 0 }
        return try await flushLock.run {
            let rows = state.withLock { st in st.takeDirtyRows(options: options, everything: everything) }
            if !rows.isEmpty {
                do {
                    try await store.save(rows)
                } catch {
                    // Nothing is lost from memory; try those rows again next time.
                    state.withLock { st in st.unsave(rows) }
                    throw error
                }
            }
            if store.shared && !everything { try await load() }
            return rows.count
        }
    }

    public func close() async throws {
        try await flush(everything: true)
    }
}
