import Foundation
import Testing
import Storage
import TestSupport
@testable import EdgeScraper

/// Which expositions are valid is decided by the real peer: Prometheus 2.42 scrapes each body
/// below (served on 127.0.0.1) and its `up` must equal ours: 1 when the scrape parses, 0 when
/// it fails.
@Suite struct ExpositionPrometheusTests {
    static let text = "text/plain; version=0.0.4"
    static let om = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    static let cases: [(name: String, contentType: String, body: [UInt8])] = {
        var c: [(String, String, [UInt8])] = []
        func t(_ name: String, _ body: String, _ ct: String = text) { c.append((name, ct, Array(body.utf8))) }
        t("basic", "# HELP m help\n# TYPE m counter\nm{a=\"1\"} 1\nm 2\n")
        t("timestamp", "m{a=\"1\"} 1 1700000000000\n")
        t("spaces in label set", "m { a = \"1\" , b=\"2\" } 1\n")
        t("trailing comma", "m{a=\"1\",} 1\n")
        t("empty label set", "m{} 1\n")
        t("missing value", "m\n")
        t("bad value", "m abc\n")
        t("unterminated label value", "m{a=\"1} 1\n")
        t("duplicate label name", "m{a=\"1\",a=\"2\"} 1\n")
        t("invalid label name", "m{1a=\"x\"} 1\n")
        t("bad type", "# TYPE m blah\nm 1\n")
        t("help escapes", "# HELP m a\\\\b\\nc\nm 1\n")
        t("special values", "a NaN\nb +Inf\nc -Inf\nd 1e-3\ne -0\n")
        t("unknown escape in label value", "m{a=\"x\\qy\"} 1\n")
        t("float timestamp in text", "m 1 1.5\n")
        t("exemplar in text", "m 1 # {t=\"1\"} 1\n")
        t("comments and blank lines", "# just a comment\n\nm 1\n\n# another\n")
        t("no trailing newline", "m 1")
        t("metric name with colon", "a:b 1\n")
        t("leading whitespace", "  m 1\n")
        t("whitespace-only line", "m 1\n   \nn 2\n")
        t("indented comment", "  # c\nm 1\n")
        t("infinity spelled out", "m Infinity\nn -inf\n")
        t("underscore in value", "m 1_000\n")
        t("tab separators", "m\t1\t100\n")
        t("empty body", "")
        t("value overflow", "m 1e400\n")
        t("hex value", "m 0x1p-2\n")
        t("label without quotes", "m{a=1} 1\n")
        t("histogram", "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.2\nh_count 2\n")
        var bad = Array("m{a=\"".utf8); bad += [0xC3, 0x28]; bad += Array("\"} 1\n".utf8)
        c.append(("invalid UTF-8", text, bad))
        t("om valid", "# TYPE m counter\n# HELP m help\nm_total 1\nm_created 1700000000.5\n# EOF\n", om)
        t("om missing EOF", "m 1\n", om)
        t("om exemplar", "# TYPE m counter\nm_total 1 # {trace_id=\"a\"} 0.5 1700000000.1\n# EOF\n", om)
        t("om blank line", "m 1\n\n# EOF\n", om)
        t("om data after EOF", "m 1\n# EOF\nn 2\n", om)
        t("om float timestamp", "m 1 1700000000.123\n# EOF\n", om)
        t("om unit mismatch", "# TYPE a_seconds gauge\n# UNIT a_seconds bytes\na_seconds 1\n# EOF\n", om)
        t("om trailing comma", "m{a=\"1\",} 1\n# EOF\n", om)
        t("om plain comment", "# hello\nm 1\n# EOF\n", om)
        t("om unknown escape", "m{a=\"x\\qy\"} 1\n# EOF\n", om)
        return c
    }()

    @Test(.timeLimit(.minutes(1))) func validityMatchesPrometheus() async throws {
        guard let binary = installedPeer("/usr/bin/prometheus", package: "prometheus") else { return }
        var routes: [String: (contentType: String, body: [UInt8])] = [:]
        for (i, c) in Self.cases.enumerated() { routes["/m\(i)"] = (c.contentType, c.body) }
        let server = try RecordedServer(routes: routes)
        defer { server.stop() }
        var config = "global: {scrape_interval: 1s}\nscrape_configs:\n"
        for i in Self.cases.indices {
            config += "- job_name: c\(i)\n  metrics_path: /m\(i)\n  static_configs: [{targets: ['127.0.0.1:\(server.port)']}]\n"
        }
        let dir = try tempDir("promexpo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (proc, port) = try startPrometheus(binary, dir: dir, config: config)
        defer { proc.stop() }
        // The largest value over every scrape so far, not the last one: one scrape that timed
        // out on a loaded machine (1 s interval, one accept thread serving every job) must not
        // read as a refused body. A body Prometheus refuses gives the same numbers every time.
        func query(_ name: String) -> [String: String] {
            var out: [String: String] = [:]
            if let r = Loopback.get(port: port, path: "/api/v1/query?query=max_over_time(\(name)%5B1h%5D)"), r.0 == 200,
               let json = try? JSONSerialization.jsonObject(with: Data(r.2)) as? [String: Any],
               let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] {
                for s in result {
                    if let job = (s["metric"] as? [String: String])?["job"], let v = (s["value"] as? [Any])?.last as? String { out[job] = v }
                }
            }
            return out
        }
        var up: [String: String] = [:]
        for _ in 0..<150 {
            up = query("up")
            if up.count == Self.cases.count { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        // The first scrape's scrape_series_added: every series is new then.
        var firstAdded: [String: String] = [:]
        if let r = Loopback.get(port: port, path: "/api/v1/query?query=scrape_series_added%5B1h%5D"), r.0 == 200,
           let json = try? JSONSerialization.jsonObject(with: Data(r.2)) as? [String: Any],
           let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] {
            for s in result {
                // The largest: the first successful scrape adds every series, later ones none.
                if let job = (s["metric"] as? [String: String])?["job"],
                   let v = ((s["values"] as? [[Any]]) ?? []).compactMap({ ($0.last as? String).flatMap(Double.init) }).max() {
                    firstAdded[job] = String(Int(v))
                }
            }
        }
        let scraped = query("scrape_samples_scraped")
        let post = query("scrape_samples_post_metric_relabeling")
        #expect(up.count == Self.cases.count, "Prometheus reported up for \(up.count) of \(Self.cases.count) jobs")
        for (i, c) in Self.cases.enumerated() {
            guard let theirs = up["c\(i)"] else { continue }
            var sc = ScrapeConfig()
            sc.jobName = "c\(i)"
            let target = try #require(try TargetBuilder.populate(Labels(["__address__": "127.0.0.1:1"]), config: sc, rules: []))
            var p = ScrapeProcessor(target: target, config: sc, metricRules: [], externalLabels: Labels())
            let (_, report) = p.process(.body(c.body, contentType: c.contentType), start: 0, duration: 0)
            #expect((theirs == "1") == report.up, "\(c.name): Prometheus up=\(theirs), ours: \(report.error ?? "parsed")")
            // Prometheus reads while it appends: a failed scrape reports what it read before.
            #expect(scraped["c\(i)"] == String(report.samplesScraped), "\(c.name): samples scraped: Prometheus \(scraped["c\(i)"] ?? "-"), ours \(report.samplesScraped)")
            // Samples with explicit timestamps from the past are refused by Prometheus' TSDB
            // (out of bounds), which then does not count their series as added: a storage
            // effect, not a scrape one, so those bodies are not compared here.
            let oldTimestamps = ["timestamp", "tab separators", "om float timestamp"].contains(c.name)
            #expect(oldTimestamps || firstAdded["c\(i)"] == String(report.seriesAdded), "\(c.name): series added: Prometheus \(firstAdded["c\(i)"] ?? "-"), ours \(report.seriesAdded)")
            #expect(post["c\(i)"] == String(report.samplesPostRelabel), "\(c.name): post relabeling: Prometheus \(post["c\(i)"] ?? "-"), ours \(report.samplesPostRelabel)")
        }
    }
}
