import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

@testable import Collector

/// HTTPS on the collector, client certificates as the write path's identity, refusals that say
/// why, and certificate rotation without a restart. Certificates come from openssl
/// (scripts/make-certs.sh); the client is curl.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TLSTests {
    static func tlsServer(_ pki: TestPKI, _ log: LogCapture, auth: TLSOptions.ClientAuthType = .requireAndVerifyClientCert,
                          clusterFrom: TLSOptions.ClusterSource = .commonName, caFile: String = "ca.crt") async throws -> TestServer {
        try await TestServer(noAuth: false, logger: log.logger) { o in
            var t = TLSOptions(certFile: pki.path("server.crt"), keyFile: pki.path("server.key"))
            t.clientAuth = auth
            t.clientCAFile = auth == .noClientCert ? nil : pki.path(caFile)
            t.clusterFrom = clusterFrom
            o.tls = t
        }
    }

    /// A remote-write body in a file for `curl --data-binary @file`.
    static func writeBody(_ dir: String, cluster: String = "spoofed") throws -> String {
        let req = WriteRequest(timeseries: [series("up", ["cluster": cluster], [(Int64(Date().timeIntervalSince1970 * 1000), 1)])])
        let path = dir + "/write-\(UUID().uuidString.prefix(6)).bin"
        try Data(WireEncoder.encodeCompressed(req)).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func write(_ s: TestServer, _ pki: TestPKI, client: String?, body: String, extra: [String] = []) async throws -> (status: Int32, code: Int, body: String, err: String) {
        try await curl(["--cacert", pki.path("ca.crt")] + (client.map { pki.client($0) } ?? []) + extra + [
            "-H", "Content-Encoding: snappy", "-H", "Content-Type: application/x-protobuf",
            "-H", "X-Prometheus-Remote-Write-Version: 0.1.0", "--data-binary", "@" + body,
            "https://127.0.0.1:\(s.port)/api/v1/write",
        ])
    }

    static func adminPassword(_ s: TestServer) throws -> String {
        try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `cluster` label values of `up`, read as admin over mTLS.
    static func clusters(_ s: TestServer, _ pki: TestPKI, client: String = "store-17") async throws -> Set<String> {
        let r = try await curl(["--cacert", pki.path("ca.crt")] + pki.client(client) + [
            "-u", "admin:" + (try adminPassword(s)), "https://127.0.0.1:\(s.port)/api/v1/label/cluster/values",
        ])
        guard r.code == 200, let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any] else {
            throw TestError("reading clusters failed: \(r.code) \(r.body) \(r.err)")
        }
        return Set(json["data"] as? [String] ?? [])
    }

    @Test func clientCertificateNamesTheClusterAndBadOnesAreRefusedWithAReason() async throws {
        let pki = try await TestPKI()
        let log = LogCapture()
        let s = try await Self.tlsServer(pki, log)
        defer { Task { await s.stop() } }
        let body = try Self.writeBody(pki.dir)

        // A verified certificate is the credential: no bearer token, the cluster is its CN.
        let ok = try await Self.write(s, pki, client: "store-17", body: body)
        #expect(ok.code == 204, "mTLS write: \(ok)")
        #expect(try await Self.clusters(s, pki) == ["store-17"])

        // Plain HTTP on the TLS port gets no answer an HTTP client accepts.
        let plain = try await curl(["http://127.0.0.1:\(s.port)/-/healthy"])
        #expect(plain.code != 200)

        // No certificate: RequireAndVerifyClientCert refuses the handshake.
        let none = try await Self.write(s, pki, client: nil, body: body)
        #expect(none.status != 0 && none.code == 0, "no client certificate must not get an HTTP answer: \(none)")
        #expect(none.err.contains("alert"), "curl should report the server's TLS alert: \(none.err)")

        // A certificate from a CA the collector does not trust.
        let foreign = try await Self.write(s, pki, client: "store-99", body: body)
        #expect(foreign.code == 0 && foreign.err.contains("unknown ca"), "\(foreign)")
        // An expired certificate from the trusted CA.
        let expired = try await Self.write(s, pki, client: "expired", body: body)
        #expect(expired.code == 0 && expired.err.contains("certificate expired"), "\(expired)")

        // The collector's log says why, naming the certificate.
        try await waitFor("refusals in the log") {
            log.text.contains("\"CN=store-99\" issued by \"CN=other-ca\" does not chain to a CA in tls.client_ca_file")
                && log.text.contains("client certificate \"CN=store-9\" expired at 2024-01-02T00:00:00Z")
        }
        #expect(try await Self.clusters(s, pki) == ["store-17"], "refused writes stored nothing")
    }

    @Test func aCARemovedFromTheBundleIsRefusedWithoutRestart() async throws {
        let pki = try await TestPKI()
        let log = LogCapture()
        // The bundle starts with both CAs.
        let bundle = pki.path("clients-ca.pem")
        try (String(contentsOfFile: pki.path("ca.crt"), encoding: .utf8) + String(contentsOfFile: pki.path("other-ca.crt"), encoding: .utf8))
            .write(toFile: bundle, atomically: true, encoding: .utf8)
        let s = try await Self.tlsServer(pki, log, caFile: "clients-ca.pem")
        defer { Task { await s.stop() } }
        let body = try Self.writeBody(pki.dir)
        #expect(try await Self.write(s, pki, client: "store-99", body: body).code == 204)

        // Revocation by removal: other-ca leaves the bundle; the next connection uses the new bundle.
        try String(contentsOfFile: pki.path("ca.crt"), encoding: .utf8).write(toFile: bundle, atomically: true, encoding: .utf8)
        let after = try await Self.write(s, pki, client: "store-99", body: body)
        #expect(after.code == 0 && after.err.contains("unknown ca"), "\(after)")
        #expect(try await Self.write(s, pki, client: "store-17", body: body).code == 204)
        #expect(log.text.contains("TLS certificates reloaded"))
        #expect(try await Self.clusters(s, pki) == ["store-17", "store-99"])
    }

    @Test func serverCertificateRotatesWithoutRestart() async throws {
        let pki = try await TestPKI()
        let log = LogCapture()
        let s = try await Self.tlsServer(pki, log, auth: .noClientCert)
        defer { Task { await s.stop() } }
        let url = "https://127.0.0.1:\(s.port)/-/healthy"
        #expect(try await curl(["--cacert", pki.path("ca.crt"), url]).code == 200)
        #expect(try await curl(["--cacert", pki.path("other-ca.crt"), url]).code == 0)

        // A half-done rotation (a certificate that is not PEM) keeps the old certificate serving.
        try "not a certificate\n".write(toFile: pki.path("server.crt"), atomically: true, encoding: .utf8)
        #expect(try await curl(["--cacert", pki.path("ca.crt"), url]).code == 200)
        #expect(log.text.contains("TLS files changed but cannot be loaded, still serving the previous certificates"))

        // The new pair, issued by the other CA, replaces the files; the next connection sees it.
        try await pki.make(["server", "other-ca", "server-new", "IP:127.0.0.1"])
        for ext in ["key", "crt"] {
            // rename(2) over the old file, as cert-manager and certbot deploy hooks do.
            #expect(rename(pki.path("server-new.\(ext)"), pki.path("server.\(ext)")) == 0)
        }
        let fresh = try await curl(["--cacert", pki.path("other-ca.crt"), url])
        #expect(fresh.code == 200, "\(fresh)")
        let old = try await curl(["--cacert", pki.path("ca.crt"), url])
        #expect(old.code == 0 && old.status == 60, "the old CA no longer verifies the server: \(old)")
    }

    @Test func clientAuthTypesKeepExporterToolkitMeanings() async throws {
        let pki = try await TestPKI()
        let body = try Self.writeBody(pki.dir)

        // VerifyClientCertIfGiven: users without a certificate still log in; a verified one writes.
        do {
            let s = try await Self.tlsServer(pki, LogCapture(), auth: .verifyClientCertIfGiven)
            defer { Task { await s.stop() } }
            let read = try await curl(["--cacert", pki.path("ca.crt"), "-u", "admin:" + (try Self.adminPassword(s)),
                                       "https://127.0.0.1:\(s.port)/api/v1/labels"])
            #expect(read.code == 200)
            #expect(try await Self.write(s, pki, client: "store-17", body: body).code == 204)
            #expect(try await Self.write(s, pki, client: "store-99", body: body).code == 0, "a given certificate must verify")
        }
        // RequestClientCert: any certificate passes the handshake, but an unverified one is nobody.
        do {
            let s = try await Self.tlsServer(pki, LogCapture(), auth: .requestClientCert)
            defer { Task { await s.stop() } }
            let w = try await Self.write(s, pki, client: "store-99", body: body)
            #expect(w.code == 401 && w.body.contains("needs an ingest token"), "\(w)")
        }
        // client_cluster_from: san_dns takes the DNS name; a certificate without a URI SAN cannot write by san_uri.
        do {
            let s = try await Self.tlsServer(pki, LogCapture(), clusterFrom: .sanDNS)
            defer { Task { await s.stop() } }
            #expect(try await Self.write(s, pki, client: "store-17", body: body).code == 204)
            #expect(try await Self.clusters(s, pki) == ["store-17.edge.example"])
        }
        do {
            let s = try await Self.tlsServer(pki, LogCapture(), clusterFrom: .sanURI)
            defer { Task { await s.stop() } }
            try await pki.make(["client", "ca", "no-uri", "store-5"])
            let w = try await Self.write(s, pki, client: "no-uri", body: body)
            #expect(w.code == 401 && w.body.contains("has no URI subject alternative name"), "\(w)")
            // An ingest token still works on the same connection type.
            let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "store-5")
            #expect(try await Self.write(s, pki, client: "no-uri", body: body, extra: ["-H", "Authorization: Bearer \(token)"]).code == 204)
        }
    }

    @Test func tlsSectionOfCollectorYml() throws {
        let dir = try tempDir("tlsconf")
        func parse(_ yaml: String) throws -> TLSOptions? {
            try yaml.write(toFile: dir + "/collector.yml", atomically: true, encoding: .utf8)
            var o = CollectorOptions()
            try o.apply(configFile: dir + "/collector.yml")
            return o.tls
        }
        let t = try parse("""
            tls:
              cert_file: certs/server.crt
              key_file: /etc/fleetscope/server.key
              client_ca_file: certs/edge-ca.crt
              client_auth_type: RequireAndVerifyClientCert
              client_cluster_from: san_uri
            """)
        #expect(t?.certFile == dir + "/certs/server.crt")
        #expect(t?.keyFile == "/etc/fleetscope/server.key")
        #expect(t?.clientCAFile == dir + "/certs/edge-ca.crt")
        #expect(t?.clientAuth == .requireAndVerifyClientCert)
        #expect(t?.clusterFrom == .sanURI)
        #expect(try parse("query: { timeout: 1m }\n") == nil)
        #expect(try parse("tls: { cert_file: a, key_file: b }\n")?.clientAuth == .noClientCert)

        func error(_ yaml: String) -> String {
            do { _ = try parse(yaml); return "" } catch { return "\(error)" }
        }
        #expect(error("tls: { cert_file: a }\n").contains("needs both cert_file and key_file"))
        #expect(error("tls: { cert_file: a, key_file: b, client_auth_type: RequireClientCert }\n")
            .contains("unknown value \"RequireClientCert\" (known: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"))
        #expect(error("tls: { cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert }\n").contains("needs tls.client_ca_file"))
        #expect(error("tls: { cert_file: a, key_file: b, client_ca_file: c }\n").contains("client_auth_type is NoClientCert"))
        #expect(error("tls: { cert_file: a, key_file: b, ca_file: c }\n").contains("unknown key \"ca_file\" in tls"))
    }

    @Test func unreadableCertificateStopsTheStartWithItsName() async throws {
        let pki = try await TestPKI()
        await #expect {
            _ = try await TestServer(noAuth: true) { o in
                o.tls = TLSOptions(certFile: pki.path("server.crt"), keyFile: pki.path("missing.key"))
            }
        } throws: { "\($0)".contains("cannot read tls.key_file \(pki.path("missing.key"))") }
        // A key that belongs to another certificate.
        await #expect {
            _ = try await TestServer(noAuth: true) { o in
                o.tls = TLSOptions(certFile: pki.path("server.crt"), keyFile: pki.path("store-17.key"))
            }
        } throws: { "\($0)".contains("does the key belong to the certificate?") }
    }

    @Test func plainHTTPBeyondLoopbackIsWarnedAbout() {
        #expect(CollectorServer.isLoopback("127.0.0.1"))
        #expect(CollectorServer.isLoopback("::1"))
        #expect(CollectorServer.isLoopback("localhost"))
        #expect(!CollectorServer.isLoopback("0.0.0.0"))
        #expect(!CollectorServer.isLoopback("::"))
        #expect(!CollectorServer.isLoopback("10.1.2.3"))
        #expect(CollectorServer.plainHTTPWarning(host: "127.0.0.1", port: 9490) == nil)
        #expect(CollectorServer.plainHTTPWarning(host: "0.0.0.0", port: 9490)?
            .hasPrefix("listening on 0.0.0.0:9490 without TLS: passwords and ingest tokens cross the network in clear") == true)
    }
}

/// Polls `check` for up to 10 s (log lines land a moment after the client sees the refusal).
func waitFor(_ what: String, _ check: () -> Bool) async throws {
    for _ in 0..<100 {
        if check() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestError("timed out waiting for \(what)")
}

@Suite struct LogBudgetTests {
    @Test func boundsLinesPerWindowAndCountsTheRest() {
        let b = LogBudget(perWindow: 2, window: .seconds(10))
        let t0: UInt64 = 1_000_000_000_000
        #expect(b.take(now: t0) == 0)
        #expect(b.take(now: t0 + 1) == 0)
        #expect(b.take(now: t0 + 2) == nil)
        #expect(b.take(now: t0 + 3) == nil)
        // The next window's first line reports the two left out.
        #expect(b.take(now: t0 + 10_000_000_000) == 2)
        #expect(b.take(now: t0 + 10_000_000_001) == 0)
    }
}
