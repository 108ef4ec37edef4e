import Foundation
import Storage

/// What the admin API reads and changes beyond the `collector token|user` commands: token
/// lists, revoking one token, changing one field of a user, the audit log. Every change
/// records its audit event in its own transaction.
extension AccessControl {
    /// An ingest token as listed: never the token, never its hash.
    struct TokenInfo: Sendable, Equatable {
        var id: Int64
        var cluster: String
        var labels: [Label]
        var createdAt: Date
        var lastUsedAt: Date?
    }

    /// Tokens that still work, by cluster then age; one cluster's when `cluster` is given.
    func listIngestTokens(cluster: String? = nil) async throws -> [TokenInfo] {
        // No `? IS NULL` test: PostgreSQL cannot tell the type of a parameter used only there.
        let rows = try await store.read { db in
            try await db.query("SELECT id, cluster, labels, created_at, last_used_at FROM ingest_tokens WHERE revoked_at IS NULL"
                               + (cluster == nil ? "" : " AND cluster = ?"), cluster.map { [$0] } ?? [])
        }
        return try rows.map { r in
            let id = try r.int("id")
            return TokenInfo(id: id, cluster: try r.string("cluster"), labels: try TokenLabels.decode(try r.string("labels")),
                             createdAt: Date(timeIntervalSince1970: try r.double("created_at")),
                             lastUsedAt: usage.lastUsed(id, stored: r.optionalDouble("last_used_at")).map { Date(timeIntervalSince1970: $0) })
        }.sorted {
            // By cluster (bytes, as SQLite compares; PostgreSQL's collation may differ), then age.
            $0.cluster == $1.cluster ? $0.id < $1.id : Array($0.cluster.utf8).lexicographicallyPrecedes(Array($1.cluster.utf8))
        }
    }

    /// Revokes one token; nil when there is no such working token.
    func revokeIngestToken(id: Int64, by actor: AuditActor) async throws -> TokenInfo? {
        try await store.write { db in
            guard let r = try await db.queryOne("SELECT cluster, labels, created_at FROM ingest_tokens WHERE id = ? AND revoked_at IS NULL",
                                                [id]) else { return nil }
            try await db.execute("UPDATE ingest_tokens SET revoked_at = ? WHERE id = ?", [Date().timeIntervalSince1970, id])
            let info = TokenInfo(id: id, cluster: try r.string("cluster"), labels: try TokenLabels.decode(try r.string("labels")),
                                 createdAt: Date(timeIntervalSince1970: try r.double("created_at")), lastUsedAt: nil)
            try await AuditLog.record(db, actor, "token.revoke", target: "token \(id)", detail: AuditLog.tokenDetail(cluster: info.cluster, labels: info.labels))
            return info
        }
    }

    /// A change to an existing user: any of role, scope, password.
    struct UserChange: Sendable {
        var role: Role?
        /// As `--scope` takes it: a label scope or `all`.
        var scope: String?
        var password: String?
    }

    enum UserChangeOutcome: Equatable { case changed, noSuchUser, lastAdmin }

    /// Applies `change` under the rules of `collector user add`. Refuses to take the admin role
    /// from the last admin, so the admin API cannot lock every admin out.
    func updateUser(name: String, _ change: UserChange, by actor: AuditActor) async throws -> UserChangeOutcome {
        if let p = change.password { try Self.checkPassword(p) }
        // bcrypt outside the transaction: it takes ~50 ms and must not hold the write lock.
        let hash = change.password.map(Self.hashPassword)
        let outcome = try await store.write { db -> UserChangeOutcome in
            guard let r = try await db.queryOne("SELECT role, scope FROM users WHERE name = ?", [name]) else { return .noSuchUser }
            let oldRole = Role(rawValue: try r.string("role")) ?? .viewer
            let oldScope = try r.string("scope")
            let role = change.role ?? oldRole
            let scope: String
            if let s = change.scope {
                scope = try Self.storedScope(s, role: role)
            } else if role == .viewer, oldRole == .admin, oldScope.isEmpty {
                // An admin's empty scope means "no scope given"; a viewer must be given one
                // (or `all`), so that a demoted admin does not see everything by accident.
                scope = try Self.storedScope(nil, role: .viewer)
            } else {
                scope = oldScope
            }
            if oldRole == .admin, role != .admin, try await Self.adminCount(db) <= 1 { return .lastAdmin }
            try await db.execute("UPDATE users SET role = ?, scope = ?, password_bcrypt = COALESCE(?, password_bcrypt), updated_at = ? WHERE name = ?",
                                 [role.rawValue, scope, hash, Date().timeIntervalSince1970, name])
            var what: [String] = []
            if role != oldRole { what.append("role \(oldRole.rawValue) → \(role.rawValue)") }
            if scope != oldScope { what.append("scope \(oldScope.isEmpty ? "all" : oldScope) → \(scope.isEmpty ? "all" : scope)") }
            if hash != nil { what.append("password") }
            try await AuditLog.record(db, actor, "user.update", target: "user \(name)", detail: what.isEmpty ? "no change" : what.joined(separator: ", "))
            return .changed
        }
        // After the commit: the login cache must not re-read the old row.
        if outcome == .changed { login.forget(name) }
        return outcome
    }

    /// Deletes a user unless it is the last admin.
    func deleteUserUnlessLastAdmin(name: String, by actor: AuditActor) async throws -> UserChangeOutcome {
        let outcome = try await store.write { db -> UserChangeOutcome in
            guard let role = try await db.queryOne("SELECT role FROM users WHERE name = ?", [name])?.string("role") else { return .noSuchUser }
            if role == Role.admin.rawValue, try await Self.adminCount(db) <= 1 { return .lastAdmin }
            try await db.execute("DELETE FROM users WHERE name = ?", [name])
            try await AuditLog.record(db, actor, "user.delete", target: "user \(name)")
            return .changed
        }
        // After the commit: the login cache must not re-read the old row.
        if outcome == .changed { login.forget(name) }
        return outcome
    }

    func userExists(_ name: String) async throws -> Bool {
        try await store.queryOne("SELECT 1 AS one FROM users WHERE name = ?", [name]) != nil
    }

    func auditEvents(limit: Int, before: Int64? = nil) async throws -> [AuditEvent] {
        try await store.read { db in try await AuditLog.recent(db, limit: limit, before: before) }
    }

    /// Locks the admins' rows on PostgreSQL, so two collectors each removing one of the last
    /// two admins cannot both pass the check (the second waits, then counts one).
    private static func adminCount(_ db: any StateConnection) async throws -> Int {
        let lock = db.dialect == .postgres ? " FOR UPDATE" : ""
        return try await db.query("SELECT name FROM users WHERE role = ?" + lock, [Role.admin.rawValue]).count
    }
}
