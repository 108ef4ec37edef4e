/// One cluster as persisted in the state store (`fleet.sqlite`, or PostgreSQL's `clusters`).
struct FleetRow: Sendable, Equatable {
    var name: String
    var region: String
    var site: String
    var firstSeenMs: Int64?
    var lastSeenMs: Int64?
    /// Loaded: the stored total. Saved: the samples this process received since its last
    /// save, added to the stored total (several collectors each add what they received).
    var samplesTotal: Int64
    var targetsUp: Int
    var targetsDown: Int
    var cpu: Double?
    var memory: Double?
    var disk: Double?
    var pods: PodCounts?
}

/// The fleet's memory across restarts, and with PostgreSQL across collectors. Written in
/// batches by `FleetRegistry.flush`, read on start (and, when shared, after every flush);
/// requests never touch it.
struct FleetStore: Sendable {
    let store: any StateStore
    /// Other collectors write the same rows (PostgreSQL): the registry reloads after a flush.
    var shared: Bool { store.dialect == .postgres }

    /// The SQLite file (`fleet.sqlite`), migrated.
    static func open(path: String) async throws -> FleetStore {
        let s = FleetStore(store: try SQLiteStateStore(path: path, label: "fleet"))
        try await s.migrate()
        return s
    }

    func migrate() async throws {
        try await store.migrate("fleet", [StateMigration("v1", sqlite: [
            """
            CREATE TABLE clusters (
                name TEXT PRIMARY KEY,
                region TEXT NOT NULL DEFAULT '',
                site TEXT NOT NULL DEFAULT '',
                first_seen_ms INTEGER,
                last_seen_ms INTEGER,
                samples_total INTEGER NOT NULL DEFAULT 0,
                targets_up INTEGER NOT NULL DEFAULT 0,
                targets_down INTEGER NOT NULL DEFAULT 0,
                cpu_percent REAL,
                memory_percent REAL,
                disk_percent REAL,
                pods_running INTEGER,
                pods_pending INTEGER,
                pods_failed INTEGER
            ) WITHOUT ROWID
            """,
        ], postgres: [
            """
            CREATE TABLE clusters (
                name TEXT PRIMARY KEY,
                region TEXT NOT NULL DEFAULT '',
                site TEXT NOT NULL DEFAULT '',
                first_seen_ms BIGINT,
                last_seen_ms BIGINT,
                samples_total BIGINT NOT NULL DEFAULT 0,
                targets_up BIGINT NOT NULL DEFAULT 0,
                targets_down BIGINT NOT NULL DEFAULT 0,
                cpu_percent DOUBLE PRECISION,
                memory_percent DOUBLE PRECISION,
                disk_percent DOUBLE PRECISION,
                pods_running BIGINT,
                pods_pending BIGINT,
                pods_failed BIGINT
            )
            """,
        ]),
        // When a row was last written, by the database's clock: a collector sharing the table
        // reloads only what changed since its last look, not 125,000 rows every flush.
        StateMigration("v2: updated_ms", sqlite: [
            "ALTER TABLE clusters ADD COLUMN updated_ms INTEGER",
            "CREATE INDEX clusters_updated_ms ON clusters(updated_ms)",
        ], postgres: [
            "ALTER TABLE clusters ADD COLUMN updated_ms BIGINT",
            "CREATE INDEX clusters_updated_ms ON clusters(updated_ms)",
        ]),
    ])
    }

    /// Upserts merge with what is stored, so collectors flushing in any order converge: the
    /// earliest first-seen, the latest last-seen, sample totals added, and the rest (region,
    /// site, targets, key numbers) from whichever collector heard the cluster last.
    /// Rows per statement: one statement per row cost a round trip each, 214 rows/s on a local
    /// PostgreSQL (10 minutes for a 125,000-cluster registry); 500 rows × 14 values stay far
    /// below both databases' limits on bound values (SQLite 32,766, PostgreSQL 65,535).
    static let rowsPerStatement = 500

    func save(_ rows: [FleetRow]) async throws {
        try await store.write { db in
            var i = 0
            while i < rows.count {
                let batch = rows[i..<Swift.min(i + Self.rowsPerStatement, rows.count)]
                var binds: [any StateBind] = []
                binds.reserveCapacity(batch.count * 14)
                for r in batch {
                    binds += [r.name, r.region, r.site, r.firstSeenMs, r.lastSeenMs, r.samplesTotal, r.targetsUp, r.targetsDown,
                              r.cpu, r.memory, r.disk, r.pods?.running, r.pods?.pending, r.pods?.failed] as [any StateBind]
                }
                try await db.execute(Self.upsert(db.dialect, rows: batch.count), binds)
                i += batch.count
            }
        }
    }

    /// One upsert of `rows` rows. Names are unique within a save (one row per cluster), as
    /// PostgreSQL requires of a multi-row ON CONFLICT DO UPDATE.
    static func upsert(_ d: StateDialect, rows: Int = 1) -> String {
        // SQLite's MIN/MAX are NULL when either side is; PostgreSQL's LEAST/GREATEST skip NULLs.
        func pick(_ f: String, _ c: String) -> String {
            "CASE WHEN clusters.\(c) IS NULL THEN excluded.\(c) WHEN excluded.\(c) IS NULL THEN clusters.\(c) ELSE \(f)(clusters.\(c), excluded.\(c)) END"
        }
        let newer = "COALESCE(excluded.last_seen_ms, -9000000000000000000) >= COALESCE(clusters.last_seen_ms, -9000000000000000000)"
        let latest = ["region", "site", "targets_up", "targets_down", "cpu_percent", "memory_percent", "disk_percent",
                      "pods_running", "pods_pending", "pods_failed"]
            .map { "\($0) = CASE WHEN \(newer) THEN excluded.\($0) ELSE clusters.\($0) END" }
        return """
            INSERT INTO clusters (name, region, site, first_seen_ms, last_seen_ms, samples_total, targets_up, targets_down,
                                  cpu_percent, memory_percent, disk_percent, pods_running, pods_pending, pods_failed, updated_ms)
            VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \(d.nowMs))", count: rows).joined(separator: ", "))
            ON CONFLICT(name) DO UPDATE SET \(latest.joined(separator: ", ")), updated_ms = excluded.updated_ms,
                first_seen_ms = \(pick(d.least, "first_seen_ms")), last_seen_ms = \(pick(d.greatest, "last_seen_ms")),
                samples_total = clusters.samples_total + excluded.samples_total
            """
    }

    /// Rows written at or after `since` (database clock; nil: every row), and the database's
    /// clock when read, for the next call.
    func load(since: Int64? = nil) async throws -> (rows: [FleetRow], nowMs: Int64) {
        try await store.read { db in
            let now = try await db.queryOne("SELECT \(db.dialect.nowMs) AS now")?.int("now") ?? 0
            let rows = try await db.query("SELECT * FROM clusters" + (since == nil ? "" : " WHERE updated_ms >= ?"),
                                          since.map { [$0] } ?? []).map { row in
                var pods: PodCounts?
                if let r = row.optionalInt("pods_running") {
                    pods = PodCounts(running: Int(r), pending: Int(row.optionalInt("pods_pending") ?? 0),
                                     failed: Int(row.optionalInt("pods_failed") ?? 0))
                }
                return FleetRow(name: try row.string("name"), region: try row.string("region"), site: try row.string("site"),
                                firstSeenMs: row.optionalInt("first_seen_ms"), lastSeenMs: row.optionalInt("last_seen_ms"),
                                samplesTotal: try row.int("samples_total"), targetsUp: Int(try row.int("targets_up")),
                                targetsDown: Int(try row.int("targets_down")),
                                cpu: row.optionalDouble("cpu_percent"), memory: row.optionalDouble("memory_percent"),
                                disk: row.optionalDouble("disk_percent"), pods: pods)
            }
            return (rows, now)
        }
    }
}
