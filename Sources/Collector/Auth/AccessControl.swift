import Crypto
import Foundation
import HummingbirdBcrypt
import PromQL
import Storage

/// Who is calling. Ingest callers are clusters; API and dashboard callers are users whose
/// role carries a label scope that every read is narrowed to.
enum Principal: Sendable {
    case cluster(IngestIdentity)
    case user(name: String, role: Role, scope: Scope)
    /// `--no-auth`: local development and tests.
    case anonymous

    var scope: Scope {
        if case .user(_, _, let scope) = self { return scope }
        return .all
    }
}

enum Role: String, Sendable, CaseIterable {
    /// Everything, including managing users and tokens.
    case admin
    /// Reads within its scope.
    case viewer
}

struct AuthError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Users, roles and per-cluster ingest tokens in the state store (SQLite by default,
/// PostgreSQL with `state.postgres`). Secrets are stored only as hashes: ingest tokens as
/// SHA-256 (they are 160 random bits, so a slow hash adds nothing), passwords with bcrypt.
///
/// Nothing here is cached across requests except LoginGate's user records (at most
/// `LoginPolicy.userRefreshInterval` old): with several collectors on one PostgreSQL, a token
/// revoked or a user deleted through one stops working on the others at once (tokens) or
/// within that interval (users).
final class AccessControl: Sendable {
    static let bcryptCost: UInt8 = 10
    /// Internal, not private: the admin API's queries live beside it (Admin/AccessControl+Admin.swift).
    let store: any StateStore
    /// HTTP Basic logins against the users table.
    let login: LoginGate
    /// When each token last wrote, kept in memory and flushed now and then (TokenUsage.swift).
    let usage = TokenUsage()

    /// `directory`: the LDAP directory for names that are not local users, their groups
    /// mapped to roles by `groupRoles`. Call `migrate()` before the first use.
    init(store: any StateStore, loginPolicy: LoginPolicy = LoginPolicy(), directory: DirectoryLogin? = nil,
         groupRoles: GroupRoles = GroupRoles()) {
        self.store = store
        login = LoginGate(policy: loginPolicy, directory: directory, groupRoles: groupRoles) { name in try await Self.fetchUser(store, name) }
    }

    /// The SQLite file (`fleetscope.sqlite`), migrated.
    static func open(path: String, loginPolicy: LoginPolicy = LoginPolicy(), directory: DirectoryLogin? = nil,
                     groupRoles: GroupRoles = GroupRoles()) async throws -> AccessControl {
        let a = AccessControl(store: try SQLiteStateStore(path: path, label: "access"), loginPolicy: loginPolicy,
                              directory: directory, groupRoles: groupRoles)
        try await a.migrate()
        return a
    }

    func migrate() async throws { try await store.migrate("access", AccessMigrations.all) }

    // MARK: ingest tokens

    /// Creates a token bound to `cluster` and `labels` and returns it; only its hash is kept.
    func createIngestToken(cluster: String, labels: [Label] = [], by actor: AuditActor = .cli) async throws -> String {
        try await createIngestTokenWithID(cluster: cluster, labels: labels, by: actor).token
    }

    /// The same, with the new token's row id (the admin API answers it; revoke takes it).
    func createIngestTokenWithID(cluster: String, labels: [Label], by actor: AuditActor) async throws -> (id: Int64, token: String) {
        guard !cluster.isEmpty else { throw AuthError(message: "cluster name must not be empty") }
        guard !Credentials.hasControlCharacters(cluster) else { throw AuthError(message: "cluster name must not contain control characters") }
        for l in labels { try TokenLabels.check(l) }
        if let dup = Dictionary(grouping: labels, by: \.name).first(where: { $0.value.count > 1 }) {
            throw AuthError(message: "label \(dup.key) given more than once")
        }
        var rng = SystemRandomNumberGenerator()
        let token = "fst_" + (0..<20).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let encoded = try TokenLabels.encode(labels)
        let hash = Self.sha256(token)
        let id = try await store.write { db in
            let row = try await db.queryOne("INSERT INTO ingest_tokens (cluster, token_sha256, created_at, labels) VALUES (?, ?, ?, ?) RETURNING id",
                                            [cluster, hash, Date().timeIntervalSince1970, encoded])
            let id = try row?.int("id") ?? { throw AuthError(message: "the new token has no id") }()
            try await AuditLog.record(db, actor, "token.create", target: "token \(id)",
                                      detail: AuditLog.tokenDetail(cluster: cluster, labels: labels))
            return id
        }
        return (id, token)
    }

    func revokeIngestTokens(cluster: String, by actor: AuditActor = .cli) async throws -> Int {
        try await store.write { db in
            let n = try await db.execute("UPDATE ingest_tokens SET revoked_at = ? WHERE cluster = ? AND revoked_at IS NULL",
                                         [Date().timeIntervalSince1970, cluster])
            if n > 0 { try await AuditLog.record(db, actor, "token.revoke", target: "cluster \(cluster)", detail: "\(n) token(s)") }
            return n
        }
    }

    /// The cluster a bearer token belongs to and the labels bound with it, or nil. Not
    /// cached: `collector token revoke` runs in another process, the admin API in this one or
    /// in another collector on the same PostgreSQL, and a revoked token must stop working at
    /// once. The lookup is one indexed read, small next to a remote-write request. Throws
    /// (503 to the sender, never 401) when the store cannot be reached.
    func cluster(forToken token: String) async throws -> IngestIdentity? {
        let h = Self.sha256(token)
        guard let row = try await store.queryOne("SELECT id, cluster, labels FROM ingest_tokens WHERE token_sha256 = ? AND revoked_at IS NULL", [h])
        else { return nil }
        usage.record(try row.int("id"), store: store)
        return IngestIdentity(cluster: try row.string("cluster"), labels: try TokenLabels.decode(try row.string("labels")))
    }

    // MARK: users

    /// Adds or replaces a user. `scope` is a selector such as `{region="eu"}`, or `all`;
    /// a viewer must be given one (nil), so that seeing everything is a choice.
    func addUser(name: String, password: String, role: Role, scope: String?, by actor: AuditActor = .cli) async throws {
        try Self.checkName(name)
        try Self.checkPassword(password)
        let stored = try Self.storedScope(scope, role: role)
        let hash = Self.hashPassword(password)
        let now = Date().timeIntervalSince1970
        try await store.write { db in
            let existed = try await db.queryOne("SELECT 1 AS one FROM users WHERE name = ?", [name]) != nil
            try await db.execute("""
                INSERT INTO users (name, password_bcrypt, role, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET password_bcrypt = excluded.password_bcrypt, role = excluded.role,
                    scope = excluded.scope, updated_at = excluded.updated_at
                """, [name, hash, role.rawValue, stored, now, now])
            try await AuditLog.record(db, actor, existed ? "user.replace" : "user.create", target: "user \(name)",
                                detail: AuditLog.userDetail(role: role.rawValue, scope: stored))
        }
        // After the commit: this process's login cache must not keep the old row.
        login.forget(name)
    }

    /// What the users table keeps for a `--scope`: "" for everything; a viewer must be given
    /// one (nil), so that seeing everything is a choice.
    static func storedScope(_ scope: String?, role: Role) throws -> String {
        let stored: String
        switch scope?.trimmingCharacters(in: .whitespaces) {
        case nil:
            guard role == .admin else {
                throw AuthError(message: "a viewer needs --scope: a label scope such as '{region=\"eu\"}', or --scope all to let it see everything")
            }
            stored = ""
        case "all"?: stored = ""
        case let s?:
            guard !s.isEmpty else { throw AuthError(message: "empty --scope: give a label scope such as '{region=\"eu\"}', or --scope all") }
            _ = try ScopeParser.parse(s)
            stored = s
        }
        return stored
    }

    /// Sets a user's password; throws when the user does not exist.
    func setPassword(name: String, password: String, by actor: AuditActor = .cli) async throws {
        try Self.checkPassword(password)
        let hash = Self.hashPassword(password)
        let n = try await store.write { db in
            let n = try await db.execute("UPDATE users SET password_bcrypt = ?, updated_at = ? WHERE name = ?",
                                         [hash, Date().timeIntervalSince1970, name])
            if n == 1 { try await AuditLog.record(db, actor, "user.passwd", target: "user \(name)") }
            return n
        }
        guard n == 1 else { throw AuthError(message: "no user \(LogText.quoted(name))") }
        login.forget(name)
    }

    /// Deletes a user; throws when the user does not exist.
    func deleteUser(name: String, by actor: AuditActor = .cli) async throws {
        let n = try await store.write { db in
            let n = try await db.execute("DELETE FROM users WHERE name = ?", [name])
            if n == 1 { try await AuditLog.record(db, actor, "user.delete", target: "user \(name)") }
            return n
        }
        guard n == 1 else { throw AuthError(message: "no user \(LogText.quoted(name))") }
        login.forget(name)
    }

    struct UserInfo: Sendable, Equatable {
        var name: String
        var role: String
        /// "" = everything.
        var scope: String
        var createdAt: Date
        var updatedAt: Date
    }

    func listUsers() async throws -> [UserInfo] {
        // Sorted here, not by the database: PostgreSQL's collation would order names differently.
        try await store.read { db in
            try await db.query("SELECT name, role, scope, created_at, updated_at FROM users", []).map { r in
                let created = try r.double("created_at")
                return UserInfo(name: try r.string("name"), role: try r.string("role"), scope: try r.string("scope"),
                                createdAt: Date(timeIntervalSince1970: created),
                                updatedAt: Date(timeIntervalSince1970: r.optionalDouble("updated_at") ?? created))
            }
        }.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    var userCount: Int {
        get async throws {
            Int(try await store.queryOne("SELECT COUNT(*) AS n FROM users")?.int("n") ?? 0)
        }
    }

    private static func fetchUser(_ store: any StateStore, _ name: String) async throws -> UserRecord? {
        guard let row = try await store.queryOne("SELECT password_bcrypt, role, scope FROM users WHERE name = ?", [name]) else { return nil }
        return UserRecord(bcryptHash: try row.string("password_bcrypt"), role: Role(rawValue: try row.string("role")) ?? .viewer,
                          scope: try ScopeParser.parse(try row.string("scope")))
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, !name.contains(":") else { throw AuthError(message: "user name must be non-empty and contain no ':'") }
        guard !Credentials.hasControlCharacters(name) else {
            throw AuthError(message: "user name must not contain control characters (NUL, newline, tab, ...)")
        }
        guard name.utf8.count <= 128 else { throw AuthError(message: "user name must be at most 128 bytes") }
    }

    static func checkPassword(_ password: String) throws {
        guard password.count >= 8 else { throw AuthError(message: "password must have at least 8 characters") }
        guard !Credentials.hasControlCharacters(password) else {
            throw AuthError(message: "password must not contain control characters (NUL, newline, tab, ...)")
        }
        // bcrypt ignores everything past 72 bytes: two passwords sharing those would both work.
        guard password.utf8.count <= 72 else { throw AuthError(message: "password must be at most 72 bytes (bcrypt's limit)") }
    }

    static func hashPassword(_ password: String) -> String { Bcrypt.hash(password, cost: bcryptCost) }

    static func sha256(_ s: String) -> String {
        SHA256.hash(data: Array(s.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// A role scope is a series selector without a metric name, e.g. `{region="eu"}`.
enum ScopeParser {
    static func parse(_ text: String) throws -> [LabelMatcher] {
        if text.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
        do {
            return try parseMetricSelector(text)
        } catch {
            throw AuthError(message: "invalid scope \"\(text)\": \(error)")
        }
    }
}
