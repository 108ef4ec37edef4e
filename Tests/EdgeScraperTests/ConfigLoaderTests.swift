import Testing
import Storage
@testable import EdgeScraper

@Suite struct ConfigLoaderTests {
    func parseError(_ text: String) -> String {
        do { _ = try ConfigLoader.parse(text, file: "edge.yml"); return "no error" } catch { return "\(error)" }
    }

    @Test func fullConfig() throws {
        let cfg = try ConfigLoader.parse("""
        global:
          scrape_interval: 15s
          evaluation_interval: 1m
          external_labels:
            cluster: shop-7
            region: eu
        scrape_configs:
          - job_name: app
            scrape_interval: 1m30s
            metrics_path: /m
            scheme: https
            params: {module: [http_2xx]}
            honor_labels: true
            honor_timestamps: false
            authorization: {credentials_file: /var/run/token}
            tls_config: {ca_file: /ca.pem, insecure_skip_verify: true}
            static_configs:
              - targets: ['a:9100', 'b:9100']
                labels: {env: prod}
            file_sd_configs:
              - files: [/etc/sd/*.json]
                refresh_interval: 30s
            kubernetes_sd_configs:
              - role: pod
                namespaces: {names: [default]}
            relabel_configs:
              - source_labels: [__address__]
                regex: '(.*):9100'
                target_label: host
                replacement: '${1}'
              - action: hashmod
                source_labels: [__address__]
                modulus: 4
                target_label: __tmp_hash
            metric_relabel_configs:
              - action: labeldrop
                regex: 'go_.*'
          - job_name: other
        remote_write:
          - url: https://collector.example/api/v1/write
            bearer_token_file: /token
            queue_config:
              max_samples_per_send: 500
              batch_send_deadline: 10s
              min_backoff: 100ms
              max_backoff: 10s
              max_shards: 2
        node: {enabled: true, job_name: host, interval: 30s}
        pods:
          enabled: true
          kubelet: {url: 'https://127.0.0.1:10250', bearer_token_file: /t}
          cgroup_root: /sys/fs/cgroup
        queue: {dir: /var/lib/edge, max_bytes: 1GB}
        """, file: "edge.yml")
        #expect(cfg.global.scrapeInterval == 15_000)
        #expect(cfg.global.scrapeTimeout == 10_000)
        #expect(cfg.global.externalLabels == Labels(["cluster": "shop-7", "region": "eu"]))
        let app = cfg.scrapeConfigs[0]
        #expect(app.scrapeInterval == 90_000)
        #expect(app.scrapeTimeout == 10_000)
        #expect(app.metricsPath == "/m")
        #expect(app.scheme == "https")
        #expect(app.params == ["module": ["http_2xx"]])
        #expect(app.honorLabels && !app.honorTimestamps)
        #expect(app.auth == .bearer(credentials: nil, credentialsFile: "/var/run/token", type: "Bearer"))
        #expect(app.tls.caFile == "/ca.pem" && app.tls.insecureSkipVerify)
        #expect(app.staticConfigs[0].targets == ["a:9100", "b:9100"])
        #expect(app.staticConfigs[0].labels["env"] == "prod")
        #expect(app.fileSDConfigs[0].refreshInterval == 30_000)
        #expect(app.kubernetesSDConfigs[0].role == .pod && app.kubernetesSDConfigs[0].namespaces == ["default"])
        #expect(app.relabelConfigs[0].replacement == "${1}")
        #expect(app.relabelConfigs[1].action == .hashmod && app.relabelConfigs[1].modulus == 4)
        #expect(app.metricRelabelConfigs[0].action == .labeldrop)
        // Inherits the global interval; timeout stays the global 10s.
        #expect(cfg.scrapeConfigs[1].scrapeInterval == 15_000)
        let rw = cfg.remoteWrite[0]
        #expect(rw.queueConfig.maxSamplesPerSend == 500 && rw.queueConfig.minBackoff == 100 && rw.queueConfig.maxShards == 2)
        #expect(rw.auth == .bearer(credentials: nil, credentialsFile: "/token", type: "Bearer"))
        #expect(cfg.node.jobName == "host" && cfg.node.interval == 30_000)
        #expect(cfg.pods.enabled && cfg.pods.kubelet.url == "https://127.0.0.1:10250")
        #expect(cfg.queue.maxBytes == 1 << 30 && cfg.queue.dir == "/var/lib/edge")
        let limits = try ConfigLoader.parse("scrape_configs:\n- job_name: a\n  body_size_limit: 10MB\n  label_limit: 30\n  label_name_length_limit: 100\n  label_value_length_limit: 200\n", file: "t.yml").scrapeConfigs[0]
        #expect(limits.bodySizeLimit == 10 << 20 && limits.labelLimit == 30 && limits.labelNameLengthLimit == 100 && limits.labelValueLengthLimit == 200)
    }

    @Test func defaultsAsPrometheus() throws {
        let cfg = try ConfigLoader.parse("scrape_configs:\n- job_name: a\n", file: "p.yml")
        #expect(cfg.global.scrapeInterval == 60_000 && cfg.global.scrapeTimeout == 10_000)
        #expect(cfg.scrapeConfigs[0].scrapeInterval == 60_000 && cfg.scrapeConfigs[0].metricsPath == "/metrics")
        // A short interval without explicit timeout lowers the timeout to the interval.
        let short = try ConfigLoader.parse("global: {scrape_interval: 5s}\nscrape_configs:\n- job_name: a\n  scrape_interval: 2s\n", file: "p.yml")
        #expect(short.global.scrapeTimeout == 5_000)
        #expect(short.scrapeConfigs[0].scrapeTimeout == 2_000)
        let empty = try ConfigLoader.parse("", file: "p.yml")
        #expect(empty == EdgeConfig())
    }

    @Test func relabelDefaultsAndNulls() throws {
        let cfg = try ConfigLoader.parse("""
        scrape_configs:
        - job_name: a
          relabel_configs:
          - source_labels: [x]
            target_label: y
            replacement:
            separator: ""
          - source_labels: [x]
            target_label: z
            replacement: ''
        """, file: "t.yml")
        let r = cfg.scrapeConfigs[0].relabelConfigs
        #expect(r[0].replacement == "$1" && r[0].separator == "" && r[0].regex == "(.*)" && r[0].action == .replace)
        #expect(r[1].replacement == "")
    }

    @Test func durationsAndSizes() {
        #expect(ConfigLoader.parseDuration("15s") == 15_000)
        #expect(ConfigLoader.parseDuration("1m30s") == 90_000)
        #expect(ConfigLoader.parseDuration("2h") == 7_200_000)
        #expect(ConfigLoader.parseDuration("1d12h") == 129_600_000)
        #expect(ConfigLoader.parseDuration("500ms") == 500)
        #expect(ConfigLoader.parseDuration("0") == 0)
        #expect(ConfigLoader.parseDuration("30s1m") == nil)
        #expect(ConfigLoader.parseDuration("15") == nil)
        #expect(ConfigLoader.parseDuration("1.5s") == nil)
        #expect(ConfigLoader.parseDuration("") == nil)
        #expect(ConfigLoader.parseSize("512MiB") == 512 << 20)
        #expect(ConfigLoader.parseSize("1GB") == 1 << 30)
        #expect(ConfigLoader.parseSize("4096") == 4096)
        #expect(ConfigLoader.parseSize("lots") == nil)
    }

    @Test func unknownKeysNameFileLineAndPath() {
        let e = parseError("""
        global:
          scrape_interval: 15s
        scrape_configs:
          - job_name: a
            scrape_intervall: 10s
        """)
        #expect(e.hasPrefix("edge.yml:5: unknown key \"scrape_intervall\" in scrape_configs[0]"))
        #expect(e.contains("did you mean \"scrape_interval\""))
        #expect(parseError("globl: {}").hasPrefix("edge.yml:1: unknown key \"globl\" in the top level"))
        #expect(parseError("queue:\n  dir: /q\n  max_byte: 1GB").hasPrefix("edge.yml:3: unknown key \"max_byte\" in queue"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - sourcelabels: [a]").hasPrefix(
            "edge.yml:4: unknown key \"sourcelabels\" in scrape_configs[0].relabel_configs[0]"))
    }

    @Test func invalidValues() {
        #expect(parseError("global:\n  scrape_interval: 15x").hasPrefix("edge.yml:2: invalid scrape_interval \"15x\" in global"))
        #expect(parseError("scrape_configs:\n- job_name: a\n- job_name: a").contains("multiple scrape configs with job name \"a\""))
        #expect(parseError("scrape_configs:\n- job_name: a\n  scrape_interval: 5s\n  scrape_timeout: 10s").hasPrefix(
            "edge.yml:4: scrape timeout greater than scrape interval for scrape config with job name \"a\""))
        #expect(parseError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - regex: '(unclosed'\n    target_label: x").contains("invalid regular expression"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: hashmod\n    target_label: x").contains("requires non-zero modulus"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: explode").contains("unknown relabel action \"explode\""))
        #expect(parseError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: labeldrop\n    regex: x\n    target_label: y").contains("labeldrop action requires only 'regex'"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: lowercase\n    source_labels: [a]").contains("requires 'target_label'"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  honor_labels: yes").hasPrefix("edge.yml:3: invalid honor_labels \"yes\""))
        #expect(parseError("scrape_configs:\n- job_name: a\n  scheme: ftp").contains("invalid scheme \"ftp\""))
        #expect(parseError("scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['http://a:1/metrics']").contains("invalid target"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  kubernetes_sd_configs:\n  - role: service").contains("not supported"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  static_configs:\n  - labels: {'bad-name': x}").contains("not a valid label name"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  basic_auth: {username: u}\n  bearer_token: t").contains("at most one of"))
        #expect(parseError("remote_write:\n- url: collector:9490").contains("invalid url"))
        #expect(parseError("queue:\n  max_bytes: huge").hasPrefix("edge.yml:2: invalid queue.max_bytes \"huge\""))
        #expect(parseError("rule_files: [a.yml]").contains("not supported"))
        #expect(parseError("scrape_configs: {job_name: a}").contains("must be a list"))
        #expect(parseError("global:\n  scrape_interval: [1]").contains("must be a string"))
        #expect(parseError("a: [").hasPrefix("edge.yml:1: column"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  consul_sd_configs: []").hasPrefix(
            "edge.yml:3: \"consul_sd_configs\" in scrape_configs[0] is a Prometheus setting the edge scraper does not support"))
        #expect(parseError("scrape_configs:\n- job_name: a\n  body_size_limit: lots").contains("invalid body_size_limit"))
    }

    @Test func loadReadsFiles() throws {
        let path = "/tmp/edgecore-config-test-\(nowMillis()).yml"
        try FileIO.write(path, Array("scrape_configs:\n- job_name: f\n".utf8))
        #expect(try ConfigLoader.load(path: path).scrapeConfigs[0].jobName == "f")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/edge.yml") }
    }
}
