import Foundation
import PromQL
import Testing
@testable import Collector

/// `storage.remote` and `auth.group_roles`: the config of the scale-out and central-identity work.
@Suite struct CentralConfigTests {
    func load(_ yaml: String) throws -> CollectorOptions { try FleetConfigTests().load(yaml) }

    func expectError(_ yaml: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try load(yaml) } throws: { "\($0)".contains(text) }
    }

    @Test func remoteStorageAsInTheIssue() throws {
        let o = try load("""
        storage:
          retention: 15d
          remote:
            write_url: http://vminsert:8480/insert/0/prometheus/api/v1/write
            query_url: http://vmselect:8481/select/0/prometheus/
            headers: { X-Scope-OrgID: fleet }
            queue: { max_bytes: 2GiB }
        """)
        let r = try #require(o.remoteStorage)
        #expect(r.writeURL == "http://vminsert:8480/insert/0/prometheus/api/v1/write")
        #expect(r.queryURL == "http://vmselect:8481/select/0/prometheus")
        #expect(r.headers == [.init(name: "X-Scope-OrgID", value: "fleet")])
        #expect(r.queueMaxBytes == 2 << 30)
        #expect(try load("storage: { retention: 1d }").remoteStorage == nil)
    }

    @Test func remoteStorageMistakesNameLineAndKey() {
        expectError("storage:\n  remote:\n    write_url: vminsert:8480\n    query_url: http://q\n", "yml:3: storage.remote.write_url: \"vminsert:8480\" is not an http(s) URL")
        expectError("storage:\n  remote:\n    write_url: http://w\n", "storage.remote needs both write_url and query_url")
        expectError("storage:\n  remote: { write_url: http://w, query_url: http://q, headers: { \"X Bad\": 1 } }\n", "\"X Bad\" is not a valid header name")
        expectError("storage:\n  remote: { write_url: http://w, query_url: http://q, queue: { max_bytes: lots } }\n", "queue.max_bytes: invalid size \"lots\"")
        expectError("storage:\n  remote: { write_url: http://w, query_url: http://q, retries: 3 }\n", "unknown key \"retries\"")
    }

    @Test func groupRolesGrantTheStrongestRoleAndTheUnionOfScopes() throws {
        let o = try load("""
        auth:
          group_roles:
            - { group: eu-ops, role: viewer, scope: '{region="eu"}' }
            - { group: us-ops, role: viewer, scope: '{region="us"}' }
            - { group: eu-ops-2, role: viewer, scope: '{region="eu"}' }
            - { group: auditors, role: viewer, scope: all }
            - { group: platform, role: admin }
        """)
        let g = o.auth.groupRoles
        #expect(g.grant(groups: ["nobody"]) == nil)
        #expect(g.grant(groups: []) == nil)
        let eu = try #require(g.grant(groups: ["eu-ops", "unmapped"]))
        #expect(eu.role == .viewer && eu.alternatives?.map { $0.map(\.description) } == [["region=\"eu\""]])
        let both = try #require(g.grant(groups: ["eu-ops", "us-ops", "eu-ops-2"]))
        #expect(both.alternatives?.count == 2)
        #expect(g.grant(groups: ["eu-ops", "auditors"])?.alternatives == nil)
        let admin = try #require(g.grant(groups: ["eu-ops", "platform"]))
        #expect(admin.role == .admin && admin.alternatives == nil)
    }

    @Test func groupRolesMistakesNameLineAndKey() {
        expectError("auth:\n  group_roles:\n    - { group: eu, role: viewer }\n", "yml:3: auth.group_roles[0]: a viewer group needs a scope")
        expectError("auth:\n  group_roles:\n    - { group: eu, role: owner, scope: all }\n", "\"owner\" is not a role (known: admin, viewer)")
        expectError("auth:\n  group_roles:\n    - { role: admin }\n", "[0] needs a group")
        expectError("auth:\n  group_roles:\n    - { group: eu, role: viewer, scope: '{region=' }\n", "[0].scope: invalid scope")
        expectError("auth:\n  saml: {}\n", "unknown key \"saml\" in auth (known: group_roles, ldap, oidc)")
    }
}
