import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Issue 13, "several collectors as one": two real collectors (each its own data directory)
/// on one PostgreSQL (`state.postgres`) and one VictoriaMetrics (`storage.remote`), as behind
/// a load balancer. A token made through A's command line writes through B, a user made
/// through B's admin API logs in on A, and both show the cluster B heard after a flush.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SharedStateTests {
    @Test func twoCollectorsOnOnePostgresServeTheSameState() async throws {
        let dir = try tempDir("shared-state")
        let pg = try PostgresServer(logDir: dir)
        defer { pg.stop() }
        let vmPort = freePort()
        let vm = try await RemoteStorageTests.startBackend(.victoria, dir: dir, port: vmPort, tag: "shared")
        defer { vm.stop() }
        let config = dir + "/collector.yml"
        try """
        state:
          postgres: "\(pg.url)"
        storage:
          remote:
            write_url: http://127.0.0.1:\(vmPort)/api/v1/write
            query_url: http://127.0.0.1:\(vmPort)

        """.write(toFile: config, atomically: true, encoding: .utf8)

        // An admin before either collector starts, through the shared store (no initial-admin file needed).
        try "root password\n".write(toFile: dir + "/root.pw", atomically: true, encoding: .utf8)
        let (addStatus, addOut) = try CLITests.run("collector", ["user", "add", "--config", config, "--name", "root",
                                                                 "--password-file", dir + "/root.pw", "--role", "admin"])
        #expect(addStatus == 0, "\(addOut)")

        let (portA, portB) = (freePort(), freePort())
        var collectors: [ChildProcess] = []
        defer { for c in collectors { c.stop() } }
        for (tag, port) in [("a", portA), ("b", portB)] {
            collectors.append(try ChildProcess("collector-shared-\(tag)", try E2E.binary("collector"),
                                               ["--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data-\(tag)", "--config", config],
                                               logDir: dir))
        }
        let (a, b) = ("http://127.0.0.1:\(portA)", "http://127.0.0.1:\(portB)")
        for url in [a, b] { try await waitUntil("collector \(url) to start") { await HTTP.get(url + "/-/ready")?.0 == 200 } }
        let ready = String(decoding: (await HTTP.get(b + "/-/ready"))?.1 ?? Data(), as: UTF8.self)
        #expect(ready.contains("State store: PostgreSQL") && ready.contains("reachable") && !ready.contains(pg.password), "\(ready)")
        // Both found the admin: neither made a bootstrap one.
        #expect(!FileManager.default.fileExists(atPath: dir + "/data-a/initial-admin-password"))

        // A token from the command line (as operators run it next to collector A) writes through B.
        let (tokStatus, tokOut) = try CLITests.run("collector", ["token", "create", "--config", config, "--cluster", "store-7"])
        #expect(tokStatus == 0, "\(tokOut)")
        let token = tokOut.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let req = WriteRequest(timeseries: [TimeSeries(labels: [Label("__name__", "up"), Label("job", "node")], samples: [Sample(t: now, v: 1)])])
        let (writeStatus, writeBody) = try await HTTP.post(b + "/api/v1/write", body: Data(WireEncoder.encodeCompressed(req)),
                                                           headers: HTTP.remoteWriteHeaders.merging(["Authorization": "Bearer " + token]) { $1 })
        #expect(writeStatus == 204, "\(writeBody)")

        // A user made through B's admin API logs in on A.
        let root = "Basic " + Data("root:root password".utf8).base64EncodedString()
        let (userStatus, userBody) = try await HTTP.post(b + "/api/v1/admin/users",
            body: Data(#"{"name":"ana","password":"ana password","role":"viewer","scope":"all"}"#.utf8),
            headers: ["Authorization": root, "Content-Type": "application/json"])
        #expect(userStatus == 200, "\(userBody)")
        let ana = "Basic " + Data("ana:ana password".utf8).base64EncodedString()

        // A never received store-7's samples; after B's flush and A's reload it shows it too.
        for url in [b, a] {
            try await waitUntil("\(url) to show store-7", seconds: 60) {
                let (status, body) = await Self.get(url + "/api/v1/fleet/clusters/store-7", auth: ana)
                return status == 200 && body.contains("store-7")
            }
        }
        // Revoked through A's admin API: B refuses the token at once.
        let (revStatus, revBody) = await Self.request(a + "/api/v1/admin/tokens?cluster=store-7", method: "DELETE", auth: root)
        #expect(revStatus == 200, "\(revBody)")
        let (again, _) = try await HTTP.post(b + "/api/v1/write", body: Data(WireEncoder.encodeCompressed(req)),
                                             headers: HTTP.remoteWriteHeaders.merging(["Authorization": "Bearer " + token]) { $1 })
        #expect(again == 401)
    }

    static func get(_ url: String, auth: String) async -> (Int, String) { await request(url, method: "GET", auth: auth) }

    static func request(_ url: String, method: String, auth: String) async -> (Int, String) {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        r.timeoutInterval = 10
        r.setValue(auth, forHTTPHeaderField: "Authorization")
        guard let (data, resp) = try? await URLSession.shared.data(for: r) else { return (0, "") }
        return ((resp as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }
}
