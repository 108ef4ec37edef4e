import PromQL
import Storage
import YAMLTree

/// `auth.group_roles`: roles defined once, for groups of the identity provider (OIDC claims,
/// LDAP groups), instead of per-user accounts on each collector.
/// ```yaml
/// group_roles:
///   - { group: eu-ops, role: viewer, scope: '{region="eu"}' }
///   - { group: platform, role: admin }
/// ```
struct GroupRoles: Sendable {
    struct Rule: Sendable {
        var group: String
        var role: Role
        /// Empty: everything (admins, and viewers given `scope: all`).
        var scope: [LabelMatcher]
    }

    /// What a user in some groups may do: the strongest role of their groups, and the union of
    /// their scopes (a series is visible when it matches any one alternative).
    struct Grant: Sendable {
        var role: Role
        /// nil: everything. Otherwise the alternatives, each a conjunction of matchers.
        var alternatives: [[LabelMatcher]]?
    }

    var rules: [Rule] = []

    /// nil when none of the groups is mapped: such a user gets no access (and a page that says why).
    func grant(groups: [String]) -> Grant? {
        let set = Set(groups)
        let matched = rules.filter { set.contains($0.group) }
        guard !matched.isEmpty else { return nil }
        if matched.contains(where: { $0.role == .admin }) { return Grant(role: .admin, alternatives: nil) }
        if matched.contains(where: { $0.scope.isEmpty }) { return Grant(role: .viewer, alternatives: nil) }
        var seen = Set<String>()
        let alternatives = matched.map(\.scope).filter { seen.insert($0.map(\.description).sorted().joined(separator: ",")).inserted }
        return Grant(role: .viewer, alternatives: alternatives)
    }

    init(rules: [Rule] = []) { self.rules = rules }

    init(node: YAMLNode, file: String) throws {
        func fail(_ n: YAMLNode, _ why: String) -> OptionsError { OptionsError("\(file):\(n.line): auth.group_roles\(why)") }
        guard let seq = node.sequence else { throw fail(node, " must be a list of { group, role, scope }") }
        for (i, entry) in seq.enumerated() {
            guard let m = entry.mapping else { throw fail(entry, "[\(i)] must be a mapping { group, role, scope }") }
            var group: String?, role: Role?, scopeText: String?
            for pair in m {
                let value = pair.value.scalar ?? ""
                switch pair.key.scalar ?? "" {
                case "group":
                    guard !value.isEmpty else { throw fail(pair.value, "[\(i)].group must not be empty") }
                    group = value
                case "role":
                    guard let r = Role(rawValue: value) else {
                        throw fail(pair.value, "[\(i)].role: \"\(value)\" is not a role (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    role = r
                case "scope": scopeText = value
                case let k: throw fail(pair.key, "[\(i)]: unknown key \"\(k)\" (known: group, role, scope)")
                }
            }
            guard let group else { throw fail(entry, "[\(i)] needs a group") }
            guard let role else { throw fail(entry, "[\(i)] needs a role (viewer or admin)") }
            var scope: [LabelMatcher] = []
            switch scopeText?.trimmingCharacters(in: .whitespaces) {
            case nil:
                guard role == .admin else {
                    throw fail(entry, "[\(i)]: a viewer group needs a scope such as '{region=\"eu\"}', or scope: all")
                }
            case "all"?: break
            case let s?:
                do { scope = try ScopeParser.parse(s) } catch { throw fail(entry, "[\(i)].scope: \(error)") }
                guard !scope.isEmpty else { throw fail(entry, "[\(i)].scope is empty; write scope: all to let the group see everything") }
            }
            rules.append(Rule(group: group, role: role, scope: scope))
        }
    }
}

extension GroupRoles.Grant {
    /// The principal of a user signed in through the identity provider or the directory: the
    /// union of their groups' scopes.
    var scope: Scope { alternatives.map { Scope(anyOf: $0) } ?? .all }

    func principal(name: String) -> Principal {
        .user(name: name, role: role, scope: scope)
    }
}
