/// The files under Web/, compiled into the binary by SwiftPM (`.embedInCode` in Package.swift), so
/// the collector serves its dashboard with nothing read from disk at run time, like Prometheus'
/// web/ui/embed.go. Web/ holds real .js, .css and .svg files that node and editors can read.
enum DashboardAssets {
    /// Every embedded file by the name it is served under (/assets/NAME). SwiftPM names each
    /// member after the file; DashboardAssetsTests checks this list against the folder.
    static let files: [(name: String, bytes: [UInt8])] = [
        ("style.css", PackageResources.style_css),
        ("favicon.svg", PackageResources.favicon_svg),
        // A classic script: it runs in <head> before first paint.
        ("theme.js", PackageResources.theme_js),
        // ES modules; app.js is the entry the pages load.
        ("app.js", PackageResources.app_js),
        ("admin.js", PackageResources.admin_js),
        ("admin-text.js", PackageResources.admin_text_js),
        ("alert-table.js", PackageResources.alert_table_js),
        ("alerts.js", PackageResources.alerts_js),
        ("api.js", PackageResources.api_js),
        ("chart.js", PackageResources.chart_js),
        ("cluster.js", PackageResources.cluster_js),
        ("dom.js", PackageResources.dom_js),
        ("explore.js", PackageResources.explore_js),
        ("format.js", PackageResources.format_js),
        ("heatmap.js", PackageResources.heatmap_js),
        ("overview.js", PackageResources.overview_js),
        ("range.js", PackageResources.range_js),
        ("refresh.js", PackageResources.refresh_js),
        ("theme-switch.js", PackageResources.theme_switch_js),
        ("units.js", PackageResources.units_js),
        ("url.js", PackageResources.url_js),
    ]

    /// The scripts that are not ES modules (loaded with a plain <script src>).
    static let classicScripts: Set<String> = ["theme.js"]
    /// The module the pages start; it imports the rest.
    static let entryModule = "app.js"
    /// What only the admin page runs (app.js imports admin.js there alone): preloaded only for
    /// the callers who may open that page.
    static let adminModules: Set<String> = ["admin.js", "admin-text.js"]

    static var moduleNames: [String] {
        files.map(\.name).filter { $0.hasSuffix(".js") && !classicScripts.contains($0) }.sorted()
    }

    /// What DashboardSite serves: each file with its content type, modules with versioned imports.
    static let table: [String: DashboardSite.Asset] = {
        var bodies: [String: String] = [:]
        for f in files { bodies[f.name] = String(decoding: f.bytes, as: UTF8.self) }
        let modules = Set(moduleNames)
        let versioned = ModuleImports.versioned(bodies.filter { modules.contains($0.key) }, version: fnv1a)
        bodies.merge(versioned) { _, new in new }
        return Dictionary(uniqueKeysWithValues: files.map { f in
            (f.name, DashboardSite.Asset(f.name, contentType(f.name), bodies[f.name]!))
        })
    }()

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".svg") { return "image/svg+xml" }
        preconditionFailure("no content type for dashboard asset \(name)")
    }
}
