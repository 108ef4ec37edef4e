import Storage

/// One receive time and the newest sample time at that moment, for the catch-up rate.
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

/// Everything the registry keeps of one cluster.
struct Entry {
    var name: String
    var nameLower: String
    var region = ""
    var site = ""
    var firstSeenMs = Int64.max
    var lastSeenMs = Int64.min
    var samplesTotal: Int64 = 0
    /// The part of `samplesTotal` the state store holds (restored, saved, or added by other
    /// collectors): a save adds only the rest.
    var flushedSamples: Int64 = 0
    /// Samples per second since this process first heard of the cluster.
    var rate = DecayedRate()
    /// Active series: distinct series hashes per window.
    var series = WindowedDistinctCount()
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
