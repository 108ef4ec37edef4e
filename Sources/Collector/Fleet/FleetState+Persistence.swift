// What of the registry's state reaches `fleet.sqlite` (FleetStore), and how it comes back.
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
