import Foundation
import Storage

/// What the `collector token|user` subcommands do, kept here so tests reach it.
public enum AdminCommands {
    /// `create`: commands that add something may run before the collector ever started.
    static func open(_ dataDir: String, create: Bool = false) throws -> AccessControl {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDir) || !isDir.boolValue {
            guard create else { throw AuthError(message: "no data directory \(dataDir) (give the collector's --data-dir)") }
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        }
        return try AccessControl(path: dataDir + "/fleetscope.sqlite")
    }

    /// - Parameter labels: `NAME=VALUE` pairs the token binds besides the cluster
    ///   (`--label region=eu`); the collector sets them on every series it writes.
    public static func createToken(dataDir: String, cluster: String, labels: [String] = []) throws -> String {
        try open(dataDir, create: true).createIngestToken(cluster: cluster, labels: try labels.map(TokenLabels.parse))
    }

    public static func revokeTokens(dataDir: String, cluster: String) throws -> Int {
        try open(dataDir).revokeIngestTokens(cluster: cluster)
    }

    /// - Parameter scope: a label scope such as `{region="eu"}`, or `all`; required for viewers.
    public static func addUser(dataDir: String, name: String, password: String, role: String, scope: String?) throws {
        guard let r = Role(rawValue: role) else {
            throw AuthError(message: "unknown role \"\(role)\" (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        try open(dataDir, create: true).addUser(name: name, password: password, role: r, scope: scope)
    }

    public static func setPassword(dataDir: String, name: String, password: String) throws {
        try open(dataDir).setPassword(name: name, password: password)
    }

    public static func deleteUser(dataDir: String, name: String) throws {
        try open(dataDir).deleteUser(name: name)
    }

    /// `collector user list`: one user a line under a header, names escaped like in logs.
    public static func listUsers(dataDir: String) throws -> String {
        let users = try open(dataDir).listUsers()
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
