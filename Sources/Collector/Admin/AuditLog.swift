import Foundation
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

/// The audit log: a table in the state store (`fleetscope.sqlite` or PostgreSQL) written in the same
/// transaction as the change it records, so there is no change without its event.
enum AuditLog {
    static func record(_ db: any StateConnection, _ actor: AuditActor, _ action: String, target: String, detail: String = "") async throws {
        try await db.execute("INSERT INTO audit_events (at, actor, remote_address, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                             [Date().timeIntervalSince1970, actor.name, actor.remoteAddress, action, target, detail])
    }

    /// The newest events first, `limit` of them, older than event `before` when given (paging).
    static func recent(_ db: any StateConnection, limit: Int, before: Int64?) async throws -> [AuditEvent] {
        try await db.query("""
            SELECT id, at, actor, remote_address, action, target, detail FROM audit_events
            WHERE id < ? ORDER BY id DESC LIMIT ?
            """, [before ?? Int64.max, limit]).map { r in
            AuditEvent(id: try r.int("id"), time: Date(timeIntervalSince1970: try r.double("at")), actor: try r.string("actor"),
                       remoteAddress: r.optionalString("remote_address"),
                       action: try r.string("action"), target: try r.string("target"), detail: try r.string("detail"))
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
