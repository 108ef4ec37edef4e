import Foundation
import PromQL
import Storage

/// `/api/v1/fleet/...`: the fleet as the dashboard reads it. Every answer is computed from
/// one in-memory snapshot narrowed to the caller's scope; nothing here touches SQLite.
struct FleetAPI: Sendable {
    let registry: FleetRegistry

    static let sortKeys = ["health", "name", "region", "last_seen", "cpu", "memory", "disk", "samples_per_second", "series"]
    static let maxLimit = 1000
    static let defaultLimit = 100

    // MARK: endpoints (bound to their routes in FleetRoutes.swift)

    /// `/api/v1/fleet/summary`: counts by health, overall and per region.
    func summary(scope: Scope) -> APIResponse {
        let snap = registry.snapshot()
        var total = 0
        var byHealth = [Int](repeating: 0, count: FleetHealth.allCases.count)
        var regions: [String: [Int]] = [:]
        for c in snap.clusters where Self.inScope(c, scope) {
            total += 1
            let h = Self.healthIndex(c.health)
            byHealth[h] += 1
            regions[c.region, default: [Int](repeating: 0, count: FleetHealth.allCases.count)][h] += 1
        }
        return .success { w in
            w.raw("{\"total\":")
            w.int(Int64(total))
            w.raw(",\"by_health\":")
            Self.healthCounts(byHealth, &w)
            w.raw(",\"regions\":[")
            for (k, (region, counts)) in regions.sorted(by: { $0.key < $1.key }).enumerated() {
                if k > 0 { w.raw(",") }
                w.raw("{\"region\":")
                w.string(region)
                w.raw(",\"total\":")
                w.int(Int64(counts.reduce(0, +)))
                for (i, h) in FleetHealth.allCases.enumerated() {
                    w.raw(",\"\(h.rawValue)\":")
                    w.int(Int64(counts[i]))
                }
                w.raw("}")
            }
            w.raw("],\"generated_at\":")
            w.timestamp(snap.generatedAtMs)
            w.raw("}")
        }
    }

    /// `/api/v1/fleet/grid`: one health character per cluster, per region (the heat map).
    func grid(scope: Scope) -> APIResponse {
        let snap = registry.snapshot()
        // The snapshot is in name order, so each region's string is too.
        var rows: [String: [UInt8]] = [:]
        for c in snap.clusters where Self.inScope(c, scope) {
            rows[c.region, default: []].append(c.health.gridCharacter.asciiValue!)
        }
        return .success { w in
            w.raw("{\"regions\":[")
            for (k, (region, chars)) in rows.sorted(by: { $0.key < $1.key }).enumerated() {
                if k > 0 { w.raw(",") }
                w.raw("{\"region\":")
                w.string(region)
                w.raw(",\"health\":\"")
                w.bytes.append(contentsOf: chars)
                w.raw("\"}")
            }
            w.raw("]}")
        }
    }

    /// `/api/v1/fleet/clusters`: one filtered, sorted page of clusters.
    func clusters(_ p: Params, scope: Scope) -> APIResponse {
        do { return try page(p, scope) } catch { return .error(error) }
    }

    private func page(_ p: Params, _ scope: Scope) throws(APIError) -> APIResponse {
        let q = try FleetQuery(p)
        let snap = registry.snapshot()
        let (total, page) = q.run(snap.clusters, scope: scope)
        return .success { w in
            w.raw("{\"total\":")
            w.int(Int64(total))
            w.raw(",\"offset\":")
            w.int(Int64(q.offset))
            w.raw(",\"limit\":")
            w.int(Int64(q.limit))
            w.raw(",\"clusters\":[")
            for (k, c) in page.enumerated() {
                if k > 0 { w.raw(",") }
                Self.write(c, &w)
            }
            w.raw("]}")
        }
    }

    /// `/api/v1/fleet/clusters/<name>`: one cluster (`name` already percent-decoded).
    func cluster(_ name: String, scope: Scope) -> APIResponse {
        guard let c = registry.cluster(name), Self.inScope(c, scope) else {
            // Out of scope looks exactly like unknown: a viewer learns nothing about other clusters.
            return .error(APIError(type: "not_found", message: "unknown cluster \"\(name)\"", status: 404))
        }
        return .success { w in Self.write(c, &w) }
    }

    // MARK: helpers

    static func inScope(_ c: FleetCluster, _ scope: Scope) -> Bool {
        scope.matches { c.label($0) }
    }

    /// Position in `FleetHealth.allCases`, the order of every count list.
    static func healthIndex(_ h: FleetHealth) -> Int {
        switch h {
        case .healthy: 0
        case .degraded: 1
        case .catchingUp: 2
        case .down: 3
        case .stale: 4
        }
    }

    static func healthCounts(_ counts: [Int], _ w: inout JSONWriter) {
        w.raw("{")
        for (i, h) in FleetHealth.allCases.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("\"\(h.rawValue)\":")
            w.int(Int64(counts[i]))
        }
        w.raw("}")
    }

    static func number(_ v: Double?, _ w: inout JSONWriter, digits: Double = 100) {
        guard let v, v.isFinite else { w.raw("null"); return }
        w.raw(formatPromValue((v * digits).rounded() / digits))
    }

    static func write(_ c: FleetCluster, _ w: inout JSONWriter) {
        w.raw("{\"cluster\":")
        w.string(c.name)
        w.raw(",\"region\":")
        w.string(c.region)
        w.raw(",\"labels\":{")
        var first = true
        for (k, v) in [("region", c.region), ("site", c.site)] where !v.isEmpty {
            if !first { w.raw(",") }
            first = false
            w.string(k)
            w.raw(":")
            w.string(v)
        }
        w.raw("},\"health\":")
        w.string(c.health.rawValue)
        w.raw(",\"first_seen\":")
        if let t = c.firstSeenMs { w.timestamp(t) } else { w.raw("null") }
        w.raw(",\"last_seen\":")
        if let t = c.lastSeenMs { w.timestamp(t) } else { w.raw("null") }
        w.raw(",\"samples_per_second\":")
        number(c.samplesPerSecond, &w)
        w.raw(",\"series\":")
        w.int(Int64(c.series))
        w.raw(",\"cpu_percent\":")
        number(c.cpuPercent, &w, digits: 10)
        w.raw(",\"memory_percent\":")
        number(c.memoryPercent, &w, digits: 10)
        w.raw(",\"disk_percent\":")
        number(c.diskPercent, &w, digits: 10)
        // Always an object so pages can read `pods.running` without a null check; unknown counts are null.
        w.raw(",\"pods\":{\"running\":")
        if let p = c.pods { w.int(Int64(p.running)) } else { w.raw("null") }
        w.raw(",\"pending\":")
        if let p = c.pods { w.int(Int64(p.pending)) } else { w.raw("null") }
        w.raw(",\"failed\":")
        if let p = c.pods { w.int(Int64(p.failed)) } else { w.raw("null") }
        w.raw("},\"targets_up\":")
        w.int(Int64(c.targetsUp))
        w.raw(",\"targets_down\":")
        w.int(Int64(c.targetsDown))
        w.raw(",\"alerts_firing\":")
        w.int(Int64(c.alertsFiring))
        w.raw(",\"clock_ahead_seconds\":")
        if let ms = c.clockAheadMs { w.int(ms / 1000) } else { w.raw("null") }
        // Set while catching up: seconds the newest sample is behind, and the seconds of that
        // gap closed per second (the backlog's speed minus one; null until measured).
        w.raw(",\"behind_seconds\":")
        if let ms = c.behindMs { w.int(ms / 1000) } else { w.raw("null") }
        w.raw(",\"catch_up_rate\":")
        number(c.catchUpRate, &w)
        w.raw("}")
    }
}

/// The filters, order and page of `/api/v1/fleet/clusters`.
struct FleetQuery: Sendable {
    var search: [UInt8] = []
    var health: Set<FleetHealth>?
    /// Exact region names; `""` (written `region=""`) selects clusters without a region.
    var regions: Set<String>?
    var sort = "health"
    var descending = false
    var limit = FleetAPI.defaultLimit
    var offset = 0

    init() {}

    init(_ p: Params) throws(APIError) {
        if let s = p["search"] { search = Array(s.lowercased().utf8) }
        if let h = p["health"], !h.isEmpty {
            var set = Set<FleetHealth>()
            for part in h.split(separator: ",") {
                let name = part.trimmingCharacters(in: .whitespaces)
                guard let v = FleetHealth(rawValue: name) else {
                    throw .badData("invalid parameter \"health\": unknown health \"\(name)\"; use a comma-separated list of \(FleetHealth.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(v)
            }
            health = set
        }
        if let r = p["region"], !r.isEmpty {
            regions = Set(r.split(separator: ",", omittingEmptySubsequences: false).map { $0 == "\"\"" ? "" : String($0) })
        }
        if let s = p["sort"], !s.isEmpty {
            guard FleetAPI.sortKeys.contains(s) else {
                throw .badData("invalid parameter \"sort\": unknown sort key \"\(s)\"; use one of \(FleetAPI.sortKeys.joined(separator: ", "))")
            }
            sort = s
        }
        if let o = p["order"], !o.isEmpty {
            switch o {
            case "asc": descending = false
            case "desc": descending = true
            default: throw .badData("invalid parameter \"order\": \"\(o)\"; use asc or desc")
            }
        }
        if let l = p["limit"], !l.isEmpty {
            guard let n = Int(l), n >= 1, n <= FleetAPI.maxLimit else {
                throw .badData("invalid parameter \"limit\": \"\(l)\"; use a whole number from 1 to \(FleetAPI.maxLimit)")
            }
            limit = n
        }
        if let o = p["offset"], !o.isEmpty {
            guard let n = Int(o), n >= 0 else {
                throw .badData("invalid parameter \"offset\": \"\(o)\"; use a whole number from 0")
            }
            offset = n
        }
    }

    func matches(_ c: FleetCluster, scope: Scope) -> Bool {
        if let health, !health.contains(c.health) { return false }
        if let regions, !regions.contains(c.region) { return false }
        if !search.isEmpty && !Self.contains(c.nameLower, search) { return false }
        return FleetAPI.inScope(c, scope)
    }

    /// Matching count and the requested page. `clusters` must be in name order: it is the tie-break.
    func run(_ clusters: [FleetCluster], scope: Scope) -> (Int, [FleetCluster]) {
        var idx: [Int32] = []
        idx.reserveCapacity(clusters.count)
        for (i, c) in clusters.enumerated() where matches(c, scope: scope) { idx.append(Int32(i)) }
        let total = idx.count
        if offset >= total { return (total, []) }
        switch sort {
        case "name": if descending { idx.reverse() }
        case "health": idx = Self.bucketed(idx, buckets: FleetHealth.allCases.count, descending: descending) { clusters[Int($0)].health.severityRank }
        case "region":
            // Few distinct regions: group (keeping name order inside each), then order the groups.
            var groups: [String: [Int32]] = [:]
            for i in idx { groups[clusters[Int(i)].region, default: []].append(i) }
            let keys = groups.keys.sorted()
            idx = (descending ? keys.reversed() : keys).flatMap { groups[$0]! }
        case "last_seen": idx = Self.byNumber(idx, descending, scale: 1) { clusters[Int($0)].lastSeenMs.map(Double.init) }
        case "cpu": idx = Self.byNumber(idx, descending, scale: 1000) { clusters[Int($0)].cpuPercent }
        case "memory": idx = Self.byNumber(idx, descending, scale: 1000) { clusters[Int($0)].memoryPercent }
        case "disk": idx = Self.byNumber(idx, descending, scale: 1000) { clusters[Int($0)].diskPercent }
        case "samples_per_second": idx = Self.byNumber(idx, descending, scale: 1000) { clusters[Int($0)].samplesPerSecond }
        default: idx = Self.byNumber(idx, descending, scale: 1) { Double(clusters[Int($0)].series) }
        }
        // offset < total here, so total - offset cannot overflow where offset + limit could.
        let end = offset + min(limit, total - offset)
        return (total, idx[offset..<end].map { clusters[Int($0)] })
    }

    /// Stable bucket sort on a small integer key: name order (the incoming order) survives inside each bucket.
    static func bucketed(_ idx: [Int32], buckets: Int, descending: Bool, key: (Int32) -> Int) -> [Int32] {
        var b = [[Int32]](repeating: [], count: buckets)
        for i in idx { b[key(i)].append(i) }
        return (descending ? b.reversed() : b).flatMap { $0 }
    }

    /// Sorts by a number; ties keep name order, missing (and non-finite) values go last in
    /// either direction. Keys are quantized by `scale` (finer than anything shown) and packed
    /// with the name rank into one UInt64, so the sort compares plain integers.
    static func byNumber(_ idx: [Int32], _ descending: Bool, scale: Double, key: (Int32) -> Double?) -> [Int32] {
        var keys: [Int64] = []
        var present: [Int32] = []
        var missing: [Int32] = []
        keys.reserveCapacity(idx.count)
        present.reserveCapacity(idx.count)
        var lo = Int64.max, hi = Int64.min
        for i in idx {
            guard let v = key(i), v.isFinite, Swift.abs(v * scale) < 1e15 else { missing.append(i); continue }
            let k = Int64((v * scale).rounded())
            keys.append(k)
            present.append(i)
            lo = Swift.min(lo, k)
            hi = Swift.max(hi, k)
        }
        let maxRank = Int64(idx.max() ?? 0)
        let rankBits = Swift.max(1, 64 - maxRank.leadingZeroBitCount)
        if present.isEmpty { return missing }
        if hi - lo < (Int64(1) << (63 - rankBits)) {
            var packed: [UInt64] = []
            packed.reserveCapacity(present.count)
            for (k, i) in zip(keys, present) {
                let rel = UInt64(descending ? hi - k : k - lo)
                packed.append(rel << UInt64(rankBits) | UInt64(i))
            }
            packed.sort()
            let mask = (UInt64(1) << UInt64(rankBits)) - 1
            return packed.map { Int32(truncatingIfNeeded: $0 & mask) } + missing
        }
        var keyed: [(Int64, Int32)] = zip(keys, present).map { (descending ? -$0 : $0, $1) }
        keyed.sort { a, b in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        return keyed.map(\.1) + missing
    }

    static func contains(_ haystack: String, _ needle: [UInt8]) -> Bool {
        var h = haystack
        return h.withUTF8 { hb in
            let n = needle.count
            if n > hb.count { return false }
            var i = 0
            while i + n <= hb.count {
                var k = 0
                while k < n && hb[i + k] == needle[k] { k += 1 }
                if k == n { return true }
                i += 1
            }
            return false
        }
    }
}
