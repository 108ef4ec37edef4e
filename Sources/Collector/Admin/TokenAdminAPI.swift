import Foundation
import Hummingbird
import Storage

/// `/api/v1/admin/tokens`: what `collector token create|revoke` do, over HTTP, for provisioning
/// tools. Create answers the token once (only its hash is kept); lists never carry a token or
/// its hash. A created token writes at once and a revoked one is refused at once: the write
/// path looks every token up in the database (AccessControl.cluster(forToken:)), no cache.
struct TokenAdminAPI: Sendable {
    let access: AccessControl

    /// `GET [?cluster=NAME]`: working tokens, by cluster.
    func list(_ params: Params) async -> APIResponse {
        let cluster = params["cluster"]
        return await AdminResponse.run {
            let tokens = try await access.listIngestTokens(cluster: cluster)
            return .success { w in
                w.raw("[")
                for (i, t) in tokens.enumerated() {
                    if i > 0 { w.raw(",") }
                    Self.write(t, into: &w)
                }
                w.raw("]")
            }
        }
    }

    /// `POST {"cluster": "store-17", "labels": {"region": "eu"}}`.
    func create(_ body: AdminBody, by actor: AuditActor) async -> APIResponse {
        await AdminResponse.run {
            let cluster = try body.requiredString("cluster")
            let labels = try body.stringMap("labels").map { Label($0.key, $0.value) }.sorted()
            let (id, token) = try await access.createIngestTokenWithID(cluster: cluster, labels: labels, by: actor)
            return .success { w in
                w.raw("{\"id\":"); w.int(id)
                w.raw(",\"token\":"); w.string(token)
                w.raw(",\"cluster\":"); w.string(cluster)
                w.raw(",\"labels\":"); Self.write(labels, into: &w)
                w.raw(",\"created\":"); w.string(Notifier.rfc3339(AdminResponse.ms(Date())))
                w.raw("}")
            }
        }
    }

    /// `DELETE /tokens/<id>`: one token.
    func revoke(id text: String, by actor: AuditActor) async -> APIResponse {
        await AdminResponse.run {
            // Int64(_:) refuses overflow, signs and spaces: no arithmetic on caller input.
            guard let id = Int64(text), id > 0 else { throw APIError.badData("invalid token id \(LogText.quoted(text)): expected a positive integer") }
            guard let t = try await access.revokeIngestToken(id: id, by: actor) else {
                throw APIError(type: "not_found", message: "no working token with id \(id)", status: 404)
            }
            return .success { w in
                w.raw("{\"revoked\":1,\"id\":"); w.int(t.id)
                w.raw(",\"cluster\":"); w.string(t.cluster)
                w.raw("}")
            }
        }
    }

    /// `DELETE /tokens?cluster=NAME`: every token of a cluster, as `collector token revoke`.
    func revokeCluster(_ params: Params, by actor: AuditActor) async -> APIResponse {
        await AdminResponse.run {
            guard let cluster = params["cluster"], !cluster.isEmpty else {
                throw APIError.badData("give a token id (DELETE /api/v1/admin/tokens/<id>) or ?cluster=NAME to revoke a cluster's tokens")
            }
            let n = try await access.revokeIngestTokens(cluster: cluster, by: actor)
            return .success { w in
                w.raw("{\"revoked\":"); w.int(Int64(n))
                w.raw(",\"cluster\":"); w.string(cluster)
                w.raw("}")
            }
        }
    }

    static func write(_ t: AccessControl.TokenInfo, into w: inout JSONWriter) {
        w.raw("{\"id\":"); w.int(t.id)
        w.raw(",\"cluster\":"); w.string(t.cluster)
        w.raw(",\"labels\":"); Self.write(t.labels, into: &w)
        w.raw(",\"created\":"); w.string(Notifier.rfc3339(AdminResponse.ms(t.createdAt)))
        w.raw(",\"lastUsed\":")
        if let u = t.lastUsedAt { w.string(Notifier.rfc3339(AdminResponse.ms(u))) } else { w.raw("null") }
        w.raw("}")
    }

    static func write(_ labels: [Label], into w: inout JSONWriter) {
        w.raw("{")
        for (i, l) in labels.enumerated() {
            if i > 0 { w.raw(",") }
            w.string(l.name); w.raw(":"); w.string(l.value)
        }
        w.raw("}")
    }
}

/// Errors of the admin handlers as Prometheus-style JSON: the caller's mistakes (AuthError from
/// the rules `collector token|user` share) as 400 `bad_data`, database trouble as 503.
enum AdminResponse {
    static func run(_ body: () async throws -> APIResponse) async -> APIResponse {
        do {
            return try await body()
        } catch let e as APIError {
            return .error(e)
        } catch let e as AuthError {
            return .error(.badData(e.message))
        } catch {
            return .error(.unavailable("the state store cannot be read or written right now: \(error)"))
        }
    }

    /// Milliseconds for `Notifier.rfc3339`; a time no clock can hold (a corrupt row) shows as 1970, never traps.
    static func ms(_ d: Date) -> Int64 { Int64(exactly: (d.timeIntervalSince1970 * 1000).rounded()) ?? 0 }
}
