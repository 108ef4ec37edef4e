import Foundation
import Logging
import Storage

/// What the `collector token|user` subcommands do, kept here so tests reach it. With
/// `postgres` (`state.postgres` of the `--config` file) they act on the shared PostgreSQL
/// every collector of the fleet reads; otherwise on the data directory's SQLite file.
public enum AdminCommands {
    /// `create`: commands that add something may run before the collector ever started.
    static func withAccess<T: Sendable>(_ dataDir: String, postgres: PostgresOptions?, create: Bool = false,
                                        _ body: (AccessControl) async throws -> T) async throws -> T {
        if let postgres {
            let store = try PostgresStateStore(options: postgres, logger: Logger(label: "collector.state"))
            defer { store.shutdown() }
            let a = AccessControl(store: store)
            try await a.migrate()
            return try await body(a)
        }
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDir) || !isDir.boolValue {
            guard create else { throw AuthError(message: "no data directory \(dataDir) (give the collector's --data-dir)") }
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        }
        return try await body(try await AccessControl.open(path: dataDir + "/fleetscope.sqlite"))
    }

    /// - Parameter labels: `NAME=VALUE` pairs the token binds besides the cluster
    ///   (`--label region=eu`); the collector sets them on every series it writes.
    public static func createToken(dataDir: String, postgres: PostgresOptions? = nil, cluster: String, labels: [String] = []) async throws -> String {
        let parsed = try labels.map(TokenLabels.parse)
        return try await withAccess(dataDir, postgres: postgres, create: true) { try await $0.createIngestToken(cluster: cluster, labels: parsed) }
    }

    public static func revokeTokens(dataDir: String, postgres: PostgresOptions? = nil, cluster: String) async throws -> Int {
        try await withAccess(dataDir, postgres: postgres) { try await $0.revokeIngestTokens(cluster: cluster) }
    }

    /// - Parameter scope: a label scope such as `{region="eu"}`, or `all`; required for viewers.
    public static func addUser(dataDir: String, postgres: PostgresOptions? = nil, name: String, password: String, role: String, scope: String?) async throws {
        guard let r = Role(rawValue: role) else {
            throw AuthError(message: "unknown role \"\(role)\" (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        try await withAccess(dataDir, postgres: postgres, create: true) { try await $0.addUser(name: name, password: password, role: r, scope: scope) }
    }

    public static func setPassword(dataDir: String, postgres: PostgresOptions? = nil, name: String, password: String) async throws {
        try await withAccess(dataDir, postgres: postgres) { try await $0.setPassword(name: name, password: password) }
    }

    public static func deleteUser(dataDir: String, postgres: PostgresOptions? = nil, name: String) async throws {
        try await withAccess(dataDir, postgres: postgres) { try await $0.deleteUser(name: name) }
    }

    /// `collector user list`: one user a line under a header, names escaped like in logs.
    public static func listUsers(dataDir: String, postgres: PostgresOptions? = nil) async throws -> String {
        let users = try await withAccess(dataDir, postgres: postgres) { try await $0.listUsers() }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        let rows = [["NAME", "ROLE", "SCOPE", "CREATED", "UPDATED"]] + users.map { u in
            [u.name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0 != "\"" && $0 != "\\" }) ? u.name : LogText.quoted(u.name),
             u.role, u.scope.isEmpty ? "all" : u.scope, f.string(from: u.createdAt), f.string(from: u.updatedAt)]
        }
        let widths = (0..<5).map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
