import Foundation
import Logging
import PostgresNIO

/// The state store in PostgreSQL (`state.postgres`): one pool for the process, shared by
/// access control, the audit log and the fleet registry, so any number of collectors behind
/// a load balancer see the same users, tokens and fleet.
final class PostgresStateStore: StateStore {
    /// An operation that cannot get a connection this long fails (503 to the caller) instead
    /// of waiting: the pool keeps reconnecting on its own while PostgreSQL is down.
    let timeout: Duration
    let client: PostgresClient
    let location: String
    private let logger: Logger
    private let runner: Task<Void, Never>
    var dialect: StateDialect { .postgres }

    /// Starts the pool at once: the server needs the store (migrations, the first admin, the
    /// registry's rows) before its service group runs. `shutdown` stops it.
    init(options: PostgresOptions, logger: Logger, timeout: Duration = .seconds(5)) throws {
        self.timeout = timeout
        let client = PostgresClient(configuration: try options.clientConfiguration(), backgroundLogger: logger)
        self.client = client
        self.logger = logger
        location = options.redacted
        runner = Task { await client.run() }
    }

    func shutdown() { runner.cancel() }

    func migrate(_ set: String, _ migrations: [StateMigration]) async throws {
        try await write { conn in
            // Replicas starting together must not apply a step twice: one waits for the other.
            _ = try await conn.query("SELECT pg_advisory_xact_lock(4242013)", [])
            try await conn.execute("CREATE TABLE IF NOT EXISTS state_migrations (id TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)", [])
            let done = Set(try await conn.query("SELECT id FROM state_migrations", []).compactMap { $0.optionalString("id") })
            for step in migrations where !done.contains(set + "/" + step.id) {
                for sql in step.postgres { try await conn.execute(sql, []) }
                try await conn.execute("INSERT INTO state_migrations (id, applied_at) VALUES (?, ?)",
                                       [set + "/" + step.id, Date().timeIntervalSince1970])
            }
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T) async throws -> T {
        try await write(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StateConnection) async throws -> T) async throws -> T {
        let (client, logger) = (client, logger)
        return try await Self.bounded(location, timeout) {
            try await client.withTransaction(logger: logger) { conn in
                try await body(PostgresStateConnection(conn: conn, logger: logger))
            }
        }
    }

    func query(_ sql: String, _ binds: [any StateBind]) async throws -> [StateRow] {
        let (client, logger) = (client, logger)
        return try await Self.bounded(location, timeout) {
            try await client.withConnection { conn in
                try await PostgresStateConnection(conn: conn, logger: logger).query(sql, binds)
            }
        }
    }

    /// Bounded at a second: readiness probes (Kubernetes' default timeout is 1 s) must get an
    /// answer, not wait out the store's timeout.
    func ping() async throws {
        let (client, logger) = (client, logger)
        _ = try await Self.bounded(location, min(timeout, .seconds(1))) {
            try await client.withConnection { conn in
                try await PostgresStateConnection(conn: conn, logger: logger).query("SELECT 1 AS one", [])
            }
        }
    }

    /// Runs `op`, giving up after `timeout` with StateStoreUnavailable; PostgreSQL's own
    /// errors (constraint violations, syntax) pass through as they are.
    static func bounded<T: Sendable>(_ location: String, _ timeout: Duration, _ op: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await op() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            do {
                guard let first = try await group.next(), let value = first else {
                    throw StateStoreUnavailable(description: "PostgreSQL at \(location) not reachable within \(timeout)")
                }
                return value
            } catch let e as PSQLError where e.code == .connectionError || e.code == .serverClosedConnection || e.code == .clientClosedConnection {
                throw StateStoreUnavailable(description: "PostgreSQL at \(location): \(e.code)")
            }
        }
    }
}

/// One leased connection in a transaction.
struct PostgresStateConnection: StateConnection {
    let conn: PostgresConnection
    let logger: Logger
    var dialect: StateDialect { .postgres }

    func execute(_ sql: String, _ binds: [any StateBind]) async throws -> Int {
        let verb = sql.drop(while: { $0.isWhitespace }).prefix(6).uppercased()
        guard ["INSERT", "UPDATE", "DELETE"].contains(verb) else {
            try await conn.query(Self.query(sql, binds), logger: logger).collect()
            return 0
        }
        // The async API does not expose the command tag's row count; a data-modifying CTE
        // counts the rows the statement returns instead.
        let rows = try await conn.query(Self.query("WITH changed AS (\(sql) RETURNING 1) SELECT count(*) FROM changed", binds),
                                        logger: logger).collect()
        return try rows.first.map { try Int($0.decode(Int64.self)) } ?? 0
    }

    func query(_ sql: String, _ binds: [any StateBind]) async throws -> [StateRow] {
        try await conn.query(Self.query(sql, binds), logger: logger).collect().map(Self.row)
    }

    static func query(_ sql: String, _ binds: [any StateBind]) -> PostgresQuery {
        var b = PostgresBindings(capacity: binds.count)
        for v in binds {
            switch v.stateValue {
            case .null: b.appendNull()
            case .int(let x): b.append(x)
            case .double(let x): b.append(x)
            case .text(let x): b.append(x)
            }
        }
        return PostgresQuery(unsafeSQL: placeholders(sql), binds: b)
    }

    /// `?` → `$1`, `$2`, … outside string literals and quoted names.
    static func placeholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    static func row(_ r: PostgresRow) throws -> StateRow {
        var values: [String: StateValue] = [:]
        for cell in r {
            guard cell.bytes != nil else { values[cell.columnName] = .null; continue }
            switch cell.dataType {
            case .int2, .int4, .int8: values[cell.columnName] = .int(try cell.decode(Int64.self))
            case .float4, .float8: values[cell.columnName] = .double(try cell.decode(Double.self))
            case .bool: values[cell.columnName] = .int(try cell.decode(Bool.self) ? 1 : 0)
            default: values[cell.columnName] = .text(try cell.decode(String.self))
            }
        }
        return StateRow(values: values)
    }
}
