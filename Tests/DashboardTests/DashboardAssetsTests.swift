@testable import Dashboard
import Foundation
import Testing

/// The files under Sources/Dashboard/Web are what the binary serves: embedded whole, modules with
/// versioned imports, every one reachable from the page.
@Suite struct DashboardAssetsTests {
    static let webDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/Dashboard/Web").standardizedFileURL

    static func onDisk() throws -> [String: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: webDir.path).filter { $0 != "package.json" }
        var files: [String: String] = [:]
        for n in names { files[n] = try String(contentsOf: webDir.appendingPathComponent(n), encoding: .utf8) }
        return files
    }

    /// `from './x.js?v=…'`, `import './x.js?v=…'` and `import('./x.js?v=…')` specifiers of a module's text.
    static func specifiers(_ body: String) -> [String] {
        body.matches(of: /(?:\bfrom|^import|\bimport\()\s*['"]([^'"]+)['"]/.anchorsMatchLineEndings()).map { String($0.1) }
    }

    /// The specifiers a module's text imports statically (`from`, bare `import`), not `import(…)`.
    static func staticSpecifiers(_ body: String) -> [String] {
        body.matches(of: /(?:\bfrom|^import)\s*['"]([^'"]+)['"]/.anchorsMatchLineEndings()).map { String($0.1) }
    }

    @Test func everyFileInWebIsServedAsItIs() throws {
        let files = try Self.onDisk()
        #expect(Set(files.keys) == Set(DashboardSite.assets.keys))
        for (name, text) in files {
            let served = try #require(DashboardSite.assets[name]).body
            // Modules differ from their file only by the versions added to their imports.
            let unversioned = served.replacing(/\?v=[0-9a-f]{16}'/, with: "'")
            #expect(unversioned == text, "\(name) is not served as written")
        }
    }

    @Test func importsNameTheVersionOfWhatTheyImport() throws {
        let modules = DashboardAssets.moduleNames
        #expect(modules.contains("app.js") && modules.contains("chart.js") && !modules.contains("theme.js"))
        var imported: Set<String> = []
        for name in modules {
            let body = try #require(DashboardSite.assets[name]).body
            for spec in Self.specifiers(body) {
                let parts = spec.split(separator: "?v=", maxSplits: 1).map(String.init)
                #expect(parts.count == 2 && parts[0].hasPrefix("./"), "\(name) imports \(spec) without a version")
                guard parts.count == 2 else { continue }
                let target = String(parts[0].dropFirst(2))
                #expect(DashboardSite.assets[target]?.version == parts[1], "\(name) imports a stale \(spec)")
                imported.insert(target)
            }
        }
        // Every module but the entry is imported by another, so the page loads them all.
        #expect(imported == Set(modules).subtracting([DashboardAssets.entryModule]))
    }

    @Test func aChangedModuleChangesTheURLsOfItsImporters() {
        let sources = [
            "a.js": "import { b } from './b.js';\nb();\n",
            "b.js": "import { c } from './c.js';\nexport function b() { c(); }\n",
            "c.js": "export function c() {}\n",
            "d.js": "export const d = './c.js is only text here, in double quotes: \"./c.js\"';\n",
        ]
        let before = ModuleImports.versioned(sources, version: fnv1a)
        var changed = sources
        changed["c.js"] = "export function c() { return 1; }\n"
        let after = ModuleImports.versioned(changed, version: fnv1a)
        #expect(before["b.js"] == "import { c } from './c.js?v=\(fnv1a(sources["c.js"]!))';\nexport function b() { c(); }\n")
        #expect(before["a.js"] != after["a.js"] && before["b.js"] != after["b.js"])
        #expect(after["a.js"]!.contains("'./b.js?v=\(fnv1a(after["b.js"]!))'"))
        #expect(before["d.js"] == sources["d.js"])
    }

    @Test func pagesLoadTheEntryModuleAndPreloadTheRest() {
        let a = DashboardSite.assets
        let viewer = [("/", DashboardSite.overview()), ("/alerts", DashboardSite.alerts()), ("/explore", DashboardSite.explore()),
                      ("/clusters/x", DashboardSite.cluster(encodedName: "x")), ("/nowhere", DashboardSite.notFound("/nowhere"))]
        let admin = [("/ as admin", DashboardSite.overview(admin: true)), ("/alerts as admin", DashboardSite.alerts(admin: true)),
                     ("/explore as admin", DashboardSite.explore(admin: true)),
                     ("/clusters/x as admin", DashboardSite.cluster(encodedName: "x", admin: true)), ("/admin", DashboardSite.admin())]
        for (path, reply, forAdmin) in viewer.map({ ($0.0, $0.1, false) }) + admin.map({ ($0.0, $0.1, true) }) {
            let body = reply.body
            #expect(body.contains("<script type=\"module\" src=\"\(a["app.js"]!.path)\"></script>"), "\(path)")
            for name in DashboardAssets.moduleNames where name != "app.js" {
                let preloads = body.contains("<link rel=\"modulepreload\" href=\"\(a[name]!.path)\">")
                if DashboardAssets.adminModules.contains(name) && !forAdmin {
                    #expect(!preloads, "\(path) preloads \(name) for a viewer")
                } else {
                    #expect(preloads, "\(path) does not preload \(name)")
                }
            }
            // theme.js is the only classic script: it must run before first paint.
            #expect(body.components(separatedBy: "<script ").count - 1 == 2, "\(path)")
            #expect(body.contains("<script src=\"\(a["theme.js"]!.path)\"></script>"))
        }
    }

    /// Viewers never load the admin page's modules: outside them, only a dynamic import(…) names
    /// one (app.js, on the admin page), and every one of them is reached from there.
    @Test func adminModulesAreImportedOnTheAdminPageOnly() throws {
        func target(_ spec: String) -> String { String(spec.split(separator: "?v=")[0].dropFirst(2)) }
        var reached: Set<String> = []
        for name in DashboardAssets.moduleNames {
            let body = try #require(DashboardSite.assets[name]).body
            let statics = Set(Self.staticSpecifiers(body).map(target))
            if DashboardAssets.adminModules.contains(name) {
                reached.formUnion(statics.intersection(DashboardAssets.adminModules))
            } else {
                #expect(statics.isDisjoint(with: DashboardAssets.adminModules), "\(name) imports an admin module statically")
                reached.formUnion(Set(Self.specifiers(body).map(target)).intersection(DashboardAssets.adminModules))
            }
        }
        #expect(reached == DashboardAssets.adminModules)
    }
}
