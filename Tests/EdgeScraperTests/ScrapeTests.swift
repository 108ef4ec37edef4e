import Testing
import Logging
import RemoteWrite
import Storage
import Synchronization
import TestSupport
@testable import EdgeScraper

/// Collects what the scrape side enqueues.
final class CollectingSink: SampleSink {
    let batches = Mutex<[[TimeSeries]]>([])
    func enqueue(_ batch: EncodedBatch) async throws {
        let series = batch.timeSeries
        #expect(series.count == batch.entries.count, "every entry's labels decode")
        batches.withLock { $0.append(series) }
    }
    var all: [TimeSeries] { batches.withLock { $0.flatMap { $0 } } }
}

/// Serves canned bodies by URL; counts requests.
final class FakeTransport: HTTPTransport {
    let bodies = Mutex<[String: (status: Int, contentType: String, body: String)]>([:])
    let requests = Mutex<[HTTPRequest]>([])
    func set(_ url: String, _ body: String, status: Int = 200, contentType: String = "text/plain; version=0.0.4") {
        bodies.withLock { $0[url] = (status, contentType, body) }
    }
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        requests.withLock { $0.append(request) }
        guard let b = bodies.withLock({ $0[request.url] }) else { throw TargetError(message: "connection refused: \(request.url)") }
        return HTTPResponse(status: b.status, headers: [("Content-Type", b.contentType)], body: Array(b.body.utf8))
    }
}

func series(_ ts: [TimeSeries], _ name: String) -> [TimeSeries] {
    ts.filter { Labels($0.labels).metricName == name }
}

func series(_ batch: EncodedBatch, _ name: String) -> [TimeSeries] { series(batch.timeSeries, name) }

@Suite struct ScrapeTests {
    func target(_ extra: [String: String] = [:], config: ScrapeConfig) throws -> ScrapeTarget {
        var d = ["__address__": "app:8080"]
        for (k, v) in extra { d[k] = v }
        return try #require(try TargetBuilder.populate(Labels(d), config: config, rules: Relabel.compile(config.relabelConfigs)))
    }

    func job(_ name: String = "app") -> ScrapeConfig {
        var c = ScrapeConfig()
        c.jobName = name
        c.scrapeInterval = 15_000
        return c
    }

    @Test func targetLabelsAndURL() throws {
        var c = job()
        c.params = ["module": ["http_2xx"], "x": ["a b"]]
        var r = RelabelConfig()
        r.sourceLabels = ["__meta_env"]
        r.targetLabel = "env"
        c.relabelConfigs = [r]
        let t = try target(["__meta_env": "prod", "__param_module": "tcp"], config: c)
        #expect(t.seriesLabels == Labels(["job": "app", "instance": "app:8080", "env": "prod"]))
        #expect(t.labels["__meta_env"] == nil)
        #expect(t.url == "http://app:8080/metrics?module=tcp&x=a+b")
        #expect(t.interval == 15_000 && t.timeout == 10_000)
        // Default port from the scheme, relabelled scheme/path/interval.
        var r2 = RelabelConfig(); r2.targetLabel = "__scheme__"; r2.replacement = "https"; r2.sourceLabels = ["job"]
        var r3 = RelabelConfig(); r3.targetLabel = "__metrics_path__"; r3.replacement = "/x"; r3.sourceLabels = ["job"]
        var r4 = RelabelConfig(); r4.targetLabel = "__scrape_interval__"; r4.replacement = "30s"; r4.sourceLabels = ["job"]
        c.relabelConfigs = [r2, r3, r4]
        c.params = [:]
        let t2 = try #require(try TargetBuilder.populate(Labels(["__address__": "host"]), config: c, rules: Relabel.compile(c.relabelConfigs)))
        #expect(t2.url == "https://host:443/x" && t2.interval == 30_000)
        #expect(t2.labels["instance"] == "host:443")
        // Dropped and invalid targets.
        var drop = RelabelConfig(); drop.action = .drop; drop.sourceLabels = ["__address__"]; drop.regex = "app:.*"
        #expect(try TargetBuilder.populate(Labels(["__address__": "app:1"]), config: c, rules: Relabel.compile([drop])) == nil)
        #expect(throws: TargetError.self) { try TargetBuilder.populate(Labels(["__address__": "a/b:1"]), config: c, rules: []) }
        let (ts, dropped, errs) = TargetBuilder.targets(
            from: [TargetGroup(source: "s", targets: [Labels(["__address__": "a:1"]), Labels(["__address__": "a:1"]), Labels(["__address__": "app:2"]), Labels(["x": "y"])], labels: Labels(["g": "1"]))],
            config: job(), rules: try Relabel.compile([drop]))
        #expect(ts.count == 1 && ts[0].labels["g"] == "1" && dropped == 1 && errs.count == 1)
    }

    @Test func processorMergesLabelsAndReports() throws {
        let c = job()
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels(["cluster": "c1", "job": "ignored"]))
        let body = """
        # TYPE m counter
        m{a="1"} 5
        m{a="2",job="exposed",instance="i"} 6 123
        other 7
        other 8
        """
        let (out, report) = p.process(.body(Array(body.utf8), contentType: "text/plain"), start: 1000, duration: 0.5)
        // The duplicate "other" is stored once but counted after relabeling, as Prometheus does.
        #expect(report.up && report.samplesScraped == 4 && report.samplesPostRelabel == 4 && report.seriesAdded == 3)
        let m = series(out, "m")
        #expect(Labels(m[0].labels) == Labels(["__name__": "m", "a": "1", "job": "app", "instance": "app:8080", "cluster": "c1"]))
        // Conflicting exposed labels become exported_*, honor_timestamps keeps 123.
        #expect(Labels(m[1].labels)["exported_job"] == "exposed" && Labels(m[1].labels)["exported_instance"] == "i")
        #expect(m[1].samples[0].t == 123 && m[0].samples[0].t == 1000)
        #expect(series(out, "other").count == 1 && series(out, "other")[0].samples[0].v == 7)
        #expect(series(out, "up")[0].samples[0].v == 1)
        #expect(Labels(series(out, "up")[0].labels) == Labels(["__name__": "up", "job": "app", "instance": "app:8080", "cluster": "c1"]))
        #expect(series(out, "scrape_duration_seconds")[0].samples[0].v == 0.5)
        #expect(series(out, "scrape_samples_scraped")[0].samples[0].v == 4)
        #expect(series(out, "scrape_samples_post_metric_relabeling")[0].samples[0].v == 4)
        #expect(series(out, "scrape_series_added")[0].samples[0].v == 3)
    }

    @Test func honorLabelsAndMetricRelabel() throws {
        var c = job()
        c.honorLabels = true
        var drop = RelabelConfig(); drop.action = .drop; drop.sourceLabels = ["__name__"]; drop.regex = "go_.*"
        c.metricRelabelConfigs = [drop]
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: try Relabel.compile(c.metricRelabelConfigs), externalLabels: Labels())
        let (out, r) = p.process(.body(Array("m{job=\"mine\"} 1\ngo_goroutines 5\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(Labels(series(out, "m")[0].labels)["job"] == "mine")
        #expect(series(out, "go_goroutines").isEmpty && r.samplesScraped == 2 && r.samplesPostRelabel == 1)
        // A second scrape hits the cache and gives the same answer.
        let (out2, _) = p.process(.body(Array("m{job=\"mine\"} 2\ngo_goroutines 5\n".utf8), contentType: nil), start: 2, duration: 0)
        #expect(series(out2, "m")[0].samples[0].v == 2 && series(out2, "go_goroutines").isEmpty)
    }

    @Test func stalenessMarkers() throws {
        let c = job()
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels())
        _ = p.process(.body(Array("a 1\nb 2\nts_series 3 500\n".utf8), contentType: nil), start: 1000, duration: 0)
        // b disappears: stale marker at the scrape time. Series with own timestamps get none.
        let (out, _) = p.process(.body(Array("a 1\n".utf8), contentType: nil), start: 2000, duration: 0)
        let b = series(out, "b")
        #expect(b.count == 1 && StaleNaN.isStale(b[0].samples[0].v) && b[0].samples[0].t == 2000)
        #expect(series(out, "ts_series").isEmpty)
        #expect(series(out, "scrape_series_added")[0].samples[0].v == 0)
        // A failed scrape: up 0 and every previous series ends.
        let (failed, r) = p.process(.failed("connection refused"), start: 3000, duration: 0.1)
        #expect(!r.up && series(failed, "up")[0].samples[0].v == 0)
        #expect(series(failed, "a").count == 1 && StaleNaN.isStale(series(failed, "a")[0].samples[0].v))
        // A malformed exposition fails the scrape with the line number, never the process.
        _ = p.process(.body(Array("a 1\n".utf8), contentType: nil), start: 4000, duration: 0)
        let (bad, r2) = p.process(.body(Array("a 1\nb{ 2\n".utf8), contentType: nil), start: 5000, duration: 0)
        #expect(!r2.up && r2.error?.hasPrefix("line 2:") == true)
        #expect(StaleNaN.isStale(series(bad, "a")[0].samples[0].v))
        // Target removal: stale markers for the last series and the report series.
        _ = p.process(.body(Array("a 1\n".utf8), contentType: nil), start: 6000, duration: 0)
        let gone = p.staleMarkers(at: 7000).timeSeries
        #expect(gone.count == 1 + 5 && gone.allSatisfy { StaleNaN.isStale($0.samples[0].v) && $0.samples[0].t == 7000 })
    }

    /// Series come and go over many scrapes (compaction forgets the old ones every 16th, and the
    /// cache's and the label store's arenas are rebuilt then): every scrape still yields exactly
    /// its own series with their labels and values, and a stale marker for each series of the
    /// previous scrape that is gone. Long names and values and short ones mixed.
    @Test func churnAcrossCompactionsMatchesAModel() throws {
        let c = job()
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels(["agent": "edge-with-a-long-name-1"]))
        var rng = SplitMix(seed: 7)
        var previous: Set<Labels> = []
        for scrape in 0..<80 {
            var body = "", expected: [Labels: Double] = [:]
            for _ in 0..<Int(rng.next() % 40) {
                let family = rng.next() % 6, k = rng.next() % 12
                let name = family % 2 == 0 ? "m\(family)" : "a_rather_long_family_name_\(family)_total"
                let value = k % 3 == 0 ? "v\(k)" : "a-label-value-longer-than-fifteen-\(k)"
                let labels = Labels(["__name__": name, "k": value, "job": "app", "instance": "app:8080", "agent": "edge-with-a-long-name-1"])
                guard expected[labels] == nil else { continue }
                let v = Double(scrape * 100 + Int(k))
                expected[labels] = v
                body += "\(name){k=\"\(value)\"} \(v)\n"
            }
            let (out, report) = p.process(.body(Array(body.utf8), contentType: nil), start: Int64(scrape) * 1000, duration: 0)
            #expect(report.up, "\(report.error ?? "")")
            var got: [Labels: Double] = [:], stale: Set<Labels> = []
            for ts in out.timeSeries where !ScrapeProcessor.reportNames.contains(Labels(ts.labels).metricName ?? "") {
                #expect(ts.samples.count == 1 && ts.samples[0].t == Int64(scrape) * 1000)
                if StaleNaN.isStale(ts.samples[0].v) { stale.insert(Labels(ts.labels)) } else { got[Labels(ts.labels)] = ts.samples[0].v }
            }
            #expect(got == expected, "scrape \(scrape)")
            #expect(stale == previous.subtracting(expected.keys), "scrape \(scrape)")
            previous = Set(expected.keys)
        }
    }

    /// The target's labels and the external labels are stored once per target: each series
    /// keeps a byte in their place, and a honor_labels series whose job differs keeps its own.
    @Test func targetAndExternalLabelsAreStoredOnce() throws {
        var c = job()
        c.honorLabels = true
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels(["region": "eu-west-with-a-long-name"]))
        let (out, _) = p.process(.body(Array("a 1\nb{job=\"other\"} 2\n".utf8), contentType: nil), start: 1, duration: 0)
        let wire = out.entries.map { out.wireLabels(of: $0)?.count ?? -1 }
        #expect(zip(out.entries, wire).allSatisfy { Int($0.size) == $1 })
        // job, instance and region: three bytes instead of three label records.
        let a = try #require(out.entries.first), b = try #require(out.entries.dropFirst().first)
        #expect(a.length + 40 < a.size)
        #expect(series(out, "b").map { Labels($0.labels)["job"] } == ["other"] && b.length < b.size)
        #expect(Labels(series(out, "a")[0].labels) == Labels(["__name__": "a", "job": "app", "instance": "app:8080", "region": "eu-west-with-a-long-name"]))
    }

    /// A reload hands the old processor's series to the new one: those the first scrape after it
    /// no longer has end with stale markers, with the old labels (here: another external label).
    @Test func reloadInheritsStaleness() throws {
        let c = job()
        let t = try target(config: c)
        var old = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels(["region": "a"]))
        _ = old.process(.body(Array("a 1\nb{x=\"1\"} 2\n".utf8), contentType: nil), start: 1000, duration: 0)
        var new = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels(["region": "a"]))
        new.inheritStaleness(from: old)
        let (out, report) = new.process(.body(Array("a 3\n".utf8), contentType: nil), start: 2000, duration: 0)
        #expect(series(out, "a").map(\.samples) == [[Sample(t: 2000, v: 3)]] && report.seriesAdded == 0)
        #expect(series(out, "b").count == 1 && StaleNaN.isStale(series(out, "b")[0].samples[0].v))
        #expect(series(out, "b").map { Labels($0.labels) } == [Labels(["__name__": "b", "x": "1", "job": "app", "instance": "app:8080", "region": "a"])])
        var moved = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels(["region": "b"]))
        moved.inheritStaleness(from: new)
        let (after, _) = moved.process(.body(Array("a 4\n".utf8), contentType: nil), start: 3000, duration: 0)
        #expect(series(after, "a").map { Labels($0.labels)["region"] }.sorted { ($0 ?? "") < ($1 ?? "") } == ["a", "b"])
        #expect(series(after, "a").allSatisfy { Labels($0.labels)["region"] == "b" || StaleNaN.isStale($0.samples[0].v) })
    }

    /// A batch shares the processor's label arena: what an earlier scrape handed over must keep
    /// its labels and values while later scrapes add series and compaction rebuilds the arena.
    @Test func earlierBatchesKeepTheirSeriesAfterLaterScrapes() throws {
        let c = job()
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels())
        let (first, _) = p.process(.body(Array("a 1\nb 2\n".utf8), contentType: nil), start: 1000, duration: 0)
        let expected = first.timeSeries
        #expect(series(first, "a")[0].samples == [Sample(t: 1000, v: 1)] && series(first, "b")[0].samples == [Sample(t: 1000, v: 2)])
        var last = first
        for k in 2...40 {
            // Series of their own each time, so the arena grows and compaction drops some.
            (last, _) = p.process(.body(Array("a \(k)\nnew_\(k){x=\"\(k)\"} 1\n".utf8), contentType: nil), start: Int64(k) * 1000, duration: 0)
            #expect(first.timeSeries == expected)
        }
        #expect(series(last, "a")[0].samples == [Sample(t: 40_000, v: 40)])
        #expect(series(last, "new_40").map { Labels($0.labels)["x"] } == ["40"])
        #expect(StaleNaN.isStale(series(last, "new_39")[0].samples[0].v))
    }

    @Test func sampleLimitFailsTheScrape() throws {
        var c = job()
        c.sampleLimit = 1
        let t = try target(config: c)
        var p = ScrapeProcessor(target: t, config: c, metricRules: [], externalLabels: Labels())
        let (out, r) = p.process(.body(Array("a 1\nb 2\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(!r.up && r.error?.contains("sample limit") == true && series(out, "a").isEmpty)
    }

    @Test func labelAndBodyLimitsFailTheScrape() throws {
        var c = job()
        c.labelLimit = 3   // __name__, job, instance + one exposed label = 4
        var p = ScrapeProcessor(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels(["cluster": "x"]))
        var (_, r) = p.process(.body(Array("ok 1\nm{a=\"1\"} 1\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(!r.up && r.error == "label_limit exceeded (metric: m, number of labels: 4, limit: 3)")
        c = job(); c.labelValueLengthLimit = 3
        p = ScrapeProcessor(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels())
        (_, r) = p.process(.body(Array("m{a=\"long\"} 1\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(!r.up && r.error?.hasPrefix("label_value_length_limit exceeded") == true)
        c = job(); c.labelNameLengthLimit = 4
        p = ScrapeProcessor(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels())
        (_, r) = p.process(.body(Array("m{abcde=\"v\"} 1\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(!r.up && r.error?.hasPrefix("label_name_length_limit exceeded") == true)
        c = job(); c.bodySizeLimit = 4
        p = ScrapeProcessor(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels())
        (_, r) = p.process(.body(Array("m 12345\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(!r.up && r.error?.hasPrefix("body size limit exceeded") == true)
    }

    /// Series before the one that fails a limit are counted (as Prometheus reports them) and then
    /// forgotten with the rest of the scrape, so the next good scrape adds them again.
    @Test func countsBeforeALimitErrorAndDuplicates() throws {
        var c = job()
        c.labelLimit = 3   // __name__, job, instance + one exposed label = 4
        var p = ScrapeProcessor(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels())
        let (failed, r) = p.process(.body(Array("ok 1\nok 5\nok2 2\nm{a=\"1\"} 1\nlate 3\n".utf8), contentType: nil), start: 1, duration: 0)
        #expect(!r.up && r.samplesScraped == 5 && r.samplesPostRelabel == 3 && r.seriesAdded == 2)
        #expect(series(failed, "ok").isEmpty && series(failed, "ok2").isEmpty && series(failed, "late").isEmpty)
        let (good, r2) = p.process(.body(Array("ok 1\nok 5\nok2 2\n".utf8), contentType: nil), start: 2, duration: 0)
        #expect(r2.up && r2.samplesPostRelabel == 3 && r2.seriesAdded == 2)
        // A duplicate series keeps its first sample.
        #expect(series(good, "ok").map(\.samples) == [[Sample(t: 2, v: 1)]] && series(good, "ok2").map(\.samples) == [[Sample(t: 2, v: 2)]])
        let (_, r3) = p.process(.body(Array("ok 1\nok2 2\nnew 4\n".utf8), contentType: nil), start: 3, duration: 0)
        #expect(r3.up && r3.seriesAdded == 1)
    }

    @Test func openMetricsByContentType() throws {
        let c = job()
        var p = ScrapeProcessor(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels())
        let (out, r) = p.process(.body(Array("a_total 1 # {x=\"y\"} 1\n# EOF\n".utf8), contentType: "application/openmetrics-text; version=1.0.0"), start: 1, duration: 0)
        #expect(r.up && series(out, "a_total").count == 1)
        let (_, r2) = p.process(.body(Array("a_total 1\n".utf8), contentType: "application/openmetrics-text; version=1.0.0"), start: 2, duration: 0)
        #expect(!r2.up && r2.error?.contains("# EOF") == true)
    }

    @Test func offsetIsStableAndWithinInterval() throws {
        let c = job()
        let loop = ScrapeLoop(target: try target(config: c), config: c, metricRules: [], externalLabels: Labels(),
                              transport: FakeTransport(), sink: CollectingSink(), logger: Logger(label: "t"), offsetSeed: 1)
        let a = loop.initialDelayNanos(now: 1_000_000_000_000)
        let b = loop.initialDelayNanos(now: 1_000_000_000_000 + 15_000_000_000)
        #expect(a == b && a <= 15_000_000_000)
    }

    @Test func managerScrapesReloadsAndEndsRemovedTargets() async throws {
        let transport = FakeTransport()
        transport.set("http://a:1/metrics", "m 1\n")
        transport.set("http://b:1/metrics", "n 2\n")
        let sink = CollectingSink()
        var cfg = try ConfigLoader.parse("""
        global: {scrape_interval: 1s, external_labels: {cluster: c1}}
        scrape_configs:
        - job_name: j
          static_configs: [{targets: ['a:1', 'b:1']}]
        - job_name: gone
          static_configs: [{targets: ['c:1']}]
        node: {enabled: false}
        """, file: "t.yml")
        let mgr = ScrapeManager(config: cfg, transport: transport, sink: sink, logger: Logger(label: "t"))
        let run = Task { await mgr.run() }
        // Bounded wait for the first scrapes of every target (offset is within one 1s interval).
        for _ in 0..<100 where series(sink.all, "up").count < 3 { try await Task.sleep(nanoseconds: 50_000_000) }
        let ups = series(sink.all, "up")
        #expect(Set(ups.compactMap { Labels($0.labels)["instance"] }) == ["a:1", "b:1", "c:1"])
        #expect(ups.first { Labels($0.labels)["instance"] == "c:1" }?.samples[0].v == 0)
        #expect(series(sink.all, "m").first.map { Labels($0.labels) } == Labels(["__name__": "m", "job": "j", "instance": "a:1", "cluster": "c1"]))
        #expect(transport.requests.withLock { $0.first?.headers.first { $0.name == "Accept" }?.value } == Exposition.acceptHeader)
        let status = await mgr.targetStatus()
        #expect(status.count == 3)
        #expect(status.first { $0.url == "http://c:1/metrics" }?.failures ?? 0 >= 1)
        let own = try Scraped(await mgr.targetMetricsText())
        #expect(own.samples[Labels(["__name__": "edge_scraper_target_up", "job": "j", "instance": "a:1"])] == 1)
        #expect(own.samples[Labels(["__name__": "edge_scraper_target_up", "job": "gone", "instance": "c:1"])] == 0)
        #expect((own.samples[Labels(["__name__": "edge_scraper_target_scrapes_total", "job": "j", "instance": "a:1"])] ?? 0) >= 1)
        // Reload without job "gone" and without target b: both end with stale markers.
        cfg = try ConfigLoader.parse("""
        global: {scrape_interval: 1s, external_labels: {cluster: c1}}
        scrape_configs:
        - job_name: j
          static_configs: [{targets: ['a:1']}]
        node: {enabled: false}
        """, file: "t.yml")
        await mgr.apply(cfg)
        // As Prometheus, the markers come at the next (skipped) tick and are written 1.1
        // intervals later: about 2 s here.
        for _ in 0..<200 where !series(sink.all, "n").contains(where: { StaleNaN.isStale($0.samples[0].v) })
            || !series(sink.all, "up").contains(where: { Labels($0.labels)["instance"] == "c:1" && StaleNaN.isStale($0.samples[0].v) }) {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let n = series(sink.all, "n")
        let marker = try #require(n.last)
        #expect(StaleNaN.isStale(marker.samples[0].v))
        #expect(n.dropLast().allSatisfy { $0.samples[0].t < marker.samples[0].t && !StaleNaN.isStale($0.samples[0].v) })
        #expect(series(sink.all, "up").contains { Labels($0.labels)["instance"] == "c:1" && StaleNaN.isStale($0.samples[0].v) })
        #expect(await mgr.targetStatus().map(\.url) == ["http://a:1/metrics"])
        run.cancel()
        await run.value
        // Shutdown is not the end of a series: a restart continues it, so no markers.
        #expect(!series(sink.all, "m").contains { StaleNaN.isStale($0.samples[0].v) })
    }
}
