import Foundation
import Testing

@testable import Collector

extension SecurityTests {
    // MARK: 6. every route the router knows was declared with an access, and behaves like it

    static let probes: Set<String> = ["/-/healthy", "/-/ready"]

    @Test func everyRegisteredRouteHasItsDeclaredAccess() async throws {
        let f = try await Self.fleet()
        defer { Task { await f.s.stop() } }
        let (router, declared) = f.s.server.routes()
        var access: [String: RouteAccess] = [:]
        for d in declared {
            #expect(access.updateValue(d.access, forKey: "\(d.method.rawValue) \(d.path)") == nil, "\(d.method) \(d.path) declared twice")
        }
        // Nothing reached the router except through an access group.
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
        #expect(registered == Set(access.keys), "undeclared: \(registered.subtracting(access.keys)), missing: \(Set(access.keys).subtracting(registered))")
        #expect(registered.count > 40)
        // Only remote-write takes ingest identities.
        #expect(declared.filter { $0.access == .ingest }.map { "\($0.method.rawValue) \($0.path)" } == ["POST /api/v1/write"])
        // The admin API and page are in the admin group (their 405/OPTIONS answers are open, as everywhere).
        for d in declared where d.path == "/admin" || d.path.hasPrefix("/api/v1/admin/") {
            #expect(d.access == .admin || d.access == .open, "\(d.method) \(d.path) is in the \(d.access) group")
        }
        #expect(declared.filter { $0.access == .admin }.count >= 10)

        let token = "Authorization: Bearer \(f.euToken)"
        for d in declared {
            let method = d.method.rawValue
            // Parameters as the router spells them ({name}), filled with values that exist.
            let path = d.path.replacingOccurrences(of: "/label/{name}", with: "/label/job").replacingOccurrences(of: "{name}", with: "eu-1")
                .replacingOccurrences(of: "{file}", with: "app.js").replacingOccurrences(of: "{id}", with: "999")
            #expect(!path.contains("{"), "\(path)")
            let what = "\(method) \(d.path) (\(d.access))"
            switch d.access {
            case .user:
                let (none, headers, _) = try await f.s.raw(method, path)
                #expect(none == 401 && headers["www-authenticate"]?.hasPrefix("Basic") == true, "\(what) without credentials: \(none)")
                #expect(try await f.s.raw(method, path, headers: [token]).0 == 401, "\(what) with an ingest token")
                #expect(try await f.s.raw(method, path, headers: [f.viewer]).0 != 401, "\(what) refuses the viewer")
            case .admin:
                let (none, headers, _) = try await f.s.raw(method, path)
                #expect(none == 401 && headers["www-authenticate"]?.hasPrefix("Basic") == true, "\(what) without credentials: \(none)")
                #expect(try await f.s.raw(method, path, headers: [token]).0 == 401, "\(what) with an ingest token")
                let (viewer, _, body) = try await f.s.raw(method, path, headers: [f.viewer])
                #expect(viewer == 403, "\(what) lets the viewer in: \(viewer) \(body.prefix(200))")
                #expect(!body.contains("fst_") && !body.contains(f.euToken), "\(what) leaks a token to the viewer")
                let admin = try await f.s.raw(method, path, headers: [f.adminAuth]).0
                #expect(admin != 401 && admin != 403, "\(what) refuses the admin: \(admin)")
            case .ingest:
                for auth in [[], [f.viewer], [f.adminAuth]] {
                    #expect(try await f.s.raw(method, path, headers: auth).0 == 401, "\(what) with \(auth.first?.prefix(20) ?? "nothing")")
                }
                #expect(try await f.s.raw(method, path, headers: [token]).0 != 401, "\(what) refuses the token")
            case .open:
                // Open: the probes, and answers that name the allowed methods and carry no data.
                let (code, headers, body) = try await f.s.raw(method, path)
                if Self.probes.contains(d.path) && (d.method == .get || d.method == .head) {
                    #expect(code == 200, "\(what): \(code)")
                } else if d.method == .options {
                    #expect(code == 204 && headers["allow"] != nil && body.isEmpty, "\(what): \(code) \(body)")
                } else {
                    #expect(code == 405 && headers["allow"] != nil, "\(what): \(code) \(body)")
                    for secret in Self.secrets { #expect(!body.contains(secret), "\(what) leaks \(secret)") }
                }
            }
        }
    }
}
