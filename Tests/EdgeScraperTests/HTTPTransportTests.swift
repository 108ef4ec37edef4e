import Glibc
import Synchronization
import Testing
@testable import EdgeScraper

@Suite struct HTTPURLTests {
    @Test func parsesHostPortPathQuery() throws {
        let u = try HTTPURL(parsing: "http://example.org:9090/api/v1/write?x=1&y=2")
        #expect(u.scheme == "http")
        #expect(u.host == "example.org")
        #expect(u.port == 9090)
        #expect(u.target == "/api/v1/write?x=1&y=2")
        #expect(u.hostHeader == "example.org:9090")
    }

    @Test func defaultsPortAndPath() throws {
        let u = try HTTPURL(parsing: "http://example.org")
        #expect(u.port == 80)
        #expect(u.target == "/")
        #expect(u.hostHeader == "example.org")
        let q = try HTTPURL(parsing: "https://h?a=b")
        #expect(q.port == 443)
        #expect(q.target == "/?a=b")
    }

    @Test func ipv6Literals() throws {
        let u = try HTTPURL(parsing: "http://[::1]:8080/metrics")
        #expect(u.host == "::1")
        #expect(u.port == 8080)
        #expect(u.hostHeader == "[::1]:8080")
        let v = try HTTPURL(parsing: "http://[fe80::1]/")
        #expect(v.host == "fe80::1")
        #expect(v.port == 80)
    }

    @Test func userInfoAndFragment() throws {
        let u = try HTTPURL(parsing: "http://bob:s3cret@10.0.0.1:81/p#frag")
        #expect(u.user == "bob")
        #expect(u.password == "s3cret")
        #expect(u.host == "10.0.0.1")
        #expect(u.target == "/p")
    }

    @Test func rejectsBadURLs() {
        #expect(throws: HTTPTransportError.self) { try HTTPURL(parsing: "example.org/x") }
        #expect(throws: HTTPTransportError.self) { try HTTPURL(parsing: "ftp://example.org/") }
        #expect(throws: HTTPTransportError.self) { try HTTPURL(parsing: "http://h:99999/") }
        #expect(throws: HTTPTransportError.self) { try HTTPURL(parsing: "http://[::1/") }
        #expect(throws: HTTPTransportError.self) { try HTTPURL(parsing: "http:///path") }
    }

    @Test func base64MatchesRFC4648Vectors() {
        #expect(base64("") == "")
        #expect(base64("f") == "Zg==")
        #expect(base64("fo") == "Zm8=")
        #expect(base64("foo") == "Zm9v")
        #expect(base64("foobar") == "Zm9vYmFy")
    }
}

@Suite struct NIOHTTPTransportTests {
    @Test func getAndPostAgainstLoopbackServer() async throws {
        let seen = Mutex<[ServerRequest]>([])
        let server = try await HTTPServer.start(host: "127.0.0.1", port: 0) { req in
            seen.withLock { $0.append(req) }
            if req.path == "/echo" { return ServerResponse(status: 201, headers: [("X-Test", "yes")], body: req.body) }
            return .text(404, "no such path\n")
        }
        defer { Task { await server.stop() } }
        let t = NIOHTTPTransport()
        let body = Array(0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        let r = try await t.send(HTTPRequest(method: "POST", url: server.baseURL + "/echo?a=1",
                                             headers: [("Authorization", "Bearer tok")], body: body))
        #expect(r.status == 201)
        #expect(r.header("x-test") == "yes")
        #expect(r.body == body)
        let r2 = try await t.send(HTTPRequest(url: server.baseURL + "/missing"))
        #expect(r2.status == 404)
        #expect(String(decoding: r2.body, as: UTF8.self) == "no such path\n")
        let reqs = seen.withLock { $0 }
        #expect(reqs.count == 2)
        #expect(reqs[0].uri == "/echo?a=1")
        #expect(reqs[0].header("authorization") == "Bearer tok")
        #expect(reqs[0].header("user-agent")?.hasPrefix("fleetscope-edge-scraper/") == true)
        #expect(reqs[0].header("host") == "127.0.0.1:\(server.port)")
        await t.shutdown()
    }

    @Test func reusesConnectionsAndSurvivesManySequentialRequests() async throws {
        let server = try await HTTPServer.start(host: "127.0.0.1", port: 0) { _ in .text(200, "ok") }
        defer { Task { await server.stop() } }
        let t = NIOHTTPTransport()
        for _ in 0..<200 {
            let r = try await t.send(HTTPRequest(url: server.baseURL + "/"))
            #expect(r.status == 200)
        }
        await t.shutdown()
    }

    @Test func concurrentRequests() async throws {
        let server = try await HTTPServer.start(host: "127.0.0.1", port: 0) { req in .text(200, String(req.uri.dropFirst())) }
        defer { Task { await server.stop() } }
        let t = NIOHTTPTransport()
        try await withThrowingTaskGroup(of: Void.self) { g in
            for i in 0..<50 {
                g.addTask {
                    let r = try await t.send(HTTPRequest(url: server.baseURL + "/\(i)"))
                    #expect(String(decoding: r.body, as: UTF8.self) == "\(i)")
                }
            }
            try await g.waitForAll()
        }
        await t.shutdown()
    }

    @Test func headGetsHeadersWithoutBody() async throws {
        let server = try await HTTPServer.start(host: "127.0.0.1", port: 0) { _ in .text(200, "twelve bytes") }
        defer { Task { await server.stop() } }
        let t = NIOHTTPTransport()
        for _ in 0..<2 { // twice: the kept-alive connection must still be in sync after a HEAD
            let r = try await t.send(HTTPRequest(method: "HEAD", url: server.baseURL + "/"))
            #expect(r.status == 200)
            #expect(r.body.isEmpty)
            #expect(r.header("content-length") == "12")
        }
        let g = try await t.send(HTTPRequest(url: server.baseURL + "/"))
        #expect(String(decoding: g.body, as: UTF8.self) == "twelve bytes")
        await t.shutdown()
    }

    @Test func ipv6Loopback() async throws {
        guard let server = try? await HTTPServer.start(host: "::1", port: 0, handler: { _ in .text(200, "v6") }) else {
            return // no IPv6 on this host
        }
        defer { Task { await server.stop() } }
        let t = NIOHTTPTransport()
        let r = try await t.send(HTTPRequest(url: "http://[::1]:\(server.port)/"))
        #expect(String(decoding: r.body, as: UTF8.self) == "v6")
        await t.shutdown()
    }

    @Test func wholeRequestTimeout() async throws {
        let server = try await HTTPServer.start(host: "127.0.0.1", port: 0) { _ in
            try? await Task.sleep(for: .seconds(5))
            return .text(200, "late")
        }
        defer { Task { await server.stop() } }
        let t = NIOHTTPTransport()
        do {
            _ = try await t.send(HTTPRequest(url: server.baseURL + "/", timeout: 200))
            Issue.record("expected a timeout")
        } catch let e as HTTPTransportError {
            guard case .timeout(_, 200) = e else { Issue.record("expected a timeout, got \(e)"); return }
        }
        await t.shutdown()
    }

    @Test func connectionRefusedIsATransportError() async throws {
        // Bind and close to get a port nobody listens on.
        let s = try await HTTPServer.start(host: "127.0.0.1", port: 0) { _ in .text(200, "") }
        let port = s.port
        await s.stop()
        let t = NIOHTTPTransport()
        await #expect(throws: HTTPTransportError.self) {
            _ = try await t.send(HTTPRequest(url: "http://127.0.0.1:\(port)/", timeout: 2000))
        }
    }

}

/// TLS against a loopback HTTPS server with a throwaway CA made by the openssl CLI. The server
/// certificate names only DNS:localhost: NIOSSL also accepts a certificate whose IP SAN matches
/// the peer address, which would hide a wrong server_name.
@Suite struct NIOHTTPTransportTLSTests {
    struct PKI {
        let dir: TempDir
        var ca: String { dir.path + "/ca.crt" }
        var cert: String { dir.path + "/server.crt" }
        var key: String { dir.path + "/server.key" }

        init() throws {
            dir = TempDir("edgetls")
            let d = dir.path
            let script = """
            cd \(d) && \
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca && \
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=localhost && \
            printf 'subjectAltName=DNS:localhost\\n' > ext && \
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile ext
            """
            guard system("(\(script)) >/dev/null 2>&1") == 0 else { throw QueueError("openssl could not make a test certificate") }
        }
    }

    // Successful TLS sends below allow 60 s: a debug-built BoringSSL handshake on a loaded
    // 2-core machine, with the whole suite running in parallel, can take longer than 10 s.
    func withServer(_ body: (HTTPServer, PKI) async throws -> Void) async throws {
        let pki = try PKI()
        defer { pki.dir.cleanup() }
        let server = try await HTTPServer.start(host: "127.0.0.1", port: 0,
                                                tls: try HTTPServer.tlsContext(certFile: pki.cert, keyFile: pki.key)) { req in
            .text(200, "secure \(req.uri)")
        }
        defer { Task { await server.stop() } }
        try await body(server, pki)
    }

    @Test func verifiesAgainstTheConfiguredCA() async throws {
        try await withServer { server, pki in
            var tls = TLSConfig()
            tls.caFile = pki.ca
            let t = NIOHTTPTransport()
            for i in 0..<3 {
                let r = try await t.send(HTTPRequest(url: "https://localhost:\(server.port)/x\(i)", tls: tls, timeout: 60_000))
                #expect(String(decoding: r.body, as: UTF8.self) == "secure /x\(i)")
            }
            // server_name checks the certificate against another name than the URL's host
            // (the certificate names only "localhost", no IP address).
            tls.serverName = "localhost"
            let r = try await t.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/", tls: tls, timeout: 60_000))
            #expect(r.status == 200)
            await t.shutdown()
        }
    }

    @Test func rejectsAnUntrustedCertificate() async throws {
        try await withServer { server, _ in
            let t = NIOHTTPTransport()
            await #expect(throws: HTTPTransportError.self) {
                _ = try await t.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/", timeout: 5000))
            }
            await t.shutdown()
        }
    }

    @Test func rejectsAWrongServerName() async throws {
        try await withServer { server, pki in
            var tls = TLSConfig()
            tls.caFile = pki.ca
            tls.serverName = "not-this-host.example"
            let t = NIOHTTPTransport()
            await #expect(throws: HTTPTransportError.self) {
                _ = try await t.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/", tls: tls, timeout: 5000))
            }
            await t.shutdown()
        }
    }

    /// Rotated tls_config files apply from the next connection on, without a restart: here
    /// the CA bundle first holds another CA, then the one that issued the server's certificate.
    @Test func rereadsRotatedTLSFiles() async throws {
        try await withServer { server, pki in
            let d = pki.dir.path
            guard system("cd \(d) && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out trusted.pem -days 1 -subj /CN=some-other-ca >/dev/null 2>&1") == 0 else {
                throw QueueError("openssl could not make a second CA")
            }
            var tls = TLSConfig()
            tls.caFile = d + "/trusted.pem"
            let t = NIOHTTPTransport()
            await #expect(throws: HTTPTransportError.self) {
                _ = try await t.send(HTTPRequest(url: "https://localhost:\(server.port)/", tls: tls, timeout: 5000))
            }
            guard system("cp \(d)/ca.crt \(d)/trusted.pem") == 0 else { throw QueueError("cp failed") }
            let r = try await t.send(HTTPRequest(url: "https://localhost:\(server.port)/", tls: tls, timeout: 60_000))
            #expect(r.status == 200)
            await t.shutdown()
        }
    }

    /// The alerts a collector with client certificates answers (BoringSSL's spelling) become
    /// sentences naming the file to fix; anything else is left alone.
    @Test func tlsAlertsAreExplained() {
        struct Raw: Error, CustomStringConvertible { let description: String }
        let expired = Raw(description: "sslError([Error: 268436501 error:10000415:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED])")
        #expect(TLSAlerts.explain(expired)?.hasPrefix("the server refused our client certificate as expired: renew tls_config.cert_file [sslError(") == true)
        let unknownCA = Raw(description: "error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA")
        #expect(TLSAlerts.explain(unknownCA)?.contains("does not trust the CA that issued our client certificate") == true)
        #expect(TLSAlerts.explain(Raw(description: "connection reset by peer")) == nil)
    }

    @Test func insecureSkipVerifyAcceptsAnyCertificate() async throws {
        try await withServer { server, _ in
            var tls = TLSConfig()
            tls.insecureSkipVerify = true
            let t = NIOHTTPTransport()
            let r = try await t.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/", tls: tls, timeout: 60_000))
            #expect(r.status == 200)
            await t.shutdown()
        }
    }

    @Test func badCAFileNamesTheProblem() async {
        var tls = TLSConfig()
        tls.caFile = "/nonexistent/ca.pem"
        let t = NIOHTTPTransport()
        do {
            _ = try await t.send(HTTPRequest(url: "https://127.0.0.1:1/", tls: tls))
            Issue.record("expected a TLS error")
        } catch let e as HTTPTransportError {
            #expect("\(e)".contains("ca_file"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
