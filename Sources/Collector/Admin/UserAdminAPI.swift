import Foundation
import Hummingbird

/// `/api/v1/admin/users`: local users, under the rules of `collector user add|passwd|delete`
/// (names, password length, scopes). Lists carry name, role and scope, never a password hash.
/// A change applies to the user's next request (the login cache is told, LoginGate.forget).
struct UserAdminAPI: Sendable {
    let access: AccessControl

    func list() async -> APIResponse {
        await AdminResponse.run {
            let users = try await access.listUsers()
            return .success { w in
                w.raw("[")
                for (i, u) in users.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{\"name\":"); w.string(u.name)
                    w.raw(",\"role\":"); w.string(u.role)
                    w.raw(",\"scope\":"); w.string(u.scope.isEmpty ? "all" : u.scope)
                    w.raw(",\"created\":"); w.string(Notifier.rfc3339(AdminResponse.ms(u.createdAt)))
                    w.raw(",\"updated\":"); w.string(Notifier.rfc3339(AdminResponse.ms(u.updatedAt)))
                    w.raw("}")
                }
                w.raw("]")
            }
        }
    }

    static let createFields: Set<String> = ["name", "password", "role", "scope"]
    static let changeFields: Set<String> = ["password", "role", "scope"]

    /// `POST {"name", "password", "role", "scope"}`: a new user; 409 when the name is taken
    /// (PATCH changes a user, so a typo cannot silently replace someone's password).
    func create(_ body: AdminBody, by actor: AuditActor) async -> APIResponse {
        await AdminResponse.run {
            let name = try body.requiredString("name")
            let password = try body.requiredString("password")
            let role = try Self.role(try body.requiredString("role"))
            let scope = try body.string("scope")
            guard try await !access.userExists(name) else {
                throw APIError(type: "conflict", message: "user \(LogText.quoted(name)) exists; change it with PATCH /api/v1/admin/users/<name>", status: 409)
            }
            try await access.addUser(name: name, password: password, role: role, scope: scope, by: actor)
            return .success { w in w.raw("{\"name\":"); w.string(name); w.raw("}") }
        }
    }

    /// `PATCH /users/<name> {"role"?, "scope"?, "password"?}`.
    func change(_ name: String, _ body: AdminBody, by actor: AuditActor) async -> APIResponse {
        await AdminResponse.run {
            let change = AccessControl.UserChange(role: try body.string("role").map(Self.role), scope: try body.string("scope"),
                                                  password: try body.string("password"))
            guard change.role != nil || change.scope != nil || change.password != nil else {
                throw APIError.badData("nothing to change: give role, scope or password")
            }
            return try Self.outcome(await access.updateUser(name: name, change, by: actor), name)
        }
    }

    /// `DELETE /users/<name>`.
    func delete(_ name: String, by actor: AuditActor) async -> APIResponse {
        await AdminResponse.run { try Self.outcome(await access.deleteUserUnlessLastAdmin(name: name, by: actor), name) }
    }

    private static func outcome(_ o: AccessControl.UserChangeOutcome, _ name: String) throws -> APIResponse {
        switch o {
        case .changed: return .success { w in w.raw("{\"name\":"); w.string(name); w.raw("}") }
        case .noSuchUser: throw APIError(type: "not_found", message: "no user \(LogText.quoted(name))", status: 404)
        case .lastAdmin: throw APIError(type: "conflict", message: "\(LogText.quoted(name)) is the last admin; make another admin first", status: 409)
        }
    }

    private static func role(_ text: String) throws -> Role {
        guard let r = Role(rawValue: text) else {
            throw APIError.badData("unknown role \(LogText.quoted(text)) (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return r
    }
}
