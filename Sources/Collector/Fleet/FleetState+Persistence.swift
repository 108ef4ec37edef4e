// What of the registry's state reaches the state store (FleetStore), and how it comes back.
extension State {
    mutating func markDirty(_ i: Int) {
        if !entries[i].dirty {
            entries[i].dirty = true
            dirtyList.append(Int32(i))
        }
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
            let added = entries[i].samplesTotal - entries[i].flushedSamples
            entries[i].flushedSamples = entries[i].samplesTotal
            let e = entries[i]
            let (u, d) = e.targetCounts(options: options)
            rows.append(FleetRow(name: e.name, region: e.region, site: e.site,
                                 firstSeenMs: e.lastSeenMs == .min ? nil : e.firstSeenMs,
                                 lastSeenMs: e.lastSeenMs == .min ? nil : e.lastSeenMs,
                                 samplesTotal: added, targetsUp: u, targetsDown: d,
                                 cpu: e.cpu, memory: e.memory, disk: e.disk, pods: e.pods))
        }
        dirtyList.removeAll(keepingCapacity: true)
        return rows
    }

    mutating func restore(_ r: FleetRow) {
        let i = entryIndex(r.name)
        var e = entries[i]
        e.adoptShown(r)
        if let f = r.firstSeenMs, let l = r.lastSeenMs { e.firstSeenMs = f; e.lastSeenMs = l }
        e.samplesTotal = r.samplesTotal
        e.flushedSamples = r.samplesTotal
        e.persisted = true
        e.persistedLastSeenMs = e.lastSeenMs
        entries[i] = e
    }
}

extension State {
    /// A save failed: its rows are dirty again and their samples not yet stored.
    mutating func unsave(_ rows: [FleetRow]) {
        for r in rows {
            guard let i = index[r.name].map(Int.init) else { continue }
            entries[i].flushedSamples -= r.samplesTotal
            markDirty(i)
        }
    }

    /// Another collector's view of a cluster (shared PostgreSQL), merged into this one's: the
    /// earliest first-seen and latest last-seen win; totals are the stored one plus what this
    /// process has not saved yet; targets, region, site and key numbers come from the row when
    /// it was heard of later than here.
    mutating func merge(_ r: FleetRow) {
        guard let at = index[r.name] else {
            restore(r)
            return
        }
        let i = Int(at)
        var e = entries[i]
        let unsaved = e.samplesTotal - e.flushedSamples
        e.samplesTotal = r.samplesTotal + unsaved
        e.flushedSamples = r.samplesTotal
        if let f = r.firstSeenMs, f < e.firstSeenMs { e.firstSeenMs = f }
        if let l = r.lastSeenMs, l > e.lastSeenMs {
            e.lastSeenMs = l
            // This process's `up` samples are older than what the other collector saw last.
            e.up = []
            e.adoptShown(r)
        }
        if let l = r.lastSeenMs { e.persistedLastSeenMs = max(e.persistedLastSeenMs, l) }
        e.persisted = true
        entries[i] = e
    }
}

extension Entry {
    /// What a row says of a cluster besides its times and totals: shown as stored until
    /// this process hears newer samples.
    mutating func adoptShown(_ r: FleetRow) {
        region = r.region
        site = r.site
        restoredUp = Int32(clamping: r.targetsUp)
        restoredDown = Int32(clamping: r.targetsDown)
        cpu = r.cpu
        memory = r.memory
        disk = r.disk
        pods = r.pods
    }
}
