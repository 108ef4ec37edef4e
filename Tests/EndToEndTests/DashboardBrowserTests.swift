import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

/// The dashboard in real headless Chromium against a real collector fed by `edge-scraper simulate`:
/// what a person would see, checked through the DOM the pages build (data-* attributes), plus
/// screenshots under .build/dashboard-screenshots/ to look at.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct DashboardBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: DashboardBrowserTests.chromium != nil, "chromium is not installed: apt-get install -y chromium (make test installs it)"))
    func fleetPagesRenderTheSimulatedFleet() async throws {
        let dir = try tempDir("e2e-dashboard")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let config = dir + "/collector.yml"
        try """
            fleet: {down_after: 20s, stale_after: 1h, refresh_interval: 5s}
            rules: {files: [rules.yml], evaluation_interval: 2s}

            """.write(toFile: config, atomically: true, encoding: .utf8)
        // One alert that always fires per region (no cluster label, so it degrades nobody) and the
        // usual per-target one that fires with the simulator's failures.
        try """
            groups:
              - name: dashboard-e2e
                interval: 2s
                rules:
                  - alert: RegionReporting
                    expr: count by (region) (up) > 0
                    labels: {severity: info}
                    annotations: {summary: "{{ $labels.region }} is reporting"}
                  - alert: TargetDown
                    expr: up == 0
                    labels: {severity: warning}
                    annotations: {summary: "{{ $labels.job }} on {{ $labels.instance }} is down"}

            """.write(toFile: dir + "/rules.yml", atomically: true, encoding: .utf8)
        let collector = try ChildProcess("collector", try E2E.binary("collector"),
                                         ["--no-auth", "--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data", "--config", config],
                                         logDir: dir)
        defer { collector.stop() }
        try await waitUntil("collector ready") { await HTTP.get(base + "/-/ready")?.0 == 200 }

        let sim = try ChildProcess("simulate", try E2E.binary("edge-scraper"),
                                   ["simulate", "--clusters", "30", "--series-per-cluster", "50", "--remote-write", base + "/api/v1/write",
                                    "--interval", "2s", "--duration", "40s", "--fail-fraction", "0.3", "--seed", "7"],
                                   logDir: dir)
        defer { sim.stop() }

        // The registry refreshes every 5 s: wait until it knows the whole fleet and has seen a failure.
        var failing: [String] = []
        do {
            try await waitUntil("the fleet registry to list 30 clusters, some down or degraded", seconds: 90) {
                guard let d = try? await HTTP.getJSON(base + "/api/v1/fleet/clusters?health=down,degraded&limit=100")["data"] as? [String: Any],
                      let s = try? await HTTP.getJSON(base + "/api/v1/fleet/summary")["data"] as? [String: Any],
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

        // Overview: every simulated cluster in the table, failing ones marked as such. Failures come
        // and go every few seconds, so compare with what the API said just before the page loaded.
        var overview = "", rows: [[String]] = [], health: [String: String] = [:]
        for _ in 0..<4 {
            if let d = try? await HTTP.getJSON(base + "/api/v1/fleet/clusters?health=down,degraded&limit=100")["data"] as? [String: Any],
               let list = d["clusters"] as? [[String: Any]], !list.isEmpty {
                failing = list.compactMap { $0["cluster"] as? String }
            }
            overview = try await Browser.dumpDOM(base + "/?limit=100", dir: dir)
            rows = Self.matches(#"data-cluster="([^"]+)" data-health="([^"]+)""#, in: overview)
            health = Dictionary(rows.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
            if failing.contains(where: { health[$0] == "down" || health[$0] == "degraded" }) { break }
        }
        #expect(Set(health.keys) == Set(names), "overview rows: \(health.keys.sorted())")
        #expect(health.values.contains { $0 == "down" || $0 == "degraded" }, "no failing cluster in the overview: \(health)")
        #expect(failing.contains { health[$0] == "down" || health[$0] == "degraded" },
                "clusters the API called failing (\(failing)) are not marked so in the DOM: \(health)")
        #expect(overview.contains(#"data-cells="30""#), "the heat map did not draw 30 cells")
        let cards = Self.matches(#"data-health="(healthy|degraded|catching_up|down|stale)" data-count="(\d+)""#, in: overview)
        #expect(cards.reduce(0) { $0 + (Int($1[1]) ?? 0) } == 30, "summary cards: \(cards)")
        // Worst first: the first row is no healthier than the last.
        let rank = ["down": 0, "degraded": 1, "catching_up": 2, "stale": 3, "healthy": 4]
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
        let apiError = try await HTTP.getJSON(base + "/api/v1/query?query=" + bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        let errorText = try #require(apiError["error"] as? String)
        let errorPage = try await Browser.dumpDOM(base + "/explore?tab=table&expr=" + bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, dir: dir)
        let escaped = errorText.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        #expect(errorPage.contains(escaped), "explore does not show the API error \(errorText)")

        // Alerts: grouped by alert name, then region.
        let alerts = try await Browser.dumpDOM(base + "/alerts", dir: dir)
        #expect(alerts.contains("data-alertname=\"RegionReporting\""), "alerts page lacks the always-firing rule")
        for region in ["ap-south", "eu-central", "eu-west", "us-east", "us-west"] {
            #expect(alerts.contains("<h3>\(region) · 1</h3>"), "alerts page lacks region \(region)")
        }
        // Every firing TargetDown row links to its cluster.
        for row in Self.matches(#"data-state="firing" data-cluster="([^"]*)""#, in: alerts) where !row[0].isEmpty {
            #expect(alerts.contains("href=\"/clusters/\(row[0])\""))
        }

        try await Self.interactions(base: base, dir: dir, names: names)

        // Screenshots to look at (not asserted).
        for (name, path, dark) in [("overview", "/", false), ("overview-dark", "/", true), ("cluster", "/clusters/" + (failing.first ?? target), false),
                                   ("cluster-dark", "/clusters/" + target, true), ("explore", "/explore?range=5m&expr=sum%20by%20(region)%20(up)", false),
                                   ("alerts", "/alerts", false)] {
            try await Browser.screenshot(base + path, to: shots + "/\(name).png", dark: dark, dir: dir)
        }
    }

    /// What only a live page shows: hover, drag, keys, theme, and an untrusted cluster name.
    static func interactions(base: String, dir: String, names: [String]) async throws {
        let dt = try DevTools(chromium: chromium!, profile: dir + "/cdp-profile")
        defer { dt.close() }

        // Explore: hovering the chart lists the series under the cursor; dragging zooms into the URL.
        try dt.open(base + "/explore?expr=up&range=5m")
        try await dt.waitFor("Number(document.querySelector('#view-graph').dataset.series) > 0")
        let plot = try dt.rect(".fschart-over")
        let x = plot.x + plot.w - 40, y = plot.y + plot.h * 0.3
        try dt.mouse("mouseMoved", x, y)
        try await dt.waitFor("!document.querySelector('.fschart-tip').hidden")
        let tip = try dt.string("document.querySelector('.fschart-tip').textContent")
        #expect(tip.contains("up{cluster=\"edge-"), "chart tooltip: \(tip)")
        try dt.mouse("mousePressed", x - 200, y)
        try dt.mouse("mouseMoved", x - 100, y, pressed: true)
        try dt.mouse("mouseMoved", x, y, pressed: true)
        try dt.mouse("mouseReleased", x, y)
        try await dt.waitFor("new URLSearchParams(location.search).has('end')")
        #expect(try dt.string("location.search").contains("range="))
        #expect(try dt.string("String(document.querySelector('.fschart-reset').hidden)") == "false")

        // Overview by keyboard: the heat map moves with arrow keys and opens with Enter; rows move with arrows.
        try dt.open(base + "/")
        try await dt.waitFor("document.querySelectorAll('#clusters tbody tr[data-cluster]').length >= 30")
        _ = try dt.eval("document.querySelector('#clusters tbody tr').focus()")
        try dt.key("ArrowDown", keyCode: 40)
        let second = try dt.string("document.querySelectorAll('#clusters tbody tr')[1].dataset.cluster")
        #expect(try dt.string("document.activeElement.dataset.cluster") == second)
        let bg = try dt.string("getComputedStyle(document.body).backgroundColor")
        _ = try dt.eval("document.getElementById('theme-toggle').click()")
        #expect(try dt.string("getComputedStyle(document.body).backgroundColor") != bg, "the theme toggle changed nothing")
        #expect(["dark", "light"].contains(try dt.string("localStorage.getItem('fleetscope.theme')")))
        _ = try dt.eval("document.getElementById('heatmap-canvas').focus()")
        try dt.key("ArrowRight", keyCode: 39)
        try await dt.waitFor("(document.querySelector('#heatmap-tip .t-name') || {}).textContent?.startsWith('edge-')")
        let focused = try dt.string("document.querySelector('#heatmap-tip .t-name').textContent")
        #expect(names.contains(focused))
        try dt.key("Enter", keyCode: 13)
        try await dt.waitFor("location.pathname.startsWith('/clusters/')")
        #expect(try dt.string("decodeURIComponent(location.pathname)") == "/clusters/" + focused)

        // Wall display: no controls, the 20 worst clusters.
        try dt.open(base + "/?kiosk=1")
        try await dt.waitFor("document.querySelectorAll('#clusters tbody tr[data-cluster]').length === 20")
        #expect(try dt.string("document.documentElement.classList.contains('kiosk')") == "true")
        #expect(try dt.string("getComputedStyle(document.getElementById('filters')).display") == "none")
        #expect(try dt.string("Number(document.body.dataset.firstRenderMs) > 0") == "true")

        // A sender-chosen cluster name full of markup is shown as text and never runs.
        let evil = "<img src=x onerror=\"window.__pwned=1\">"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let write = WriteRequest(timeseries: [TimeSeries(
            labels: [Label("__name__", "up"), Label("cluster", evil), Label("instance", "x:1"), Label("job", "node"), Label("region", "eu-west")],
            samples: [Sample(t: now, v: 1)])])
        let (code, msg) = try await HTTP.remoteWrite(base + "/api/v1/write", write)
        #expect(code == 204, "\(msg)")
        try await waitUntil("the registry to list the odd cluster", seconds: 30) {
            let d = try? await HTTP.getJSON(base + "/api/v1/fleet/clusters?search=img")["data"] as? [String: Any]
            return (d?["total"] as? Int) == 1
        }
        try dt.open(base + "/?q=img")
        try await dt.waitFor("document.querySelector('#clusters tbody tr[data-cluster]') !== null")
        #expect(try dt.string("document.querySelector('#clusters tbody tr[data-cluster] td.name').textContent") == evil)
        try dt.open(base + "/clusters/" + evil.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        try await dt.waitFor("document.getElementById('cluster-health').dataset.health !== 'unknown'")
        #expect(try dt.string("document.getElementById('cluster-name').textContent") == evil)
        #expect(try dt.string("document.title").hasPrefix(evil))
        #expect(try dt.string("String(window.__pwned)") == "undefined")
        #expect(try dt.string("String(document.querySelectorAll('main img').length)") == "0")
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
    static func run(_ args: [String], dir: String, seconds: Double = 120) async throws -> String {
        guard let chromium = DashboardBrowserTests.chromium else { throw TestError("chromium is not installed") }
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
            throw TestError("chromium \(args.last ?? "") did not finish within \(Int(seconds)) s")
        }
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    static func dumpDOM(_ url: String, dir: String) async throws -> String {
        let dom = try await run(["--window-size=1400,1000", "--dump-dom", url], dir: dir)
        if dom.isEmpty { throw TestError("chromium printed no DOM for \(url)") }
        return dom
    }

    static func screenshot(_ url: String, to path: String, dark: Bool, dir: String) async throws {
        try? FileManager.default.removeItem(atPath: path)
        _ = try await run(["--screenshot=" + path, "--window-size=1400,1000", "--hide-scrollbars"] + (dark ? ["--force-dark-mode"] : []) + [url], dir: dir)
        #expect(FileManager.default.fileExists(atPath: path), "no screenshot of \(url)")
    }
}

/// Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON): the
/// DevTools protocol without a WebSocket client, and the browser is ours by PID.
final class DevTools {
    let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var nextID = 0
    private var buffer: [UInt8] = []
    private var session: String?

    init(chromium: String, profile: String) throws {
        let args = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                    "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--remote-debugging-pipe", "--window-size=1400,1000",
                    "about:blank"]
        var commands: [Int32] = [0, 0], replies: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&replies) == 0 else { throw TestError("pipe() failed: \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let devnull = Glibc.open("/dev/null", O_WRONLY)
        posix_spawn_file_actions_adddup2(&actions, commands[0], 3)
        posix_spawn_file_actions_adddup2(&actions, replies[1], 4)
        posix_spawn_file_actions_adddup2(&actions, devnull, 1)
        posix_spawn_file_actions_adddup2(&actions, devnull, 2)
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var p: pid_t = 0
        let rc = posix_spawn(&p, chromium, &actions, nil, argv, environ)
        Glibc.close(devnull); Glibc.close(commands[0]); Glibc.close(replies[1])
        guard rc == 0 else { throw TestError("cannot start \(chromium): posix_spawn \(rc)") }
        pid = p
        toBrowser = commands[1]
        fromBrowser = replies[0]
    }

    func close() {
        Glibc.close(toBrowser)
        Glibc.close(fromBrowser)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Sends one command and waits at most `timeout` s for its reply, skipping events.
    func call(_ method: String, _ params: [String: Any] = [:], timeout: Double = 20) throws -> [String: Any] {
        nextID += 1
        var m: [String: Any] = ["id": nextID, "method": method, "params": params]
        if let session { m["sessionId"] = session }
        var data = try JSONSerialization.data(withJSONObject: m)
        data.append(0)
        let written = data.withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
        guard written == data.count else { throw TestError("DevTools \(method): chromium is gone") }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let nul = buffer.firstIndex(of: 0) {
                let message = Data(buffer[..<nul])
                buffer.removeFirst(nul + 1)
                guard let o = try JSONSerialization.jsonObject(with: message) as? [String: Any], (o["id"] as? Int) == nextID else { continue }
                if let e = o["error"] { throw TestError("DevTools \(method): \(e)") }
                return o["result"] as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestError("DevTools \(method): no reply within \(Int(timeout)) s") }
            var pfd = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left * 1000)) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fromBrowser, &chunk, chunk.count)
            guard n > 0 else { throw TestError("DevTools \(method): chromium closed its pipe") }
            buffer += chunk[..<n]
        }
    }

    /// A new tab on `url`; later commands go to it.
    func open(_ url: String) throws {
        session = nil
        let t = try call("Target.createTarget", ["url": url])
        let a = try call("Target.attachToTarget", ["targetId": t["targetId"] as? String ?? "", "flatten": true])
        session = a["sessionId"] as? String
    }

    func eval(_ js: String) throws -> Any? {
        let r = try call("Runtime.evaluate", ["expression": js, "awaitPromise": true, "returnByValue": true])
        if let ex = r["exceptionDetails"] { throw TestError("page script failed: \(js): \(ex)") }
        return (r["result"] as? [String: Any])?["value"]
    }

    func string(_ js: String) throws -> String {
        guard let v = try eval("String(\(js))") as? String else { throw TestError("\(js) gave no string") }
        return v
    }

    func waitFor(_ js: String, seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? string("Boolean(\(js))")) == "true" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestError("timed out after \(Int(seconds)) s waiting for \(js) on \((try? string("location.href")) ?? "?")")
    }

    func rect(_ selector: String) throws -> (x: Double, y: Double, w: Double, h: Double) {
        let s = try string("JSON.stringify(document.querySelector('\(selector)').getBoundingClientRect())")
        let r = try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Double] ?? [:]
        return (r["x"] ?? 0, r["y"] ?? 0, r["width"] ?? 0, r["height"] ?? 0)
    }

    func mouse(_ type: String, _ x: Double, _ y: Double, pressed: Bool = false) throws {
        var p: [String: Any] = ["type": type, "x": x, "y": y]
        if type != "mouseMoved" || pressed { p["button"] = "left"; p["clickCount"] = 1 }
        p["buttons"] = (type == "mousePressed" || pressed) ? 1 : 0
        _ = try call("Input.dispatchMouseEvent", p)
    }

    func key(_ key: String, keyCode: Int) throws {
        for type in ["rawKeyDown", "keyUp"] {
            _ = try call("Input.dispatchKeyEvent", ["type": type, "key": key, "code": key, "windowsVirtualKeyCode": keyCode])
        }
    }
}
