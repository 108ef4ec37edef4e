import Foundation

/// Where the collector's shared state lives: users, ingest tokens, the audit log, token
/// last-use and the fleet registry. SQLite files in the data directory by default
/// (SQLiteStateStore), PostgreSQL with `state.postgres` so several collectors behind a load
/// balancer share it (PostgresStateStore).
///
/// The protocol is SQL-level on purpose: every query is written once, in the SQL both
/// databases understand, with `?` placeholders (translated to `$1…` for PostgreSQL). Only
/// migrations differ per dialect, where column types do.
protocol StateStore: Sendable {
    var dialect: StateDialect { get }
    /// For logs and `/-/ready`: the file, or the URL without its password.
    var location: String { get }
    /// Applies the migrations of `set` (e.g. "access", "fleet") not applied yet, in order.
    func migrate(_ set: String, _ migrations: [StateMigration]) async throws
    /// `body` in a read transaction: it sees one consistent state.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T) async throws -> T
    /// `body` in a write transaction: everything it changes commits together, or (when it
    /// throws) nothing does.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T) async throws -> T
    /// One read statement outside an explicit transaction: the hot paths (a token per
    /// remote-write, a user per login) pay one round trip instead of BEGIN, query, COMMIT.
    func query(_ sql: String, _ binds: [any StateBind]) async throws -> [StateRow]
    /// Throws when the store cannot be reached (readiness).
    func ping() async throws
}

enum StateDialect: Sendable, Equatable {
    case sqlite, postgres

    /// The larger of two values: SQLite's scalar `MAX`, PostgreSQL's `GREATEST`.
    var greatest: String { self == .sqlite ? "MAX" : "GREATEST" }
    var least: String { self == .sqlite ? "MIN" : "LEAST" }
    /// The database server's clock in milliseconds since 1970: one clock for every collector
    /// writing to it, whatever their own clocks say.
    var nowMs: String {
        self == .sqlite ? "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)"
                        : "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    }
}

/// One schema step. `id` is what SQLite's existing migration table (GRDB) already records,
/// so data directories created before the state store keep their tables and are not migrated
/// twice. Statements run one by one (PostgreSQL's extended protocol takes one per query).
struct StateMigration: Sendable {
    var id: String
    var sqlite: [String]
    var postgres: [String]

    /// A step whose SQL is the same in both dialects.
    init(_ id: String, _ both: [String]) { self.init(id, sqlite: both, postgres: both) }

    init(_ id: String, sqlite: [String], postgres: [String]) {
        self.id = id
        self.sqlite = sqlite
        self.postgres = postgres
    }
}

/// A connection inside a transaction.
protocol StateConnection: Sendable {
    var dialect: StateDialect { get }
    /// Runs an INSERT, UPDATE or DELETE; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ binds: [any StateBind]) async throws -> Int
    func query(_ sql: String, _ binds: [any StateBind]) async throws -> [StateRow]
}

extension StateStore {
    func queryOne(_ sql: String, _ binds: [any StateBind] = []) async throws -> StateRow? {
        try await query(sql, binds).first
    }
}

extension StateConnection {
    func queryOne(_ sql: String, _ binds: [any StateBind] = []) async throws -> StateRow? {
        try await query(sql, binds).first
    }
}

/// The store cannot be reached (PostgreSQL down, or a lease not granted in time). Callers
/// answer 503 with this message, never "unknown token".
struct StateStoreUnavailable: Error, CustomStringConvertible {
    var description: String
}
