import Crypto
import Foundation
import GRDB
import HummingbirdBcrypt
import PromQL
import Storage
import Synchronization

/// Who is calling. Ingest callers are clusters; API and dashboard callers are users whose
/// role carries a label scope that every read is narrowed to.
enum Principal: Sendable {
    case cluster(String)
    case user(name: String, role: Role, scope: [LabelMatcher])
    /// `--no-auth`: local development and tests.
    case anonymous

    var scope: [LabelMatcher] {
        if case .user(_, _, let scope) = self { return scope }
        return []
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
final class AccessControl: Sendable {
    private let db: DatabaseQueue
    /// Verified credentials, so that a dashboard polling every few seconds does not pay
    /// bcrypt's deliberate ~100 ms on each request. Keyed by a SHA-256 of user+password.
    private let verified = Mutex<[String: (Principal, Date)]>([:])

    init(path: String) throws {
        try PrivateFiles.prepareDatabase(path)
        db = try DatabaseQueue(path: path)
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
        try m.migrate(db)
    }

    // MARK: ingest tokens

    /// Creates a token bound to `cluster` and returns it; only its hash is kept.
    func createIngestToken(cluster: String) throws -> String {
        guard !cluster.isEmpty else { throw AuthError(message: "cluster name must not be empty") }
        var rng = SystemRandomNumberGenerator()
        let token = "fst_" + (0..<20).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        try db.write { db in
            try db.execute(sql: "INSERT INTO ingest_tokens (cluster, token_sha256, created_at) VALUES (?, ?, ?)",
                           arguments: [cluster, Self.sha256(token), Date().timeIntervalSince1970])
        }
        return token
    }

    func revokeIngestTokens(cluster: String) throws -> Int {
        let n = try db.write { db in
            try db.execute(sql: "UPDATE ingest_tokens SET revoked_at = ? WHERE cluster = ? AND revoked_at IS NULL",
                           arguments: [Date().timeIntervalSince1970, cluster])
            return db.changesCount
        }
        return n
    }

    /// The cluster a bearer token belongs to, or nil. Not cached: `collector token revoke`
    /// runs in another process, and a revoked token must stop working at once. The lookup
    /// is one indexed SQLite read (microseconds), small next to a remote-write request.
    func cluster(forToken token: String) throws -> String? {
        let h = Self.sha256(token)
        return try db.read { db in
            try String.fetchOne(db, sql: "SELECT cluster FROM ingest_tokens WHERE token_sha256 = ? AND revoked_at IS NULL", arguments: [h])
        }
    }

    // MARK: users

    func addUser(name: String, password: String, role: Role, scope: String) throws {
        guard !name.isEmpty, !name.contains(":") else { throw AuthError(message: "user name must be non-empty and contain no ':'") }
        guard password.count >= 8 else { throw AuthError(message: "password must have at least 8 characters") }
        _ = try ScopeParser.parse(scope)
        let hash = Bcrypt.hash(password, cost: 10)
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO users (name, password_bcrypt, role, scope, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET password_bcrypt = excluded.password_bcrypt, role = excluded.role, scope = excluded.scope
                """, arguments: [name, hash, role.rawValue, scope, Date().timeIntervalSince1970])
        }
        verified.withLock { $0.removeAll() }
    }

    var userCount: Int {
        get throws { try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 } }
    }

    /// Checks a user's password; nil when the user is unknown or the password is wrong.
    func authenticate(user: String, password: String) throws -> Principal? {
        let key = Self.sha256(user + "\u{0}" + password)
        if let (p, at) = verified.withLock({ $0[key] }), Date().timeIntervalSince(at) < 300 { return p }
        guard let row = try db.read({ db in
            try Row.fetchOne(db, sql: "SELECT password_bcrypt, role, scope FROM users WHERE name = ?", arguments: [user])
        }) else { return nil }
        let hash: String = row["password_bcrypt"]
        guard Bcrypt.verify(password, hash: hash) else { return nil }
        let role = Role(rawValue: row["role"]) ?? .viewer
        let p = Principal.user(name: user, role: role, scope: try ScopeParser.parse(row["scope"]))
        verified.withLock { $0[key] = (p, Date()) }
        return p
    }

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
