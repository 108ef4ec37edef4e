import Foundation
import PromQL
import Storage
import Testing
import TSDB
import TestSupport

@testable import Collector

@Suite struct RuleFileTests {
    static let good = """
        groups:
          - name: fleet
            interval: 15s
            rules:
              - record: cluster:cpu_busy:rate5m
                expr: sum by (cluster) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
              - alert: ClusterDown
                expr: up == 0
                for: 2m
                labels: { severity: page }
                annotations:
                  summary: "{{ $labels.cluster }} is down"
          - name: other
            rules: []
        """

    @Test func parsesPrometheusRuleFiles() throws {
        let groups = try RuleFileParser.parse(Self.good, file: "f.yml", defaultIntervalMs: 60_000)
        #expect(groups.map(\.name) == ["fleet", "other"])
        #expect(groups.map(\.intervalMs) == [15_000, 60_000])
        let rules = groups[0].rules
        #expect(rules.map(\.name) == ["cluster:cpu_busy:rate5m", "ClusterDown"])
        #expect(rules[0].kind == .recording)
        #expect(rules[1].kind == .alerting(forMs: 120_000, keepFiringForMs: 0))
        #expect(rules[1].labels.map(\.0) == ["severity"])
        #expect(rules[1].annotations.first?.1 == "{{ $labels.cluster }} is down")
    }

    /// Bad files: the message names the file, the line and the problem.
    @Test(arguments: [
        ("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: sum(\n", "f.yml:5:", "invalid expr"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        for: soon\n", "f.yml:6:", "invalid for"),
        ("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n        for: 1m\n", "f.yml:6:", "cannot have `for`"),
        ("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n        colour: red\n", "f.yml:6:", "unknown key \"colour\""),
        ("groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n", "f.yml:4:", "repeated"),
        ("groups:\n  - name: a\n    rules:\n      - record: 1bad\n        expr: up\n", "f.yml:4:", "invalid recording rule name"),
        ("groups:\n  - name: a\n    rules:\n      - expr: up\n", "f.yml:4:", "needs `record` or `alert`"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        labels: { 0x: y }\n", "f.yml:6:", "invalid label name"),
    ])
    func badFilesNameTheProblem(_ text: String, _ position: String, _ problem: String) {
        do {
            _ = try RuleFileParser.parse(text, file: "f.yml", defaultIntervalMs: 60_000)
            Issue.record("expected an error for:\n\(text)")
        } catch {
            #expect("\(error)".contains(position), "\(error)")
            #expect("\(error)".contains(problem), "\(error)")
        }
    }

    /// Our parser accepts exactly the files real `promtool check rules` (Prometheus 2.42) accepts.
    @Test func agreesWithPromtool() throws {
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            Issue.record("\(promtool) missing: apt-get install -y prometheus (make test installs it)")
            return
        }
        let files = [
            Self.good,
            "groups:\n  - name: a\n    rules:\n      - record: x\n        expr: sum(\n",
            "groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n        for: 1m\n",
            "groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n",
            "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: rate(x[5m]) > 1\n        keep_firing_for: 5m\n",
            "groups:\n  - name: a\n    rules:\n      - record: job:up\n        expr: sum by (job) (up)\n        labels: { team: edge }\n",
            "groups:\n  - name: a\n    rules:\n      - record: x\n        alert: y\n        expr: up\n",
            "groups:\n  - name: a\n    rules:\n      - record: 1bad\n        expr: up\n",
        ]
        let dir = try tempDir("rules")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (i, text) in files.enumerated() {
            let path = "\(dir)/r\(i).yml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let theirs = try runTool(promtool, ["check", "rules", path]).status == 0
            let ours = (try? RuleFileParser.parse(text, file: path, defaultIntervalMs: 60_000)) != nil
            #expect(ours == theirs, "promtool \(theirs ? "accepts" : "rejects") r\(i).yml, we \(ours ? "accept" : "reject"):\n\(text)")
        }
    }
}

@Suite struct AlertingRuleTests {
    static func rule(_ yaml: String) throws -> Rule {
        try #require(try RuleFileParser.parse("groups:\n  - name: g\n    rules:\n" + yaml, file: "t.yml", defaultIntervalMs: 10_000).first?.rules.first)
    }

    /// pending → firing after `for`, resolved when the condition goes away; `ALERTS` written
    /// for each state and ended with a staleness marker, as Prometheus does.
    @Test func pendingFiringResolved() async throws {
        let r = try Self.rule("""
                  - alert: HighTemp
                    expr: temp > 50
                    for: 30s
                    labels: { site: "{{ $labels.cluster }}-site" }
                    annotations: { summary: "{{ $labels.cluster }} at {{ $value }} degrees" }
            """)
        let store = MemoryStorage()
        let l = Labels(["__name__": "temp", "cluster": "store-1"])
        var st = RuleState(rule: r)
        let engine = Engine()
        store.append(l, 0, 60)
        var out = await st.evaluate(engine: engine, storage: store, now: 0)
        #expect(st.health == "ok")
        let a0 = try #require(st.alerts.values.first)
        #expect(a0.state == .pending)
        #expect(a0.labels["alertname"] == "HighTemp" && a0.labels["site"] == "store-1-site" && a0.labels["__name__"] == nil)
        #expect(a0.annotations.first?.1 == "store-1 at 60 degrees")
        #expect(out.map { $0.labels["alertstate"] } == ["pending"])
        #expect(st.takeAlertsToSend(now: 0, resendMs: 60_000).isEmpty, "pending alerts are not sent")

        store.append(l, 20_000, 70)
        out = await st.evaluate(engine: engine, storage: store, now: 20_000)
        #expect(st.alerts.values.first?.state == .pending)
        store.append(l, 30_000, 71)
        out = await st.evaluate(engine: engine, storage: store, now: 30_000)
        #expect(st.alerts.values.first?.state == .firing)
        #expect(st.alerts.values.first?.activeAtMs == 0)
        let firingSeries = out.filter { !StaleNaN.isStale($0.samples[0].v) }.map { $0.labels["alertstate"] }
        #expect(firingSeries == ["firing"])
        #expect(out.contains { $0.labels["alertstate"] == "pending" && StaleNaN.isStale($0.samples[0].v) }, "the pending series ends")
        #expect(st.takeAlertsToSend(now: 30_000, resendMs: 60_000).count == 1)
        #expect(st.takeAlertsToSend(now: 40_000, resendMs: 60_000).isEmpty, "no resend before resend delay")
        #expect(st.takeWebhookChanges().map(\.state) == [.firing])
        #expect(st.takeWebhookChanges().isEmpty, "webhooks hear each change once")

        store.append(l, 40_000, 20)
        out = await st.evaluate(engine: engine, storage: store, now: 40_000)
        let a = try #require(st.alerts.values.first)
        #expect(a.state == .inactive && a.resolvedAtMs == 40_000)
        #expect(out.count == 1 && StaleNaN.isStale(out[0].samples[0].v))
        #expect(st.takeAlertsToSend(now: 40_000, resendMs: 60_000).map(\.state) == [.inactive], "resolution is sent at once")
        #expect(st.takeWebhookChanges().map(\.state) == [.inactive])
    }

    @Test func duplicateLabelSetsAreAnError() async throws {
        let r = try Self.rule("      - alert: A\n        expr: temp\n        labels: { cluster: same }\n")
        let store = MemoryStorage()
        store.append(Labels(["__name__": "temp", "cluster": "a"]), 0, 1)
        store.append(Labels(["__name__": "temp", "cluster": "b"]), 0, 1)
        var st = RuleState(rule: r)
        let out = await st.evaluate(engine: Engine(), storage: store, now: 0)
        #expect(out.isEmpty)
        #expect(st.health == "err")
        #expect(st.lastError.contains("same labelset"))
    }

    @Test func recordingRulesNameAndLabelTheirOutput() async throws {
        let r = try Self.rule("      - record: cluster:temp:max\n        expr: max by (cluster) (temp)\n        labels: { team: edge }\n")
        let store = MemoryStorage()
        store.append(Labels(["__name__": "temp", "cluster": "a", "node": "1"]), 0, 3)
        store.append(Labels(["__name__": "temp", "cluster": "a", "node": "2"]), 0, 5)
        var st = RuleState(rule: r)
        let out = await st.evaluate(engine: Engine(), storage: store, now: 1000)
        #expect(out.map(\.labels) == [Labels(["__name__": "cluster:temp:max", "cluster": "a", "team": "edge"])])
        #expect(out.first?.samples == [Sample(t: 1000, v: 5)])
    }

    @Test func templates() {
        let t = AlertTemplate(labels: Labels(["cluster": "store-9", "__name__": "disk_used"]), value: 1_234_567)
        #expect(t.expand("{{ $labels.cluster }}: {{ $value | humanize }}") == "store-9: 1.235M")
        #expect(t.expand("{{ humanize $value }} / {{ .Labels.cluster }} / {{.Value}}") == "1.235M / store-9 / 1234567")
        #expect(t.expand("{{ printf \"%.1f\" $value }}") == "1234567.0")
        #expect(t.expand("{{ range $x }}kept{{ end }}") == "{{ range $x }}kept{{ end }}")
        #expect(AlertTemplate(labels: Labels(), value: 0.25).expand("{{ $value | humanizePercentage }}") == "25%")
        #expect(AlertTemplate(labels: Labels(), value: 3725).expand("{{ $value | humanizeDuration }}") == "1h 2m 5s")
    }

    @Test func alertValuesFormatAsPrometheus() {
        #expect(goExponent(1) == "1e+00")
        #expect(goExponent(42) == "4.2e+01")
        #expect(goExponent(-3.5e-7) == "-3.5e-07")
        #expect(goExponent(123456) == "1.23456e+05")
        #expect(goExponent(0.1) == "1e-01")
        #expect(goExponent(1e300) == "1e+300")
        #expect(goExponent(.nan) == "NaN")
    }
}
