@testable import Dashboard
import Foundation
import Testing

@Suite struct DashboardSiteTests {
    @Test(arguments: [DashboardSite.overview(), DashboardSite.alerts(), DashboardSite.explore(),
                      DashboardSite.cluster(encodedName: "edge-00017")])
    func pagesAreHTML(r: DashboardReply) {
        #expect(r.status == 200)
        #expect(r.contentType == "text/html; charset=utf-8")
        #expect(r.cacheControl == "no-cache")
        #expect(r.body.hasPrefix("<!doctype html>"))
        #expect(r.body.contains("<main id=\"main\""))
    }

    @Test func eachPageNamesItself() {
        #expect(DashboardSite.overview().body.contains("data-page=\"overview\""))
        #expect(DashboardSite.alerts().body.contains("data-page=\"alerts\""))
        #expect(DashboardSite.explore().body.contains("data-page=\"explore\""))
        let c = DashboardSite.cluster(encodedName: "store-17").body
        #expect(c.contains("data-page=\"cluster\""))
        #expect(c.contains("data-cluster=\"store-17\""))
        #expect(c.contains("<title>store-17 · Fleetscope</title>"))
    }

    @Test(arguments: [
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("chart.js", "text/javascript; charset=utf-8"),
        ("theme.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ])
    func assetsAreServed(name: String, type: String) {
        let r = DashboardSite.asset(name)
        #expect(r.status == 200)
        #expect(r.contentType == type)
        #expect(r.cacheControl.contains("max-age=31536000"))
        #expect(r.body.count > 100)
    }

    @Test func unknownPathsAre404() {
        // Paths without a route are the router's 404 (DashboardRoutesTests).
        #expect(DashboardSite.asset("nope.js").status == 404)
        #expect(DashboardSite.cluster(encodedName: "").status == 404)
        #expect(DashboardSite.cluster(encodedName: "a/b").status == 404)
    }

    @Test func shellsReferenceOnlyLocalVersionedAssets() {
        let shells = ["/": DashboardSite.overview(), "/alerts": DashboardSite.alerts(), "/explore": DashboardSite.explore(),
                      "/clusters/x": DashboardSite.cluster(encodedName: "x"), "/assets/nope.js": DashboardSite.asset("nope.js")]
        for (path, reply) in shells {
            let body = reply.body
            #expect(!body.contains("http://") && !body.contains("https://"), "\(path) references a remote URL")
            for name in ["style.css", "theme.js", "chart.js", "app.js", "favicon.svg"] {
                let asset = DashboardSite.assets[name]!
                #expect(body.contains("\"/assets/\(name)?v=\(asset.version)\""), "\(path) does not load \(name)")
            }
            // Every src= and href= stays on this origin.
            for attr in ["src=\"", "href=\""] {
                var rest = Substring(body)
                while let r = rest.range(of: attr) {
                    rest = rest[r.upperBound...]
                    #expect(rest.hasPrefix("/") || rest.hasPrefix("#"), "\(path): \(attr)\(rest.prefix(40))")
                }
            }
        }
    }

    @Test func assetsLoadNothingRemote() {
        for (name, asset) in DashboardSite.assets {
            // The SVG namespace is an identifier, not something fetched.
            let body = asset.body.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
            #expect(!body.contains("http://") && !body.contains("https://"), "\(name) references a remote URL")
            #expect(!asset.body.contains("innerHTML") && !asset.body.contains("insertAdjacentHTML") && !asset.body.contains("document.write"),
                    "\(name) parses HTML from strings")
        }
    }

    @Test func clusterNameWithScriptIsEscaped() {
        let raw = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%20onload%3D%22x"
        let r = DashboardSite.cluster(encodedName: raw)
        #expect(r.status == 200)
        #expect(!r.body.contains("<script>alert"))
        #expect(!r.body.contains("\" onload=\"x"))
        #expect(r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;x"))
        // Literal (unencoded) markup in the path is escaped just the same.
        let literal = DashboardSite.cluster(encodedName: "<script>alert(1)</script>")
        #expect(literal.status == 404 || !literal.body.contains("<script>alert"))
        let plain = DashboardSite.cluster(encodedName: "<b>x")
        #expect(plain.body.contains("&lt;b&gt;x") && !plain.body.contains("<b>x"))
    }

    @Test func notFoundEscapesThePath() {
        let r = DashboardSite.notFound("/%3Cimg%20src%3Dx%3E")
        #expect(r.status == 404)
        #expect(r.body.contains("&lt;img src=x&gt;"))
        #expect(!r.body.contains("<img"))
    }

    @Test func percentDecoding() {
        #expect(DashboardSite.percentDecoded("store%2D17") == "store-17")
        #expect(DashboardSite.percentDecoded("a%zzb%4") == "a%zzb%4")
        #expect(DashboardSite.percentDecoded("caf%C3%A9") == "café")
    }

    @Test func escaping() {
        #expect(htmlEscaped("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    }

    @Test func versionsChangeWithContent() {
        #expect(fnv1a("a") != fnv1a("b"))
        #expect(fnv1a("") == "cbf29ce484222325")
        let versions = Set(DashboardSite.assets.values.map(\.version))
        #expect(versions.count == DashboardSite.assets.count)
    }

    @Test func contentSecurityPolicyForbidsInlineAndRemoteScripts() {
        let csp = DashboardSite.contentSecurityPolicy
        #expect(csp.contains("script-src 'self'"))
        #expect(!csp.contains("unsafe-inline"))
    }
}
