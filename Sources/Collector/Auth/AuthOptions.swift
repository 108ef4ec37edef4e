import YAMLTree

/// `auth`: central identity. `oidc` (single sign-on) and `ldap` (a directory for Basic and
/// dashboard logins) each map their users' groups to roles through `group_roles`; local users
/// from `collector user add` keep working beside them.
struct AuthOptions: Sendable {
    var groupRoles = GroupRoles()
    var oidc: OIDCOptions?
    var ldap: LDAPOptions?

    static let keys: Set<String> = ["oidc", "ldap", "group_roles"]

    init() {}

    init(node: YAMLNode, file: String) throws {
        guard let m = node.mapping else { throw OptionsError("\(file):\(node.line): auth must be a mapping with oidc, ldap, group_roles") }
        for pair in m {
            switch pair.key.scalar ?? "" {
            case "group_roles": groupRoles = try GroupRoles(node: pair.value, file: file)
            case "oidc": oidc = try OIDCOptions(node: pair.value, file: file)
            case "ldap": ldap = try LDAPOptions(node: pair.value, file: file)
            case let k:
                throw OptionsError("\(file):\(pair.key.line): unknown key \"\(k)\" in auth (known: \(Self.keys.sorted().joined(separator: ", ")))")
            }
        }
    }
}
