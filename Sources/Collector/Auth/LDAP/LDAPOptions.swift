import Foundation
import YAMLTree

/// `auth.ldap`: Basic-auth and dashboard logins checked against a directory. Names follow
/// Grafana's `ldap.toml` where they mean the same thing.
/// ```yaml
/// ldap:
///   url: ldaps://ldap.example.org          # or ldap://...:389 with start_tls: true
///   ca_file: /etc/fleetscope/ldap-ca.pem   # else the system roots; the certificate is always verified
///   # either bind directly as the user ...
///   bind_dn: uid={user},ou=people,dc=example,dc=org
///   # ... or search for the user with a service account, then bind as the entry found:
///   # bind_dn: cn=fleetscope,ou=services,dc=example,dc=org
///   # bind_password_file: /etc/fleetscope/ldap-password
///   # search_base_dns: ["ou=people,dc=example,dc=org"]   # quoted: YAML splits [a,b] at commas
///   # search_filter: (uid=%s)
///   member_of: memberOf                     # attribute on the user listing group DNs (optional)
///   group_search_base_dns: ["ou=groups,dc=example,dc=org"]
///   group_search_filter: (&(objectClass=groupOfNames)(member=%s))   # %s: the user's DN
///   group_name_attribute: cn                # group names for group_roles: this attribute (default: the group's DN)
///   timeout: 5s
/// ```
struct LDAPOptions: Sendable, Equatable {
    enum Security: String, Sendable, Equatable { case none, ldaps, startTLS }

    var host = ""
    var port = 389
    var security = Security.none
    var caFile: String?
    /// Only for tests against a directory without a real certificate; logged loudly.
    var insecureSkipVerify = false
    /// With `{user}` (or Grafana's `%s`): the user's own DN, bound to directly. Without: the
    /// service account's DN for search-then-bind.
    var bindDN = ""
    var bindPassword: String?
    var searchBaseDNs: [String] = []
    var searchFilter = "(uid=%s)"
    var memberOfAttribute: String?
    var groupSearchBaseDNs: [String] = []
    var groupSearchFilter: String?
    /// Which attribute of the user fills `%s` in `group_search_filter`: `dn` (default) or e.g. `uid`
    /// (for `posixGroup`'s `memberUid`).
    var groupSearchFilterUserAttribute = "dn"
    var groupNameAttribute: String?
    /// Each connect and each request; past it the login answers 503.
    var timeoutMs: Int64 = 5000

    static let keys: Set<String> = [
        "url", "start_tls", "ca_file", "insecure_skip_verify", "bind_dn", "bind_password_file", "search_base_dns",
        "search_filter", "member_of", "group_search_base_dns", "group_search_filter",
        "group_search_filter_user_attribute", "group_name_attribute", "timeout",
    ]

    /// Whether logins bind directly with a DN made from the user name.
    var bindsAsUser: Bool { bindDN.contains("{user}") || bindDN.contains("%s") }

    /// The user's DN from the template, the name escaped as a DN value (RFC 4514).
    func userDN(_ user: String) -> String {
        let v = LDAPEscape.dnValue(user)
        return bindDN.replacingOccurrences(of: "{user}", with: v).replacingOccurrences(of: "%s", with: v)
    }

    init() {}

    init(node: YAMLNode, file: String) throws {
        func fail(_ n: YAMLNode, _ why: String) -> OptionsError { OptionsError("\(file):\(n.line): auth.ldap\(why)") }
        guard let m = node.mapping else { throw fail(node, " must be a mapping (url, bind_dn, ...)") }
        var url: String?, startTLS = false, passwordFile: String?
        for pair in m {
            let key = pair.key.scalar ?? ""
            let value = pair.value.scalar ?? ""
            func list() throws -> [String] {
                if let s = pair.value.scalar { return s.isEmpty ? [] : [s] }
                guard let seq = pair.value.sequence else { throw fail(pair.value, ".\(key) must be a list of DNs") }
                let dns = try seq.map { n in
                    guard let s = n.scalar, !s.isEmpty else { throw fail(n, ".\(key): empty entry") }
                    return s
                }
                // [ou=people,dc=example,dc=org] unquoted is a YAML flow list of three items.
                if dns.count > 1 && !dns.contains(where: { $0.contains(",") }) {
                    throw fail(pair.value, ".\(key): \(dns.joined(separator: ", ")) look like one DN split at its commas; quote each DN: [\"ou=people,dc=example,dc=org\"]")
                }
                return dns
            }
            func bool() throws -> Bool {
                switch value.lowercased() {
                case "true", "yes": return true
                case "false", "no": return false
                default: throw fail(pair.value, ".\(key) must be true or false")
                }
            }
            func filter() throws -> String {
                do { _ = try LDAPFilter.parse(value.replacingOccurrences(of: "%s", with: "x")) } catch {
                    throw fail(pair.value, ".\(key): \(error)")
                }
                return value
            }
            switch key {
            case "url": url = value
            case "start_tls": startTLS = try bool()
            case "ca_file": caFile = value
            case "insecure_skip_verify": insecureSkipVerify = try bool()
            case "bind_dn": bindDN = value
            case "bind_password_file": passwordFile = value
            case "search_base_dns": searchBaseDNs = try list()
            case "search_filter": searchFilter = try filter()
            case "member_of": memberOfAttribute = value.isEmpty ? nil : value
            case "group_search_base_dns": groupSearchBaseDNs = try list()
            case "group_search_filter": groupSearchFilter = try filter()
            case "group_search_filter_user_attribute": groupSearchFilterUserAttribute = value
            case "group_name_attribute": groupNameAttribute = value.isEmpty ? nil : value
            case "timeout":
                guard let ms = parseDurationMs(value), ms > 0 else { throw fail(pair.value, ".timeout: invalid duration \"\(value)\"") }
                timeoutMs = ms
            default:
                throw fail(pair.key, ": unknown key \"\(key)\" (known: \(Self.keys.sorted().joined(separator: ", ")))")
            }
        }
        guard let url else { throw fail(node, " needs url: ldap://HOST[:PORT] or ldaps://HOST[:PORT]") }
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(), let h = u.host, !h.isEmpty,
              u.path.isEmpty || u.path == "/" else {
            throw fail(node, ".url: \"\(url)\" is not ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
        }
        host = h.hasPrefix("[") ? String(h.dropFirst().dropLast()) : h
        switch scheme {
        case "ldap": security = startTLS ? .startTLS : .none; port = u.port ?? 389
        case "ldaps":
            guard !startTLS else { throw fail(node, ": start_tls is for ldap:// URLs; ldaps:// is TLS already") }
            security = .ldaps; port = u.port ?? 636
        default: throw fail(node, ".url: scheme must be ldap or ldaps, not \"\(scheme)\"")
        }
        guard !bindDN.isEmpty else {
            throw fail(node, " needs bind_dn: a template such as uid={user},ou=people,dc=example,dc=org, or a service account with search_base_dns")
        }
        if !bindsAsUser {
            guard let passwordFile else { throw fail(node, ": a service-account bind_dn needs bind_password_file") }
            do {
                bindPassword = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            } catch { throw fail(node, ".bind_password_file: cannot read \(passwordFile): \(error.localizedDescription)") }
            guard !searchBaseDNs.isEmpty else { throw fail(node, ": a service-account bind_dn needs search_base_dns to find users in") }
        }
        if groupSearchFilter != nil && groupSearchBaseDNs.isEmpty {
            throw fail(node, ": group_search_filter needs group_search_base_dns")
        }
        if memberOfAttribute == nil && groupSearchFilter == nil {
            throw fail(node, " needs member_of (e.g. memberOf) or group_search_filter: without groups no one could be given a role")
        }
    }
}
