import Foundation
import GRDB
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
    func listIngestTokens(cluster: String? = nil) throws -> [TokenInfo] {
        let rows = try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, cluster, labels, created_at, last_used_at FROM ingest_tokens
                WHERE revoked_at IS NULL AND (? IS NULL OR cluster = ?) ORDER BY cluster, id
                """, arguments: [cluster, cluster])
        }
        return try rows.map { r in
            let id: Int64 = r["id"]
            let created: Double = r["created_at"]
            return TokenInfo(id: id, cluster: r["cluster"], labels: try TokenLabels.decode(r["labels"]),
                             createdAt: Date(timeIntervalSince1970: created),
                             lastUsedAt: usage.lastUsed(id, stored: r["last_used_at"]).map { Date(timeIntervalSince1970: $0) })
        }
    }

    /// Revokes one token; nil when there is no such working token.
    func revokeIngestToken(id: Int64, by actor: AuditActor) throws -> TokenInfo? {
        try db.write { db in
            guard let r = try Row.fetchOne(db, sql: "SELECT cluster, labels, created_at FROM ingest_tokens WHERE id = ? AND revoked_at IS NULL",
                                           arguments: [id]) else { return nil }
            try db.execute(sql: "UPDATE ingest_tokens SET revoked_at = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, id])
            let info = TokenInfo(id: id, cluster: r["cluster"], labels: try TokenLabels.decode(r["labels"]),
                                 createdAt: Date(timeIntervalSince1970: r["created_at"]), lastUsedAt: nil)
            try AuditLog.record(db, actor, "token.revoke", target: "token \(id)", detail: AuditLog.tokenDetail(cluster: info.cluster, labels: info.labels))
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
    func updateUser(name: String, _ change: UserChange, by actor: AuditActor) throws -> UserChangeOutcome {
        if let p = change.password { try Self.checkPassword(p) }
        // bcrypt outside the transaction: it takes ~50 ms and must not hold the write lock.
        let hash = change.password.map(Self.hashPassword)
        let outcome = try db.write { db -> UserChangeOutcome in
            guard let r = try Row.fetchOne(db, sql: "SELECT role, scope FROM users WHERE name = ?", arguments: [name]) else { return .noSuchUser }
            let oldRole = Role(rawValue: r["role"]) ?? .viewer
            let oldScope: String = r["scope"]
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
            if oldRole == .admin, role != .admin, try Self.adminCount(db) <= 1 { return .lastAdmin }
            try db.execute(sql: "UPDATE users SET role = ?, scope = ?, password_bcrypt = COALESCE(?, password_bcrypt), updated_at = ? WHERE name = ?",
                           arguments: [role.rawValue, scope, hash, Date().timeIntervalSince1970, name])
            var what: [String] = []
            if role != oldRole { what.append("role \(oldRole.rawValue) → \(role.rawValue)") }
            if scope != oldScope { what.append("scope \(oldScope.isEmpty ? "all" : oldScope) → \(scope.isEmpty ? "all" : scope)") }
            if hash != nil { what.append("password") }
            try AuditLog.record(db, actor, "user.update", target: "user \(name)", detail: what.isEmpty ? "no change" : what.joined(separator: ", "))
            return .changed
        }
        // After the commit: the login cache must not re-read the old row.
        if outcome == .changed { login.forget(name) }
        return outcome
    }

    /// Deletes a user unless it is the last admin.
    func deleteUserUnlessLastAdmin(name: String, by actor: AuditActor) throws -> UserChangeOutcome {
        let outcome = try db.write { db -> UserChangeOutcome in
            guard let role = try String.fetchOne(db, sql: "SELECT role FROM users WHERE name = ?", arguments: [name]) else { return .noSuchUser }
            if role == Role.admin.rawValue, try Self.adminCount(db) <= 1 { return .lastAdmin }
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
            try AuditLog.record(db, actor, "user.delete", target: "user \(name)")
            return .changed
        }
        // After the commit: the login cache must not re-read the old row.
        if outcome == .changed { login.forget(name) }
        return outcome
    }

    func userExists(_ name: String) throws -> Bool {
        try db.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [name]) ?? false }
    }

    func auditEvents(limit: Int, before: Int64? = nil) throws -> [AuditEvent] {
        try db.read { db in try AuditLog.recent(db, limit: limit, before: before) }
    }

    private static func adminCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE role = ?", arguments: [Role.admin.rawValue]) ?? 0
    }
}
