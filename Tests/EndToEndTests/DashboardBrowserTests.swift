import Foundation
import Testing

/// The dashboard in real headless Chromium against a real collector fed by `edge-scraper simulate`:
/// what a person would see, checked through the DOM the pages build (data-* attributes), plus
/// screenshots under .build/dashboard-screenshots/ to look at.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct DashboardBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: DashboardBrowserTests.chromium != nil, "chromium is not installed: apt-get install -y chromium (make test installs it)"))
    func fleetPagesRenderTheSimulatedFleet() async throws {
        let dir = try E2E.tempDir("dashboard")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = E2E.freePort()
        let base = "http://127.0.0.1:\(port)"
        let config = dir + "/collector.yml"
        try "fleet: {down_after: 20s, stale_after: 1h, refresh_interval: 5s}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let collector = try ChildProcess("collector", try E2E.binary("collector"),
                                         ["--no-auth", "--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data", "--config", config],
                                         logDir: dir)
        defer { collector.stop() }
        try await E2E.waitUntil("collector ready") { await E2E.get(base + "/-/ready")?.0 == 200 }

        let sim = try ChildProcess("simulate", try E2E.binary("edge-scraper"),
                                   ["simulate", "--clusters", "30", "--series-per-cluster", "50", "--remote-write", base + "/api/v1/write",
                                    "--interval", "2s", "--duration", "40s", "--fail-fraction", "0.3", "--seed", "7"],
                                   logDir: dir)
        defer { sim.stop() }

        // The registry refreshes every 5 s: wait until it knows the whole fleet and has seen a failure.
        var failing: [String] = []
        do {
            try await E2E.waitUntil("the fleet registry to list 30 clusters, some down or degraded", seconds: 90) {
                guard let d = try? await E2E.getJSON(base + "/api/v1/fleet/clusters?health=down,degraded&limit=100")["data"] as? [String: Any],
                      let s = try? await E2E.getJSON(base + "/api/v1/fleet/summary")["data"] as? [String: Any],
                      (s["total"] as? Int) == 30, let list = d["clusters"] as? [[String: Any]], !list.isEmpty else { return false }
                failing = list.compactMap { $0["cluster"] as? String }
                return true
            }
        } catch {
            Issue.record("\(error)\ncollector:\n\(collector.logTail())\nsimulate:\n\(sim.logTail())")
            return
        }
        let names = (1...30).map { String(format: "edge-%05d", $0) }
        let shots = E2E.repoRoot + "/.build/dashboard-screenshots"
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)

        // Overview: every simulated cluster in the table, failing ones marked as such.
        let overview = try await Browser.dumpDOM(base + "/?limit=100", dir: dir)
        let rows = Self.matches(#"data-cluster="([^"]+)" data-health="([^"]+)""#, in: overview)
        let health = Dictionary(rows.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(health.keys) == Set(names), "overview rows: \(health.keys.sorted())")
        #expect(health.values.contains { $0 == "down" || $0 == "degraded" }, "no failing cluster in the overview: \(health)")
        #expect(failing.contains { health[$0] == "down" || health[$0] == "degraded" },
                "clusters the API called failing (\(failing)) are not marked so in the DOM: \(health)")
        #expect(overview.contains(#"data-cells="30""#), "the heat map did not draw 30 cells")
        let cards = Self.matches(#"data-health="(healthy|degraded|down|stale)" data-count="(\d+)""#, in: overview)
        #expect(cards.reduce(0) { $0 + (Int($1[1]) ?? 0) } == 30, "summary cards: \(cards)")
        // Worst first: the first row is no healthier than the last.
        let rank = ["down": 0, "degraded": 1, "stale": 2, "healthy": 3]
        if let first = rows.first, let last = rows.last { #expect(rank[first[1]]! <= rank[last[1]]!) }

        // Cluster page: its charts draw series from query_range.
        let target = names[0]
        let cluster = try await Browser.dumpDOM(base + "/clusters/" + target, dir: dir)
        let drawn = Dictionary(Self.matches(#"data-chart="(\w+)"[^>]*data-series="(\d+)""#, in: cluster).map { ($0[0], Int($0[1]) ?? 0) },
                               uniquingKeysWith: { a, _ in a })
        for chart in ["cpu", "mem", "disk", "net", "phase"] {
            #expect((drawn[chart] ?? 0) >= 1, "cluster chart \(chart) drew no series: \(drawn)")
        }
        #expect(cluster.contains("<h1 id=\"cluster-name\">\(target)</h1>"))

        // Explore: `up` as a graph and as a table.
        let graph = try await Browser.dumpDOM(base + "/explore?expr=up", dir: dir)
        let graphSeries = Int(Self.matches(#"id="view-graph"[^>]*data-series="(\d+)""#, in: graph).first?[0] ?? "") ?? 0
        #expect(graphSeries >= 30, "explore graph drew \(graphSeries) series of up")
        let table = try await Browser.dumpDOM(base + "/explore?expr=up&tab=table", dir: dir)
        #expect(table.components(separatedBy: "data-result=\"1\"").count - 1 >= 30, "explore table has too few rows")
        #expect(table.contains("up{cluster=&quot;edge-00001&quot;") || table.contains("up{cluster=\"edge-00001\""))

        // A bad query shows the API's own error text.
        let bad = "sum(rate(up[5m]"
        let apiError = try await E2E.getJSON(base + "/api/v1/query?query=" + bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        let errorText = try #require(apiError["error"] as? String)
        let errorPage = try await Browser.dumpDOM(base + "/explore?tab=table&expr=" + bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, dir: dir)
        let escaped = errorText.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        #expect(errorPage.contains(escaped), "explore does not show the API error \(errorText)")

        // Alerts: no rules engine yet, so the clear empty state.
        let alerts = try await Browser.dumpDOM(base + "/alerts", dir: dir)
        #expect(alerts.contains("id=\"alerts-empty\"") || alerts.contains("class=\"alert-group\""))

        // Screenshots to look at (not asserted).
        for (name, path, dark) in [("overview", "/", false), ("overview-dark", "/", true), ("cluster", "/clusters/" + (failing.first ?? target), false),
                                   ("cluster-dark", "/clusters/" + target, true), ("explore", "/explore?range=5m&expr=sum%20by%20(region)%20(up)", false),
                                   ("alerts", "/alerts", false)] {
            try await Browser.screenshot(base + path, to: shots + "/\(name).png", dark: dark, dir: dir)
        }
    }

    static func matches(_ pattern: String, in s: String) -> [[String]] {
        let re = try! NSRegularExpression(pattern: pattern)
        let ns = s as NSString
        return re.matches(in: s, range: NSRange(location: 0, length: ns.length)).map { m in
            (1..<m.numberOfRanges).map { ns.substring(with: m.range(at: $0)) }
        }
    }
}

/// One headless Chromium run per page, bounded in time and killed by PID if it hangs.
enum Browser {
    static func run(_ args: [String], dir: String, seconds: Double = 60) async throws -> String {
        guard let chromium = DashboardBrowserTests.chromium else { throw E2EError("chromium is not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        let profile = dir + "/chromium-profile-\(UUID().uuidString.prefix(8))"
        p.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                       "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=10000"] + args
        let out = dir + "/chromium-\(UUID().uuidString.prefix(8)).out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        defer { try? handle.close() }
        p.standardOutput = handle
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw E2EError("chromium \(args.last ?? "") did not finish within \(Int(seconds)) s")
        }
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    static func dumpDOM(_ url: String, dir: String) async throws -> String {
        let dom = try await run(["--window-size=1400,1000", "--dump-dom", url], dir: dir)
        if dom.isEmpty { throw E2EError("chromium printed no DOM for \(url)") }
        return dom
    }

    static func screenshot(_ url: String, to path: String, dark: Bool, dir: String) async throws {
        try? FileManager.default.removeItem(atPath: path)
        _ = try await run(["--screenshot=" + path, "--window-size=1400,1000", "--hide-scrollbars"] + (dark ? ["--force-dark-mode"] : []) + [url], dir: dir)
        #expect(FileManager.default.fileExists(atPath: path), "no screenshot of \(url)")
    }
}
