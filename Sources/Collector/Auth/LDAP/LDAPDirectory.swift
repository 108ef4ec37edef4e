import Foundation
import NIOCore
import NIOSSL

/// What the directory says about a user name and password.
enum DirectoryOutcome: Sendable, Equatable {
    /// The password is right; `groups` are the names `group_roles` is matched against.
    case authenticated(dn: String, groups: [String])
    /// Wrong password or unknown user (not told apart, like local logins).
    case invalidCredentials
    /// The directory cannot answer (down, unreachable, TLS failure, misconfigured service
    /// account): the login fails with 503, never with access.
    case unavailable(String)
}

/// Something that checks passwords against a directory: LDAP here, a stub in unit tests.
protocol DirectoryLogin: Sendable {
    func login(user: String, password: String) async -> DirectoryOutcome
}

/// Logins against an LDAP server: bind as the user (DN template) or search-then-bind with a
/// service account, then collect the user's groups from `member_of` and/or a group search.
/// One connection per login check; LoginGate deduplicates concurrent identical checks.
struct LDAPDirectory: DirectoryLogin {
    let options: LDAPOptions
    /// Built once: loading a CA file per login would be wasteful.
    let tls: NIOSSLContext?

    init(options: LDAPOptions) throws {
        self.options = options
        if options.security == .none {
            tls = nil
        } else {
            var c = TLSConfiguration.makeClientConfiguration()
            if let ca = options.caFile { c.trustRoots = .file(ca) }
            if options.insecureSkipVerify { c.certificateVerification = .none }
            do { tls = try NIOSSLContext(configuration: c) } catch {
                throw OptionsError("auth.ldap: cannot set up TLS to the directory (ca_file \(options.caFile ?? "system roots")): \(error)")
            }
        }
    }

    func login(user: String, password: String) async -> DirectoryOutcome {
        // An empty password is an "unauthenticated bind" (RFC 4513 §5.1.2), which many servers
        // answer with success: it must never count as a login.
        guard !password.isEmpty, !user.isEmpty else { return .invalidCredentials }
        let timeout = TimeAmount.milliseconds(options.timeoutMs)
        let conn: LDAPConnection
        do {
            conn = try await LDAPConnection.connect(host: options.host, port: options.port,
                                                    tls: options.security == .ldaps ? tls : nil, timeout: timeout)
        } catch {
            return .unavailable("\(error)")
        }
        do {
            if options.security == .startTLS, let tls { try await conn.startTLS(context: tls, host: options.host) }
            let outcome = try await check(conn, user: user, password: password)
            await conn.close()
            return outcome
        } catch {
            await conn.close()
            return .unavailable("\(error)")
        }
    }

    private var userAttributes: [String] {
        var a: [String] = []
        if let m = options.memberOfAttribute { a.append(m) }
        if options.groupSearchFilterUserAttribute.lowercased() != "dn" { a.append(options.groupSearchFilterUserAttribute) }
        return a.isEmpty ? ["1.1"] : a // 1.1: no attributes (RFC 4511 §4.5.1.8)
    }

    private func check(_ conn: LDAPConnection, user: String, password: String) async throws -> DirectoryOutcome {
        let entry: LDAPEntry
        if options.bindsAsUser {
            let dn = options.userDN(user)
            let r = try await conn.bind(dn: dn, password: password)
            if r.code == LDAPResult.invalidCredentials { return .invalidCredentials }
            guard r.isSuccess else { return .unavailable("binding as \(dn): result code \(r.code) \(r.diagnostic)") }
            let (entries, done) = try await conn.search(LDAPSearch(base: dn, scope: .base, filter: .present("objectClass"),
                                                                   attributes: userAttributes, sizeLimit: 1))
            guard done.isSuccess, let e = entries.first else {
                return .unavailable("reading the entry of \(dn): result code \(done.code) \(done.diagnostic)")
            }
            entry = e
        } else {
            try await bindServiceAccount(conn)
            let filter = try LDAPFilter.parse(options.searchFilter.replacingOccurrences(of: "%s", with: LDAPEscape.filterValue(user)))
            var found: [LDAPEntry] = []
            for base in options.searchBaseDNs {
                let (entries, done) = try await conn.search(LDAPSearch(base: base, scope: .sub, filter: filter,
                                                                       attributes: userAttributes, sizeLimit: 2))
                // 32 noSuchObject: this base does not exist; the others may hold the user.
                guard done.isSuccess || done.code == 32 || done.code == 4 else {
                    return .unavailable("searching \(base) for the user: result code \(done.code) \(done.diagnostic)")
                }
                found += entries
            }
            // None: unknown user. Several: ambiguous, and picking one could log in as someone else.
            guard found.count == 1 else { return .invalidCredentials }
            let r = try await conn.bind(dn: found[0].dn, password: password)
            if r.code == LDAPResult.invalidCredentials { return .invalidCredentials }
            guard r.isSuccess else { return .unavailable("binding as \(found[0].dn): result code \(r.code) \(r.diagnostic)") }
            entry = found[0]
        }
        var groups: [String] = []
        if let m = options.memberOfAttribute { groups += entry.strings(m) }
        if let template = options.groupSearchFilter {
            if !options.bindsAsUser { try await bindServiceAccount(conn) }
            let userValues = options.groupSearchFilterUserAttribute.lowercased() == "dn"
                ? [entry.dn] : entry.strings(options.groupSearchFilterUserAttribute)
            for value in userValues {
                let filter = try LDAPFilter.parse(template.replacingOccurrences(of: "%s", with: LDAPEscape.filterValue(value)))
                for base in options.groupSearchBaseDNs {
                    let attrs = options.groupNameAttribute.map { [$0] } ?? ["1.1"]
                    let (entries, done) = try await conn.search(LDAPSearch(base: base, scope: .sub, filter: filter, attributes: attrs))
                    guard done.isSuccess || done.code == 32 else {
                        return .unavailable("searching \(base) for groups: result code \(done.code) \(done.diagnostic)")
                    }
                    for e in entries {
                        if let a = options.groupNameAttribute { groups += e.strings(a) } else { groups.append(e.dn) }
                    }
                }
            }
        }
        var seen = Set<String>()
        return .authenticated(dn: entry.dn, groups: groups.filter { seen.insert($0).inserted })
    }

    private func bindServiceAccount(_ conn: LDAPConnection) async throws {
        let r = try await conn.bind(dn: options.bindDN, password: options.bindPassword ?? "")
        guard r.isSuccess else {
            throw LDAPUnavailable(message: "the service account \(options.bindDN) cannot bind: result code \(r.code) \(r.diagnostic)")
        }
    }
}
