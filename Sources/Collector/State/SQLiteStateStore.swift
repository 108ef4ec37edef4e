import Foundation
import GRDB

/// The state store in one SQLite file of the data directory (`fleetscope.sqlite`,
/// `fleet.sqlite`), as before PostgreSQL: the same files, tables and GRDB migration ids, so
/// existing data directories open unchanged.
///
/// The collector and the `collector token|user` commands open a file from different
/// processes at once. WAL (DatabasePool) lets their reads go on while one writes, and a busy
/// timeout makes the rare lock wait instead of failing a request.
final class SQLiteStateStore: StateStore {
    /// Long enough for any admin write or fleet flush to commit.
    static let busyTimeout: TimeInterval = 10
    let pool: DatabasePool
    let location: String
    /// The migration set the file was created for ("access" for `fleetscope.sqlite`, "fleet" for `fleet.sqlite`).
    let label: String
    var dialect: StateDialect { .sqlite }

    init(path: String, label: String) throws {
        try PrivateFiles.prepareDatabase(path)
        var config = Configuration()
        config.label = label
        config.busyMode = .timeout(Self.busyTimeout)
        pool = try DatabasePool(path: path, configuration: config)
        location = path
        self.label = label
    }

    func migrate(_ set: String, _ migrations: [StateMigration]) async throws {
        // GRDB's own table (`grdb_migrations`) and ids: files written before the store exist.
        // Their ids are plain ("v1"): kept for the set the file was made for (its label);
        // any other set in the same file gets "set/id", so two sets' "v1" never collide.
        var m = DatabaseMigrator()
        for step in migrations {
            m.registerMigration(set == label ? step.id : set + "/" + step.id) { db in for sql in step.sqlite { try db.execute(sql: sql) } }
        }
        // Two processes opening a new file at once (a collector and a `collector user add`)
        // both see a step as missing; the loser's step fails (its transaction rolls back) and
        // a second look finds everything applied by the winner.
        do {
            try m.migrate(pool)
        } catch {
            try m.migrate(pool)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T) async throws -> T {
        try await transaction(body) { bridge in try await self.pool.read { db in try bridge.serve(db) } }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T) async throws -> T {
        try await transaction(body) { bridge in try await self.pool.write { db in try bridge.serve(db) } }
    }

    func query(_ sql: String, _ binds: [any StateBind]) async throws -> [StateRow] {
        let args = SQLiteBridge.arguments(binds)
        return try await pool.read { db in try Row.fetchAll(db, sql: sql, arguments: args).map(SQLiteBridge.row) }
    }

    func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// GRDB hands its `Database` only to a synchronous closure on its own queue, and checks
    /// that it is used there; the store's bodies are async (PostgreSQL's are). So the GRDB
    /// closure serves the body's statements one by one (SQLiteBridge) until the body ends,
    /// and its outcome decides commit or rollback.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T,
                                          _ open: @escaping @Sendable (SQLiteBridge) async throws -> Void) async throws -> T {
        let bridge = SQLiteBridge()
        let served = Task {
            defer { bridge.close() }
            try await open(bridge)
        }
        let result: Result<T, any Error>
        do { result = .success(try await body(bridge)) } catch { result = .failure(error) }
        bridge.finish(failing: result.failure)
        let outcome = await served.result
        if case .failure(let e) = outcome, result.failure == nil { throw e }
        return try result.get()
    }
}

private extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
