import Foundation
import Testing
@testable import Collector

/// The collector's config and rule files read through YAMLTree (libyaml), as the edge reads its own.
@Suite struct CollectorYAMLTests {
    func load(_ yaml: String) throws -> CollectorOptions { try FleetConfigTests().load(yaml) }

    @Test func configFlowMapsAnchorsAndEmptyFiles() throws {
        let o = try load("""
        fleet: &f {down_after: 30s, stale_after: 10m}
        query:
          lookback_delta: 2m
        alerting:
          alertmanagers: [http://127.0.0.1:9093, "http://127.0.0.1:9094"]
        """)
        #expect(o.fleet.downAfterMs == 30_000 && o.fleet.staleAfterMs == 600_000)
        #expect(o.alertmanagers == ["http://127.0.0.1:9093", "http://127.0.0.1:9094"])
        #expect(try load("").fleet.downAfterMs == 120_000)
        #expect(try load("# nothing yet\n").fleet.downAfterMs == 120_000)
    }

    @Test func configSyntaxErrorsNameFileLineAndColumn() throws {
        #expect { try load("fleet:\n  down_after: 2m\n  stale_after: [1h\n") } throws: {
            "\($0)".contains("invalid YAML: line 3, column 16: unterminated flow sequence")
        }
        #expect { try load("fleet:\n  down_after: 2m\n  down_after: 3m\n") } throws: {
            "\($0)".contains("invalid YAML: line 3, column 3: duplicate key \"down_after\"")
        }
    }

    @Test func ruleFilesNameLineOnSyntaxErrorsAndAcceptMergeKeys() throws {
        #expect { try RuleFileParser.parse("groups:\n- name: g\n  rules: [\n", file: "r.yml", defaultIntervalMs: 60_000) } throws: {
            "\($0)".hasPrefix("r.yml: invalid YAML: line 3, column 10:")
        }
        let groups = try RuleFileParser.parse("""
        groups:
        - name: g
          rules:
          - &base {alert: A, expr: up == 0, for: 5m}
          - <<: *base
            alert: B
        """, file: "r.yml", defaultIntervalMs: 60_000)
        #expect(groups.first?.rules.map(\.name) == ["A", "B"])
        #expect(groups.first?.rules.last?.query == "up == 0")
        #expect(try RuleFileParser.parse("", file: "r.yml", defaultIntervalMs: 60_000).isEmpty)
    }
}
