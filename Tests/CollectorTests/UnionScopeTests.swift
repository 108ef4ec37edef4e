import Foundation
import Storage
import Testing

@testable import Collector

/// "A user in several groups gets the union of their scopes": every read sees what any one
/// group's scope allows, each series once, and nothing of a third scope.
@Suite struct UnionScopeTests {
    static let euUS = Scope(anyOf: [[.equal("region", "eu")], [.equal("region", "us")]])

    func store() -> MemoryStorage {
        let s = MemoryStorage()
        for (cluster, region) in [("eu-1", "eu"), ("us-1", "us"), ("ap-1", "ap")] {
            s.append(Labels(["__name__": "up", "cluster": cluster, "region": region, region + "_only": "x"]), 1000, 1)
        }
        return s
    }

    @Test func querierReadsTheUnionOnceSorted() throws {
        // The second alternative overlaps the first: eu-1 matches both and must come back once.
        let scope = Scope(anyOf: [[.equal("region", "eu")], [.equal("region", "us")], [.equal("cluster", "eu-1")]])
        let q = try ScopedQueryable.wrap(store(), scope).querier(mint: 0, maxt: 2000)
        let up = [LabelMatcher.equal("__name__", "up")]
        #expect(try q.select(up).map { $0.labels["cluster"] } == ["eu-1", "us-1"])
        #expect(try q.series(up).map { $0["cluster"] } == ["eu-1", "us-1"])
        #expect(try q.labelValues("region", []) == ["eu", "us"])
        #expect(try q.labelNames([]) == ["__name__", "cluster", "eu_only", "region", "us_only"])
        #expect(try q.select([.equal("cluster", "ap-1")]).isEmpty)
    }

    @Test func scopeValueNormalises() throws {
        #expect(Scope([]).isAll)
        #expect(Scope(anyOf: [[.equal("a", "1")], []]).isAll)
        #expect(Scope(anyOf: [[.equal("a", "1"), .equal("b", "2")], [.equal("b", "2"), .equal("a", "1")]]).alternatives?.count == 1)
        #expect(Self.euUS.matches { $0 == "region" ? "us" : "" })
        #expect(!Self.euUS.matches { $0 == "region" ? "ap" : "" })
        // A grant for two viewer groups becomes a principal with both scopes.
        let roles = GroupRoles(rules: [
            .init(group: "eu-ops", role: .viewer, scope: [.equal("region", "eu")]),
            .init(group: "us-ops", role: .viewer, scope: [.equal("region", "us")]),
        ])
        let p = try #require(roles.grant(groups: ["eu-ops", "us-ops"])).principal(name: "ana")
        #expect(p.scope == Self.euUS)
    }

    @Test func rulesAndAlertsFollowTheUnion() throws {
        let groups = try RuleFileParser.parse("""
            groups:
              - name: g
                rules:
                  - alert: EuDown
                    expr: up{region="eu"} == 0
                  - alert: EuOrUsDown
                    expr: up{region="eu"} == 0 or up{region="us"} == 0
                  - alert: AnyDown
                    expr: up == 0
                    labels: { region: eu }
            """, file: "r.yml", defaultIntervalMs: 15_000)
        let rules = groups[0].rules
        let vis = RuleVisibility(scope: Self.euUS)
        #expect(vis.ruleInside(rules[0]))
        #expect(vis.ruleInside(rules[1]))
        #expect(!vis.ruleInside(rules[2]))
        func alert(_ region: String) -> Alert {
            Alert(labels: Labels(["alertname": "AnyDown", "region": region]), annotations: [], state: .firing, activeAtMs: 0, value: 0)
        }
        // AnyDown sets region itself (a static label): that says nothing about the data read.
        #expect(!vis.dataLabelsMatch(alert("eu"), of: rules[2]))
        let dataRule = try RuleFileParser.parse("groups: [{name: g, rules: [{alert: A, expr: up == 0}]}]", file: "r.yml", defaultIntervalMs: 15_000)[0].rules[0]
        #expect(vis.dataLabelsMatch(alert("eu"), of: dataRule))
        #expect(vis.dataLabelsMatch(alert("us"), of: dataRule))
        #expect(!vis.dataLabelsMatch(alert("ap"), of: dataRule))
        #expect(RuleVisibility(scope: .all).isUnscoped)
    }
}
