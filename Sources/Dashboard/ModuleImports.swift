/// Every asset is cached for a year (`immutable`) under a URL carrying its content hash, and a new
/// build is seen because the page names the new hash. ES modules import each other by URL, so
/// `import … from './chart.js'` would let the browser keep last build's chart.js under a new app.js.
/// Hence each import specifier './NAME' is rewritten to './NAME?v=VERSION' when the asset table is
/// built, imported modules first: a module's version covers its imports' versions, so a change in
/// any module changes the URL of every module above it, up to the entry the page names.
/// (An import map would do the same from the page, but it must be an inline script, which the CSP
/// forbids.) Specifiers are written with single quotes, './NAME', NAME a module in the table.
enum ModuleImports {
    /// name → module text, with the rewritten imports. `version` hashes a rewritten text; it
    /// must be the function that versions the asset URLs.
    static func versioned(_ sources: [String: String], version: (String) -> String) -> [String: String] {
        var done: [String: String] = [:]
        var visiting: Set<String> = []
        func visit(_ name: String) -> String {
            if let body = done[name] { return body }
            // A cycle has no order in which versions can be computed.
            precondition(visiting.insert(name).inserted, "dashboard modules import each other in a cycle through \(name)")
            var body = sources[name]!
            for dependency in imports(of: body, among: sources.keys) {
                body = body.replacing("'./\(dependency)'", with: "'./\(dependency)?v=\(version(visit(dependency)))'")
            }
            visiting.remove(name)
            done[name] = body
            return body
        }
        for name in sources.keys.sorted() { _ = visit(name) }
        return done
    }

    /// The modules among `names` that `body` imports, in name order.
    static func imports(of body: String, among names: some Sequence<String>) -> [String] {
        names.filter { body.contains("'./\($0)'") }.sorted()
    }
}
