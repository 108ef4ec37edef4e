/// The registry's state behind its one lock: every cluster's entry, found by name.
struct State {
    var entries: [Entry] = []
    var index: [String: Int32] = [:]
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
        index[name] = Int32(i)
        return i
    }

    /// One cluster's share of an ingest batch.
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
        e.rate.add(samples, now: now)
        e.series.advance(now: now)
        if e.persistedLastSeenMs == .min || e.lastSeenMs - e.persistedLastSeenMs >= FleetRegistry.persistLastSeenEveryMs {
            persist = true
        }
        entries[i] = e
        if persist { markDirty(i) }
        return i
    }

    mutating func observeSeries(_ i: Int, hash: UInt64) {
        entries[i].series.insert(hash: hash)
    }

    func view(_ i: Int, now: Int64, options: FleetOptions) -> FleetCluster {
        let e = entries[i]
        let (up, down) = e.targetCounts(options: options)
        let seen = e.lastSeenMs != Int64.min
        let clockAhead = e.clockAheadSeenMs != .min && now &- e.clockAheadSeenMs < FleetHealthPolicy.clockAheadShownForMs
        let health = FleetHealthPolicy.health(
            lastSeenMs: seen ? e.lastSeenMs : nil,
            lastReceivedMs: e.lastReceivedMs == .min ? nil : e.lastReceivedMs,
            up: up, down: down, failedPods: e.pods?.failed ?? 0,
            alerts: Int(e.alertsFiring) + (clockAhead ? 1 : 0), now: now, options: options)
        return FleetCluster(
            name: e.name, nameLower: e.nameLower, region: e.region, site: e.site,
            health: health,
            firstSeenMs: seen ? e.firstSeenMs : nil, lastSeenMs: seen ? e.lastSeenMs : nil,
            samplesPerSecond: e.rate.perSecond(now: now), series: e.series.count(now: now), samplesTotal: e.samplesTotal,
            cpuPercent: e.cpu, memoryPercent: e.memory, diskPercent: e.disk, pods: e.pods,
            targetsUp: up, targetsDown: down, alertsFiring: Int(e.alertsFiring),
            clockAheadMs: clockAhead ? e.clockAheadMs : nil,
            behindMs: health == .catchingUp ? now - e.lastSeenMs : nil,
            catchUpRate: health == .catchingUp
                ? FleetHealthPolicy.catchUpRate(reference: e.gapRef, lastReceivedMs: e.lastReceivedMs, lastSeenMs: e.lastSeenMs)
                : nil)
    }
}
