/// What the `collector token|user` subcommands do, kept here so tests reach it.
public enum AdminCommands {
    public static func createToken(dataDir: String, cluster: String) throws -> String {
        try AccessControl(path: dataDir + "/fleetscope.sqlite").createIngestToken(cluster: cluster)
    }

    public static func revokeTokens(dataDir: String, cluster: String) throws -> Int {
        try AccessControl(path: dataDir + "/fleetscope.sqlite").revokeIngestTokens(cluster: cluster)
    }

    public static func addUser(dataDir: String, name: String, password: String, role: String, scope: String) throws {
        guard let r = Role(rawValue: role) else {
            throw AuthError(message: "unknown role \"\(role)\" (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        try AccessControl(path: dataDir + "/fleetscope.sqlite").addUser(name: name, password: password, role: r, scope: scope)
    }
}
