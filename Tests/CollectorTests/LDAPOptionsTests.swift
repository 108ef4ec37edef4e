import Foundation
import Testing
import YAMLTree

@testable import Collector

@Suite struct LDAPOptionsTests {
    func parse(_ yaml: String) throws -> LDAPOptions {
        try LDAPOptions(node: try #require(try YAML.compose(yaml)), file: "c.yml")
    }

    @Test func urlsAndModes() throws {
        let a = try parse("url: ldaps://ldap.example.org\nbind_dn: uid={user},dc=x\nmember_of: memberOf")
        #expect(a.security == .ldaps && a.port == 636 && a.host == "ldap.example.org" && a.bindsAsUser)
        let b = try parse("url: ldap://[::1]:1389\nstart_tls: true\nbind_dn: uid=%s,dc=x\nmember_of: memberOf\ntimeout: 2s")
        #expect(b.security == .startTLS && b.port == 1389 && b.host == "::1" && b.timeoutMs == 2000)
        #expect(b.userDN("a+b") == "uid=a\\+b,dc=x")
    }

    @Test func mistakesAreNamed() throws {
        let cases: [(String, String)] = [
            ("bind_dn: uid={user},dc=x\nmember_of: memberOf", "needs url"),
            ("url: http://x\nbind_dn: uid={user},dc=x\nmember_of: memberOf", "scheme"),
            ("url: ldaps://x\nstart_tls: true\nbind_dn: uid={user},dc=x\nmember_of: memberOf", "start_tls"),
            ("url: ldap://x\nbind_dn: uid={user},dc=x", "member_of"),
            ("url: ldap://x\nbind_dn: cn=svc,dc=x\nmember_of: memberOf", "bind_password_file"),
            ("url: ldap://x\nbind_dn: uid={user},dc=x\ngroup_search_base_dns: [ou=groups,dc=example,dc=org]\ngroup_search_filter: (member=%s)", "quote each DN"),
            ("url: ldap://x\nbind_dn: uid={user},dc=x\ngroup_search_base_dns: [\"ou=g,dc=x\"]\ngroup_search_filter: (member=%s", "invalid LDAP filter"),
            ("url: ldap://x\nbind_dn: uid={user},dc=x\nmember_of: memberOf\nbind_pw: x", "unknown key"),
        ]
        for (yaml, expected) in cases {
            do {
                _ = try parse(yaml)
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
                #expect("\(error)".contains("c.yml:"), "\(error)")
            }
        }
    }
}
