import Crypto
import Foundation
import GRDB
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

/// Users, roles and per-cluster ingest tokens in SQLite. Secrets are stored only as
/// hashes: ingest tokens as SHA-256 (they are 160 random bits, so a slow hash adds
/// nothing), passwords with bcrypt.
///
/// The collector and the `collector token|user` commands open the file from different
/// processes at once. WAL journal mode lets their reads go on while a command writes, and
/// a busy timeout makes the rare lock wait instead of failing a request.
final class AccessControl: Sendable {
    static let bcryptCost: UInt8 = 10
    /// Long enough for any admin write (one bcrypt-free transaction) to commit.
    static let busyTimeout: TimeInterval = 10
    /// Internal, not private: the admin API's queries live beside it (Admin/AccessControl+Admin.swift).
    let db: DatabasePool
    /// HTTP Basic logins against the users table.
    let login: LoginGate
    /// When each token last wrote, kept in memory and flushed now and then (TokenUsage.swift).
    let usage = TokenUsage()

    /// `directory`: the LDAP directory for names that are not local users, their groups
    /// mapped to roles by `groupRoles`.
    init(path: String, loginPolicy: LoginPolicy = LoginPolicy(), directory: DirectoryLogin? = nil,
         groupRoles: GroupRoles = GroupRoles()) throws {
        try PrivateFiles.prepareDatabase(path)
        var config = Configuration()
        config.label = "access"
        config.busyMode = .timeout(Self.busyTimeout)
        let db = try DatabasePool(path: path, configuration: config)
        self.db = db
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE ingest_tokens (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    cluster TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    created_at REAL NOT NULL,
                    revoked_at REAL
                );
                CREATE TABLE users (
                    name TEXT PRIMARY KEY,
                    password_bcrypt TEXT NOT NULL,
                    role TEXT NOT NULL,
                    scope TEXT NOT NULL DEFAULT '',
                    created_at REAL NOT NULL
                );
                """)
        }
        m.registerMigration("v2: token labels, user updated_at") { db in
            // Labels a token binds besides its cluster, as a JSON object ('' = none).
            try db.execute(sql: "ALTER TABLE ingest_tokens ADD COLUMN labels TEXT NOT NULL DEFAULT ''")
            try db.execute(sql: "ALTER TABLE users ADD COLUMN updated_at REAL")
            try db.execute(sql: "UPDATE users SET updated_at = created_at")
        }
        m.registerMigration("v3: audit log, token last use") { db in try AuditLog.migrateV3(db) }
        try m.migrate(db)
        login = LoginGate(policy: loginPolicy, directory: directory, groupRoles: groupRoles) { name in try Self.fetchUser(db, name) }
    }

    // MARK: ingest tokens

    /// Creates a token bound to `cluster` and `labels` and returns it; only its hash is kept.
    func createIngestToken(cluster: String, labels: [Label] = [], by actor: AuditActor = .cli) throws -> String {
        try createIngestTokenWithID(cluster: cluster, labels: labels, by: actor).token
    }

    /// The same, with the new token's row id (the admin API answers it; revoke takes it).
    func createIngestTokenWithID(cluster: String, labels: [Label], by actor: AuditActor) throws -> (id: Int64, token: String) {
        guard !cluster.isEmpty else { throw AuthError(message: "cluster name must not be empty") }
        guard !Credentials.hasControlCharacters(cluster) else { throw AuthError(message: "cluster name must not contain control characters") }
        for l in labels { try TokenLabels.check(l) }
        if let dup = Dictionary(grouping: labels, by: \.name).first(where: { $0.value.count > 1 }) {
            throw AuthError(message: "label \(dup.key) given more than once")
        }
        var rng = SystemRandomNumberGenerator()
        let token = "fst_" + (0..<20).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let encoded = try TokenLabels.encode(labels)
        let id = try db.write { db in
            try db.execute(sql: "INSERT INTO ingest_tokens (cluster, token_sha256, created_at, labels) VALUES (?, ?, ?, ?)",
                           arguments: [cluster, Self.sha256(token), Date().timeIntervalSince1970, encoded])
            let id = db.lastInsertedRowID
            try AuditLog.record(db, actor, "token.create", target: "token \(id)",
                                detail: AuditLog.tokenDetail(cluster: cluster, labels: labels))
            return id
        }
        return (id, token)
    }

    func revokeIngestTokens(cluster: String, by actor: AuditActor = .cli) throws -> Int {
        let n = try db.write { db in
            try db.execute(sql: "UPDATE ingest_tokens SET revoked_at = ? WHERE cluster = ? AND revoked_at IS NULL",
                           arguments: [Date().timeIntervalSince1970, cluster])
            let n = db.changesCount
            if n > 0 { try AuditLog.record(db, actor, "token.revoke", target: "cluster \(cluster)", detail: "\(n) token(s)") }
            return n
        }
        return n
    }

    /// The cluster a bearer token belongs to and the labels bound with it, or nil. Not
    /// cached: `collector token revoke` runs in another process (and the admin API in this
    /// one), and a revoked token must stop working at once. The lookup is one indexed SQLite
    /// read (microseconds), small next to a remote-write request.
    func cluster(forToken token: String) throws -> IngestIdentity? {
        let h = Self.sha256(token)
        guard let row = try db.read({ db in
            try Row.fetchOne(db, sql: "SELECT id, cluster, labels FROM ingest_tokens WHERE token_sha256 = ? AND revoked_at IS NULL", arguments: [h])
        }) else { return nil }
        usage.record(row["id"], db: db)
        return IngestIdentity(cluster: row["cluster"], labels: try TokenLabels.decode(row["labels"]))
    }

    // MARK: users

    /// Adds or replaces a user. `scope` is a selector such as `{region="eu"}`, or `all`;
    /// a viewer must be given one (nil), so that seeing everything is a choice.
    func addUser(name: String, password: String, role: Role, scope: String?, by actor: AuditActor = .cli) throws {
        try Self.checkName(name)
        try Self.checkPassword(password)
        let stored = try Self.storedScope(scope, role: role)
        let hash = Self.hashPassword(password)
        let now = Date().timeIntervalSince1970
        try db.write { db in
            let existed = try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [name]) ?? false
            try db.execute(sql: """
                INSERT INTO users (name, password_bcrypt, role, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET password_bcrypt = excluded.password_bcrypt, role = excluded.role,
                    scope = excluded.scope, updated_at = excluded.updated_at
                """, arguments: [name, hash, role.rawValue, stored, now, now])
            try AuditLog.record(db, actor, existed ? "user.replace" : "user.create", target: "user \(name)",
                                detail: AuditLog.userDetail(role: role.rawValue, scope: stored))
        }
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
    func setPassword(name: String, password: String, by actor: AuditActor = .cli) throws {
        try Self.checkPassword(password)
        let hash = Self.hashPassword(password)
        let n = try db.write { db in
            try db.execute(sql: "UPDATE users SET password_bcrypt = ?, updated_at = ? WHERE name = ?",
                           arguments: [hash, Date().timeIntervalSince1970, name])
            let n = db.changesCount
            if n == 1 { try AuditLog.record(db, actor, "user.passwd", target: "user \(name)") }
            return n
        }
        guard n == 1 else { throw AuthError(message: "no user \(LogText.quoted(name))") }
    }

    /// Deletes a user; throws when the user does not exist.
    func deleteUser(name: String, by actor: AuditActor = .cli) throws {
        let n = try db.write { db in
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
            let n = db.changesCount
            if n == 1 { try AuditLog.record(db, actor, "user.delete", target: "user \(name)") }
            return n
        }
        guard n == 1 else { throw AuthError(message: "no user \(LogText.quoted(name))") }
    }

    struct UserInfo: Sendable, Equatable {
        var name: String
        var role: String
        /// "" = everything.
        var scope: String
        var createdAt: Date
        var updatedAt: Date
    }

    func listUsers() throws -> [UserInfo] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT name, role, scope, created_at, updated_at FROM users ORDER BY name").map { r in
                let created: Double = r["created_at"]
                let updated: Double? = r["updated_at"]
                return UserInfo(name: r["name"], role: r["role"], scope: r["scope"],
                                createdAt: Date(timeIntervalSince1970: created),
                                updatedAt: Date(timeIntervalSince1970: updated ?? created))
            }
        }
    }

    var userCount: Int {
        get throws { try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 } }
    }

    private static func fetchUser(_ db: DatabasePool, _ name: String) throws -> UserRecord? {
        guard let row = try db.read({ db in
            try Row.fetchOne(db, sql: "SELECT password_bcrypt, role, scope FROM users WHERE name = ?", arguments: [name])
        }) else { return nil }
        return UserRecord(bcryptHash: row["password_bcrypt"], role: Role(rawValue: row["role"]) ?? .viewer,
                          scope: try ScopeParser.parse(row["scope"]))
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
