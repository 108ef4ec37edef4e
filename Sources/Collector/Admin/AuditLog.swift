import Foundation
import GRDB
import Storage

/// Who made an admin change, and from where: a user of the admin API with the TCP peer's
/// address, `cli` for the `collector token|user` commands, `collector` for what the server
/// does by itself (the first admin).
struct AuditActor: Sendable, Equatable {
    var name: String
    var remoteAddress: String?

    static let cli = AuditActor(name: "cli", remoteAddress: nil)
    static let collector = AuditActor(name: "collector", remoteAddress: nil)

    /// The caller of an admin route; `--no-auth` has no user name.
    init(principal: Principal, remoteAddress: String?) {
        switch principal {
        case .user(let name, _, _): self.name = name
        case .cluster(let identity): self.name = "cluster " + identity.cluster
        case .anonymous: self.name = "anonymous"
        }
        self.remoteAddress = remoteAddress
    }

    init(name: String, remoteAddress: String?) {
        self.name = name
        self.remoteAddress = remoteAddress
    }
}

/// One admin change as the audit log keeps it.
struct AuditEvent: Sendable, Equatable {
    var id: Int64
    var time: Date
    var actor: String
    /// nil for the command line and the collector itself.
    var remoteAddress: String?
    /// `token.create`, `token.revoke`, `user.create`, `user.replace`, `user.update`, `user.passwd`, `user.delete`.
    var action: String
    /// `token 12`, `cluster store-17`, `user ana`.
    var target: String
    /// What changed, never a secret: `cluster store-17, labels {region="eu"}`, `role viewer → admin`.
    var detail: String
}

/// The audit log: a table in the state store (`fleetscope.sqlite`) written in the same
/// transaction as the change it records, so there is no change without its event.
enum AuditLog {
    /// Older data directories get the table (and the tokens' `last_used_at`) on first open;
    /// their existing users and tokens are kept as they are.
    static func migrateV3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audit_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                actor TEXT NOT NULL,
                remote_address TEXT,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT ''
            );
            ALTER TABLE ingest_tokens ADD COLUMN last_used_at REAL;
            CREATE INDEX ingest_tokens_cluster ON ingest_tokens(cluster);
            """)
    }

    static func record(_ db: Database, _ actor: AuditActor, _ action: String, target: String, detail: String = "") throws {
        try db.execute(sql: "INSERT INTO audit_events (at, actor, remote_address, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [Date().timeIntervalSince1970, actor.name, actor.remoteAddress, action, target, detail])
    }

    /// The newest events first, `limit` of them, older than event `before` when given (paging).
    static func recent(_ db: Database, limit: Int, before: Int64?) throws -> [AuditEvent] {
        try Row.fetchAll(db, sql: """
            SELECT id, at, actor, remote_address, action, target, detail FROM audit_events
            WHERE id < ? ORDER BY id DESC LIMIT ?
            """, arguments: [before ?? Int64.max, limit]).map { r in
            AuditEvent(id: r["id"], time: Date(timeIntervalSince1970: r["at"]), actor: r["actor"], remoteAddress: r["remote_address"],
                       action: r["action"], target: r["target"], detail: r["detail"])
        }
    }

    static func tokenDetail(cluster: String, labels: [Label]) -> String {
        "cluster \(cluster)" + (labels.isEmpty ? "" : ", labels " + labelText(labels))
    }

    static func userDetail(role: String, scope: String) -> String {
        "role \(role), scope \(scope.isEmpty ? "all" : scope)"
    }

    /// `{region="eu", site="ber"}`, values quoted as in PromQL.
    static func labelText(_ labels: [Label]) -> String {
        "{" + labels.sorted().map { "\($0.name)=" + LogText.quoted($0.value) }.joined(separator: ", ") + "}"
    }
}
