import GRDB

/// One cluster as persisted in `fleet.sqlite`.
struct FleetRow: Sendable, Equatable {
    var name: String
    var region: String
    var site: String
    var firstSeenMs: Int64?
    var lastSeenMs: Int64?
    var samplesTotal: Int64
    var targetsUp: Int
    var targetsDown: Int
    var cpu: Double?
    var memory: Double?
    var disk: Double?
    var pods: PodCounts?
}

/// The fleet's memory across restarts. Written in batches by `FleetRegistry.flush`, read
/// once on start; requests never touch it.
struct FleetStore: Sendable {
    private let db: DatabaseQueue

    init(path: String) throws {
        var config = Configuration()
        config.label = "fleet"
        try PrivateFiles.prepareDatabase(path)
        // A flush must wait out a lock (another process reading the file, a checkpoint) rather
        // than fail and leave rows for the next flush.
        config.busyMode = .timeout(10)
        db = try DatabaseQueue(path: path, configuration: config)
        // WAL: a flush of many rows does not rewrite the whole file through a rollback journal.
        _ = try db.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode=WAL") }
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
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
                ) WITHOUT ROWID;
                """)
        }
        try m.migrate(db)
    }

    func save(_ rows: [FleetRow]) throws {
        try db.write { db in
            let st = try db.cachedStatement(sql: """
                INSERT INTO clusters (name, region, site, first_seen_ms, last_seen_ms, samples_total, targets_up, targets_down,
                                      cpu_percent, memory_percent, disk_percent, pods_running, pods_pending, pods_failed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET region = excluded.region, site = excluded.site,
                    first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms,
                    samples_total = excluded.samples_total, targets_up = excluded.targets_up, targets_down = excluded.targets_down,
                    cpu_percent = excluded.cpu_percent, memory_percent = excluded.memory_percent, disk_percent = excluded.disk_percent,
                    pods_running = excluded.pods_running, pods_pending = excluded.pods_pending, pods_failed = excluded.pods_failed
                """)
            for r in rows {
                try st.execute(arguments: [
                    r.name, r.region, r.site, r.firstSeenMs, r.lastSeenMs, r.samplesTotal, r.targetsUp, r.targetsDown,
                    r.cpu.flatMap { $0.isFinite ? $0 : nil }, r.memory.flatMap { $0.isFinite ? $0 : nil },
                    r.disk.flatMap { $0.isFinite ? $0 : nil },
                    r.pods?.running, r.pods?.pending, r.pods?.failed,
                ])
            }
        }
    }

    func load() throws -> [FleetRow] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM clusters").map { row in
                var pods: PodCounts?
                if let r: Int = row["pods_running"] {
                    pods = PodCounts(running: r, pending: row["pods_pending"] ?? 0, failed: row["pods_failed"] ?? 0)
                }
                return FleetRow(name: row["name"], region: row["region"], site: row["site"],
                                firstSeenMs: row["first_seen_ms"], lastSeenMs: row["last_seen_ms"],
                                samplesTotal: row["samples_total"], targetsUp: row["targets_up"], targetsDown: row["targets_down"],
                                cpu: row["cpu_percent"], memory: row["memory_percent"], disk: row["disk_percent"], pods: pods)
            }
        }
    }
}
