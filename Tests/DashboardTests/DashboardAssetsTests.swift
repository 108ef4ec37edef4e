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

    /// `from './x.js?v=…'` and `import './x.js?v=…'` specifiers of a module's text.
    static func specifiers(_ body: String) -> [String] {
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
        let pages = [("/", DashboardSite.overview()), ("/alerts", DashboardSite.alerts()), ("/explore", DashboardSite.explore()),
                     ("/clusters/x", DashboardSite.cluster(encodedName: "x")), ("/nowhere", DashboardSite.notFound("/nowhere"))]
        for (path, reply) in pages {
            let body = reply.body
            #expect(body.contains("<script type=\"module\" src=\"\(a["app.js"]!.path)\"></script>"), "\(path)")
            for name in DashboardAssets.moduleNames where name != "app.js" {
                #expect(body.contains("<link rel=\"modulepreload\" href=\"\(a[name]!.path)\">"), "\(path) does not preload \(name)")
            }
            // theme.js is the only classic script: it must run before first paint.
            #expect(body.components(separatedBy: "<script ").count - 1 == 2, "\(path)")
            #expect(body.contains("<script src=\"\(a["theme.js"]!.path)\"></script>"))
        }
    }
}
