import Foundation
import Testing
import TestSupport
@testable import EdgeScraper

/// The real peer for config validation: Prometheus' own `promtool check config` (2.42, from
/// Debian) must accept exactly the Prometheus-compatible configs we accept.
@Suite struct ConfigPromtoolTests {
    static let cases: [(name: String, valid: Bool, yaml: String)] = [
        ("minimal", true, "scrape_configs:\n- job_name: a\n"),
        ("full scrape config", true, """
        global: {scrape_interval: 15s, scrape_timeout: 5s, external_labels: {cluster: c1}}
        scrape_configs:
        - job_name: a
          scrape_interval: 1m30s
          metrics_path: /m
          scheme: https
          params: {module: [x]}
          honor_labels: true
          honor_timestamps: false
          static_configs: [{targets: ['a:1'], labels: {env: prod}}]
          relabel_configs:
          - {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}'}
          - {source_labels: [a], action: keep, regex: 'x|y'}
          - {source_labels: [a], action: drop, regex: 'z'}
          - {source_labels: [a], action: hashmod, modulus: 8, target_label: __tmp_h}
          - {action: labelmap, regex: '__meta_(.+)', replacement: '${1}'}
          - {action: labeldrop, regex: 'tmp_.*'}
          - {action: labelkeep, regex: '.*'}
          - {source_labels: [a], action: lowercase, target_label: l}
          - {source_labels: [a], action: uppercase, target_label: u}
          - {source_labels: [a], action: keepequal, target_label: b}
          - {source_labels: [a], action: dropequal, target_label: c}
          metric_relabel_configs:
          - {source_labels: [__name__], regex: 'go_.*', action: drop}
        """),
        ("short interval lowers the default timeout", true, "global: {scrape_interval: 5s}\nscrape_configs:\n- job_name: a\n  scrape_interval: 2s\n"),
        ("file_sd", true, "scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: ['/etc/sd/*.json'], refresh_interval: 1m}]\n"),
        // kubernetes_sd_configs is not compared: Debian builds Prometheus without Kubernetes SD.
        ("remote_write", true, """
        remote_write:
        - url: http://collector:9490/api/v1/write
          remote_timeout: 30s
          queue_config: {max_samples_per_send: 500, batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s, max_shards: 4}
          write_relabel_configs: [{source_labels: [__name__], regex: 'x', action: drop}]
        """),
        ("scrape limits", true, "scrape_configs:\n- job_name: a\n  sample_limit: 1000\n  body_size_limit: 10MB\n  label_limit: 30\n  label_name_length_limit: 100\n  label_value_length_limit: 200\n"),
        ("anchors and merge keys", true, """
        scrape_configs:
        - &base
          job_name: a
          scrape_interval: 30s
          static_configs: [{targets: ['a:1']}]
        - <<: *base
          job_name: b
        """),
        ("merge makes a duplicate job", false, """
        scrape_configs:
        - &base
          job_name: a
        - <<: *base
          scrape_interval: 1m
        """),
        ("unknown key", false, "scrape_configs:\n- job_name: a\n  scrape_intervall: 10s\n"),
        ("unknown top-level key", false, "globl: {}\n"),
        ("duplicate job", false, "scrape_configs:\n- job_name: a\n- job_name: a\n"),
        ("timeout above interval", false, "scrape_configs:\n- job_name: a\n  scrape_interval: 5s\n  scrape_timeout: 10s\n"),
        ("global timeout above interval", false, "global: {scrape_interval: 5s, scrape_timeout: 10s}\n"),
        ("bad regex", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: '(x', target_label: b}]\n"),
        ("lookahead regex", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: 'foo(?=bar)', target_label: b}]\n"),
        ("backreference regex", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: '(a)\\1', target_label: b}]\n"),
        ("possessive quantifier", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: 'a++', target_label: b}]\n"),
        ("escaped backslash then digit", true, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: 'a\\\\1[)(?=]', target_label: b}]\n"),
        ("named group and flags", true, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: '(?i)(?P<x>[a-z]+):\\d+', target_label: b, replacement: '${x}'}]\n"),
        ("hashmod without modulus", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], action: hashmod, target_label: b}]\n"),
        ("labeldrop with target", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{action: labeldrop, regex: x, target_label: y}]\n"),
        ("lowercase with replacement", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], action: lowercase, target_label: b, replacement: x}]\n"),
        ("replace without target", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: x}]\n"),
        ("keepequal with regex", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], action: keepequal, target_label: b, regex: x}]\n"),
        ("unknown action", false, "scrape_configs:\n- job_name: a\n  relabel_configs: [{action: explode}]\n"),
        ("bad duration", false, "global: {scrape_interval: 15x}\n"),
        ("duplicate YAML key", false, "scrape_configs:\n- job_name: a\n  job_name: b\n"),
        ("bad static label name", false, "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['a:1'], labels: {'bad-name': x}}]\n"),
        ("authorization type basic", false, "scrape_configs:\n- job_name: a\n  authorization: {type: Basic, credentials: x}\n"),
        ("basic_auth and bearer_token", false, "scrape_configs:\n- job_name: a\n  basic_auth: {username: u, password: p}\n  bearer_token: t\n"),
        ("file_sd extension", false, "scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: ['/etc/sd/targets.txt']}]\n"),
        ("empty job name", false, "scrape_configs:\n- scrape_interval: 1m\n"),
        ("remote_write without url", false, "remote_write:\n- name: x\n"),
        ("boolean typo", false, "scrape_configs:\n- job_name: a\n  honor_labels: treu\n"),
    ]

    @Test(.timeLimit(.minutes(2))) func agreesWithPromtool() throws {
        guard let promtool = installedPeer("/usr/bin/promtool", package: "prometheus") else { return }
        let dir = try tempDir("promtool")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (i, c) in Self.cases.enumerated() {
            let path = dir + "/c\(i).yml"
            try c.yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try runTool(promtool, ["check", "config", "--syntax-only", path])
            let text = r.out + r.err
            let promtoolOK = r.status == 0
            var ours: String? = nil
            do { _ = try ConfigLoader.parse(c.yaml, file: "c\(i).yml") } catch { ours = "\(error)" }
            #expect(promtoolOK == c.valid, "\(c.name): promtool says \(promtoolOK ? "valid" : "invalid"): \(text)")
            #expect((ours == nil) == c.valid, "\(c.name): we say \(ours ?? "valid")")
        }
        // Deliberately stricter than Prometheus, which only fails such targets at scrape time.
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("scrape_configs:\n- job_name: a\n  scheme: ftp\n", file: "t.yml") }
    }
}
