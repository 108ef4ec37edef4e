/// HTML shells. They hold the page structure and nothing from the fleet except, on the cluster
/// page, the (escaped) name from the URL; the modules under Web/ fill them from the API.
enum DashboardPages {
    static func overview(admin: Bool) -> String {
        shell(page: "overview", title: "Fleet", attributes: "", admin: admin, main: """
        <section class="summary" id="summary" aria-label="Clusters by health"></section>
        <section class="panel" aria-labelledby="map-title">
          <div class="panel-head"><h2 id="map-title">Heat map</h2>
            <p class="hint">One cell per cluster, grouped by region. Hover or focus for details; click or Enter opens it; arrow keys move.</p>
            <ul class="key" aria-label="Colours"><li data-health="healthy">healthy</li><li data-health="degraded">degraded</li><li data-health="catching_up">catching up</li><li data-health="down">down</li><li data-health="stale">stale</li></ul></div>
          <div class="heatmap" id="heatmap"><canvas id="heatmap-canvas" tabindex="0" role="application"
            aria-label="Cluster heat map. Arrow keys move between clusters, Enter opens the focused cluster."></canvas>
            <div class="tip" id="heatmap-tip" hidden></div></div>
          <p class="sr-only" id="heatmap-live" aria-live="polite"></p>
        </section>
        <section class="panel" aria-labelledby="table-title">
          <div class="panel-head"><h2 id="table-title">Clusters</h2></div>
          <form class="filters" id="filters" role="search">
            <label>Search <input type="search" id="f-search" placeholder="cluster name" autocomplete="off" spellcheck="false"></label>
            <fieldset class="health-filter" id="f-health"><legend>Health</legend></fieldset>
            <label>Region <select id="f-region"><option value="">all regions</option></select></label>
            <label>Rows <select id="f-limit"><option>50</option><option selected>100</option><option>250</option><option>500</option></select></label>
          </form>
          <div class="table-wrap"><table class="clusters" id="clusters">
            <caption class="sr-only">Clusters; the column headers sort</caption>
            <thead><tr></tr></thead><tbody></tbody></table></div>
          <div class="pager" id="pager"></div>
        </section>
        """)
    }

    static func cluster(name: String, admin: Bool) -> String {
        let n = htmlEscaped(name)
        return shell(page: "cluster", title: name, attributes: " data-cluster=\"\(n)\"", admin: admin, main: """
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Fleet</a> <span aria-hidden="true">›</span> <span id="crumb-region"></span></nav>
        <div class="cluster-head"><h1 id="cluster-name">\(n)</h1><span class="badge" id="cluster-health">…</span></div>
        <p class="notice" id="cluster-notice" hidden></p>
        <dl class="facts" id="facts"></dl>
        <section class="tiles" id="tiles" aria-label="Key numbers"></section>
        <div class="toolbar"><div id="range-picker"></div></div>
        <section aria-labelledby="charts-title"><h2 id="charts-title">Nodes</h2><div class="charts" id="charts"></div></section>
        <section aria-labelledby="pods-title"><h2 id="pods-title">Pods</h2><p class="empty" id="pods-none" hidden></p>
          <div id="pods-body"><div class="charts" id="pod-charts"></div>
          <div class="two"><div><h3>Top pods by CPU</h3><div id="top-cpu"></div></div><div><h3>Top pods by memory</h3><div id="top-mem"></div></div></div></div></section>
        <section aria-labelledby="edge-title"><h2 id="edge-title">Edge scraper delivery</h2><div id="edge"></div></section>
        <section aria-labelledby="alerts-title"><h2 id="alerts-title">Firing alerts</h2><div id="cluster-alerts"></div></section>
        """)
    }

    static func alerts(admin: Bool) -> String {
        shell(page: "alerts", title: "Alerts", attributes: "", admin: admin, main: """
        <h1>Alerts</h1>
        <p class="hint">Firing and pending alerts across the fleet, grouped by alert name and region.</p>
        <div id="alerts"></div>
        """)
    }

    static func explore(admin: Bool) -> String {
        shell(page: "explore", title: "Explore", attributes: "", admin: admin, main: """
        <h1>Explore</h1>
        <form class="explore-form" id="explore-form">
          <label for="expr" class="sr-only">PromQL expression</label>
          <textarea id="expr" rows="2" spellcheck="false" autocomplete="off" placeholder="PromQL, e.g. sum by (region) (up). Enter runs; Shift+Enter adds a line."></textarea>
          <div class="explore-controls">
            <button type="submit" class="primary">Run</button>
            <div id="range-picker"></div>
            <label>Step <input id="step" size="6" placeholder="auto"></label>
            <label>Unit <select id="unit"><option value="auto">auto</option><option value="short">number</option>
              <option value="percent">percent</option><option value="bytes">bytes</option><option value="bytesRate">bytes/s</option>
              <option value="seconds">seconds</option><option value="rate">per second</option></select></label>
            <label>Metric <select id="metric-names"><option value="">insert…</option></select></label>
          </div>
        </form>
        <div class="tabs" role="tablist" aria-label="Result view">
          <button role="tab" id="tab-graph" aria-controls="view-graph" aria-selected="true">Graph</button>
          <button role="tab" id="tab-table" aria-controls="view-table" aria-selected="false" tabindex="-1">Table</button>
        </div>
        <div class="error" id="explore-error" role="alert" hidden></div>
        <p class="status" id="explore-status"></p>
        <div role="tabpanel" id="view-graph" aria-labelledby="tab-graph"><div id="explore-chart"></div></div>
        <div role="tabpanel" id="view-table" aria-labelledby="tab-table" hidden><div id="explore-table"></div></div>
        """)
    }

    static func notFound(path: String) -> String {
        shell(page: "notfound", title: "Not found", attributes: "", admin: false, main: """
        <h1>Not found</h1><p>There is no dashboard page at <code>\(htmlEscaped(path))</code>.</p><p><a href="/">Back to the fleet</a></p>
        """)
    }

    static func shell(page: String, title: String, attributes: String, admin: Bool, main: String) -> String {
        let a = DashboardSite.assets
        func src(_ name: String) -> String { htmlEscaped(a[name]!.path) }
        func current(_ p: String) -> String { p == page ? " aria-current=\"page\"" : "" }
        // Module scripts run deferred, like the classic ones did. Preloading every module fetches
        // them side by side instead of one import level after another; the admin page's modules
        // only for admins, who may open it (viewers would fetch code they cannot use).
        let modules = DashboardAssets.moduleNames
            .filter { $0 != DashboardAssets.entryModule && (admin || !DashboardAssets.adminModules.contains($0)) }
            .map { "<link rel=\"modulepreload\" href=\"\(src($0))\">" }.joined(separator: "\n")
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>\(htmlEscaped(title)) · Fleetscope</title>
        <link rel="icon" type="image/svg+xml" href="\(src("favicon.svg"))">
        <link rel="stylesheet" href="\(src("style.css"))">
        <script src="\(src("theme.js"))"></script>
        \(modules)
        <script type="module" src="\(src(DashboardAssets.entryModule))"></script>
        </head>
        <body data-page="\(page)"\(attributes)>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">Fleetscope</a>
          <nav aria-label="Main"><a href="/"\(current("overview"))>Fleet</a><a href="/alerts"\(current("alerts"))>Alerts</a><a href="/explore"\(current("explore"))>Explore</a>\(admin ? "<a href=\"/admin\"\(current("admin"))>Admin</a>" : "")</nav>
          <div class="controls">
            <span id="updated" class="updated" aria-live="polite"></span>
            <label>Refresh <select id="refresh"><option value="0">off</option><option value="10">10 s</option><option value="30">30 s</option><option value="60">1 min</option><option value="300">5 min</option></select></label>
            <button type="button" id="theme-toggle" class="ghost">Theme</button>
            <form method="post" action="/logout" id="signout-form" hidden><button type="submit" id="signout" class="ghost">Sign out</button></form>
          </div>
        </header>
        <main id="main" tabindex="-1">
        \(main)
        </main>
        <noscript><p class="notice">The dashboard needs JavaScript. The data is also in the Prometheus API under /api/v1/.</p></noscript>
        </body>
        </html>
        """
    }
}
