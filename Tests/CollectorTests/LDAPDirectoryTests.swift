import Foundation
import RemoteWrite
import Testing
import TestSupport
import YAMLTree

@testable import Collector

/// Logins against a real OpenLDAP `slapd` started here on loopback, with its own config,
/// users, groups and a TLS certificate made with `openssl` for this run.
@Suite(.serialized) struct LDAPDirectoryTests {
    @Test func basicAuthAgainstSlapd() async throws {
        let ldap = try Slapd()
        defer { ldap.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let rules = ldap.dir + "/rules.yml"
        try "groups: [{name: g, interval: 1s, rules: [{alert: Up, expr: up == 1}]}]\n".write(toFile: rules, atomically: true, encoding: .utf8)
        let auth = try AuthOptions(node: try #require(try YAML.compose("""
            ldap:
              url: ldaps://localhost:\(ldap.ldapsPort)
              ca_file: \(ldap.dir)/ca.pem
              bind_dn: uid={user},ou=people,dc=example,dc=org
              group_search_base_dns: ["ou=groups,dc=example,dc=org"]
              group_search_filter: (&(objectClass=groupOfNames)(member=%s))
              group_name_attribute: cn
              timeout: 3s
            group_roles:
              - { group: eu-ops, role: viewer, scope: '{region="eu"}' }
              - { group: us-ops, role: viewer, scope: '{region="us"}' }
              - { group: platform, role: admin }
            """)), file: "collector.yml")
        let s = try await TestServer(noAuth: false) { o in
            o.auth = auth
            o.ruleFiles = [rules]
            // Every request asks the directory, so "directory down" shows at once.
            o.login.directoryRefreshInterval = .zero
            o.login.backoffBase = .milliseconds(200)
            o.login.backoffMax = .milliseconds(200)
        }
        defer { Task { await s.stop() } }
        for (cluster, region) in [("eu-1", "eu"), ("us-1", "us"), ("ap-1", "ap")] {
            let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: cluster, labels: ["region=\(region)"])
            #expect(try await s.write(WriteRequest(timeseries: [series("up", [:], [(now, 1)])]), token: token).0 == 204)
        }

        // ana is in eu-ops and us-ops: both regions, through every read, never ap.
        let ana = ("ana", "ana-password")
        let (code, json) = try await s.get("/api/v1/series?match[]=up", user: ana.0, password: ana.1)
        #expect(code == 200, "\(json)")
        #expect(Set(seriesSet(json).map { $0["cluster"] ?? "" }) == ["eu-1", "us-1"])
        let (_, q) = try await s.get("/api/v1/query?query=count(up)", user: ana.0, password: ana.1)
        let counted = ((q["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first?["value"] as? [Any]
        #expect(counted?.last as? String == "2", "\(q)")
        let (_, values) = try await s.get("/api/v1/label/region/values", user: ana.0, password: ana.1)
        #expect(values["data"] as? [String] == ["eu", "us"])
        let (_, fleet) = try await s.get("/api/v1/fleet/clusters", user: ana.0, password: ana.1)
        #expect(((fleet["data"] as? [String: Any])?["clusters"] as? [[String: Any]])?.compactMap { $0["cluster"] as? String }.sorted() == ["eu-1", "us-1"], "\(fleet)")
        #expect(try await s.get("/api/v1/fleet/clusters/ap-1", user: ana.0, password: ana.1).0 == 404)
        #expect(try await s.get("/metrics", user: ana.0, password: ana.1).0 == 403)
        let (_, _, status) = try await s.raw("GET", "/api/v1/status/tsdb?limit=100", headers: [basicAuthHeader(ana.0, ana.1)])
        #expect(status.contains("cluster=eu-1") && status.contains("cluster=us-1") && !status.contains("ap-1"), "\(status)")
        var alerted: Set<String> = []
        for _ in 0..<40 where alerted.isEmpty {
            try await Task.sleep(for: .milliseconds(250))
            let (_, a) = try await s.get("/api/v1/alerts", user: ana.0, password: ana.1)
            alerted = Set(((a["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []).compactMap { ($0["labels"] as? [String: String])?["region"] })
        }
        #expect(alerted == ["eu", "us"])

        // bob is in platform: admin, everything.
        #expect(try await s.get("/metrics", user: "bob", password: "bob-password").0 == 200)
        let (_, all) = try await s.get("/api/v1/series?match[]=up", user: "bob", password: "bob-password")
        #expect(seriesSet(all).count == 3)

        // Wrong password: 401. In no mapped group: 403 saying why.
        #expect(try await s.get("/api/v1/labels", user: ana.0, password: "wrong-password").0 == 401)
        let (c403, _, body) = try await s.raw("GET", "/api/v1/labels", headers: [basicAuthHeader("carl", "carl-password")])
        #expect(c403 == 403)
        #expect(body.contains("group_roles") && body.contains("interns"), "\(body)")
        // Injection through the name: DN and filter metacharacters are escaped, so no login.
        for evil in ["ana,ou=people", "*", "ana)(uid=*", "bob\\2c"] {
            #expect(try await s.get("/api/v1/labels", user: evil, password: "ana-password").0 == 401, "\(evil)")
        }
        // A right password resets the failures counted for this address (all tests share 127.0.0.1).
        #expect(try await s.get("/api/v1/labels", user: "bob", password: "bob-password").0 == 200)
        // An empty password is an unauthenticated bind to LDAP: never a login.
        #expect(try await s.get("/api/v1/labels", user: "ana", password: "").0 == 401)

        // Throttling covers directory logins: after 5 failures even the right password waits.
        for _ in 0..<5 { _ = try await s.get("/api/v1/labels", user: "dave", password: "nope-nope") }
        #expect(try await s.get("/api/v1/labels", user: "dave", password: "dave-password").0 == 429)
        // The address backs off too; wait the (shortened) backoff out for the next checks.
        try await Task.sleep(for: .milliseconds(300))

        // Directory down: 503, never access; the local admin still signs in.
        ldap.stop()
        let (down, headers, text) = try await s.raw("GET", "/api/v1/labels", headers: [basicAuthHeader("ana", "ana-password")])
        #expect(down == 503)
        #expect(text.contains("LDAP directory is unavailable"))
        #expect(headers["retry-after"] == "5")
        let admin = try String(contentsOfFile: s.dataDir + "/initial-admin-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await s.get("/api/v1/labels", user: "admin", password: admin).0 == 200)
    }

    /// StartTLS, search-then-bind with a service account, plain LDAP, and the certificate check.
    @Test func connectionModes() async throws {
        let ldap = try Slapd()
        defer { ldap.stop() }
        let pwFile = ldap.dir + "/service-password"
        try "secret\n".write(toFile: pwFile, atomically: true, encoding: .utf8)
        func directory(_ yaml: String) throws -> LDAPDirectory {
            try LDAPDirectory(options: LDAPOptions(node: try #require(try YAML.compose(yaml)), file: "collector.yml"))
        }
        let groups = """
            group_search_base_dns: ["ou=groups,dc=example,dc=org"]
            group_search_filter: (member=%s)
            """
        let startTLS = try directory("""
            url: ldap://localhost:\(ldap.ldapPort)
            start_tls: true
            ca_file: \(ldap.dir)/ca.pem
            bind_dn: cn=admin,dc=example,dc=org
            bind_password_file: \(pwFile)
            search_base_dns: ["ou=people,dc=example,dc=org"]
            search_filter: (&(objectClass=inetOrgPerson)(uid=%s))
            \(groups)
            """)
        #expect(await startTLS.login(user: "ana", password: "ana-password")
            == .authenticated(dn: "uid=ana,ou=people,dc=example,dc=org",
                              groups: ["cn=eu-ops,ou=groups,dc=example,dc=org", "cn=us-ops,ou=groups,dc=example,dc=org"]))
        #expect(await startTLS.login(user: "ana", password: "bad-password") == .invalidCredentials)
        #expect(await startTLS.login(user: "nobody", password: "x-password") == .invalidCredentials)
        #expect(await startTLS.login(user: "*", password: "ana-password") == .invalidCredentials)

        // Groups from the user's memberOf (overlay-maintained), found by a service-account search.
        let memberOf = try directory("""
            url: ldap://127.0.0.1:\(ldap.ldapPort)
            bind_dn: cn=admin,dc=example,dc=org
            bind_password_file: \(pwFile)
            search_base_dns: ["ou=people,dc=example,dc=org"]
            member_of: memberOf
            """)
        guard case .authenticated(_, let viaMemberOf) = await memberOf.login(user: "ana", password: "ana-password") else { Issue.record("memberOf login"); return }
        #expect(viaMemberOf.sorted() == ["cn=eu-ops,ou=groups,dc=example,dc=org", "cn=us-ops,ou=groups,dc=example,dc=org"])

        let plain = try directory("url: ldap://127.0.0.1:\(ldap.ldapPort)\nbind_dn: uid=%s,ou=people,dc=example,dc=org\n" + groups)
        guard case .authenticated(_, let g) = await plain.login(user: "bob", password: "bob-password") else { Issue.record("plain bind"); return }
        #expect(g == ["cn=platform,ou=groups,dc=example,dc=org"])

        // Without our CA the server's certificate does not verify: unavailable, never a login.
        let untrusted = try directory("url: ldaps://localhost:\(ldap.ldapsPort)\nbind_dn: uid={user},ou=people,dc=example,dc=org\n" + groups)
        guard case .unavailable(let why) = await untrusted.login(user: "ana", password: "ana-password") else { Issue.record("untrusted certificate accepted"); return }
        #expect(why.lowercased().contains("certificate") || why.contains("handshake") || why.contains("TLS"), "\(why)")
        // The handshake starts as the connection opens and can close it before the first request
        // is written (CI once saw that request fail with just "I/O on closed channel"): the
        // request still fails with the handshake's reason.
        let early = try await LDAPConnection.connect(host: "localhost", port: ldap.ldapsPort, tls: untrusted.tls, timeout: .seconds(10))
        await early.closed()
        do {
            _ = try await early.bind(dn: "uid=ana,ou=people,dc=example,dc=org", password: "ana-password")
            Issue.record("bind over an untrusted connection succeeded")
        } catch {
            #expect("\(error)".lowercased().contains("certificate") || "\(error)".contains("handshake"), "\(error)")
        }
        // The certificate is for "localhost", not for 127.0.0.1: the name is checked too.
        let wrongName = try directory("url: ldaps://127.0.0.1:\(ldap.ldapsPort)\nca_file: \(ldap.dir)/ca.pem\nbind_dn: uid={user},ou=people,dc=example,dc=org\n" + groups)
        if case .authenticated = await wrongName.login(user: "ana", password: "ana-password") { Issue.record("certificate for another name accepted") }

        ldap.stop()
        guard case .unavailable = await plain.login(user: "bob", password: "bob-password") else { Issue.record("login with the directory down"); return }
    }
}

/// A directory that accepts connections and never answers: the login gives up after
/// `timeout` and says so (503 upstream), it does not hang or grant anything.
@Suite struct LDAPSilentServerTests {
    @Test func silentDirectoryTimesOut() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        #expect(listen(fd, 8) == 0)
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let d = try LDAPDirectory(options: LDAPOptions(node: try #require(try YAML.compose(
            "url: ldap://127.0.0.1:\(port)\nbind_dn: uid={user},dc=x\nmember_of: memberOf\ntimeout: 300ms")), file: "c.yml"))
        guard case .unavailable(let why) = await d.login(user: "ana", password: "ana-password") else { Issue.record("no timeout"); return }
        #expect(why.contains("did not answer"), "\(why)")
    }
}

/// A throwaway OpenLDAP server: config, data and certificate in a temp dir, stopped by PID.
final class Slapd: @unchecked Sendable {
    let dir: String
    let ldapPort = freePort()
    let ldapsPort = freePort()
    private var process: ChildProcess?

    static let slapd = "/usr/sbin/slapd"
    static let slapadd = "/usr/sbin/slapadd"
    static let ldapadd = "/usr/bin/ldapadd"

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.slapd) else {
            throw TestError("slapd is not installed: apt-get install slapd ldap-utils (make deps does it)")
        }
        dir = NSTemporaryDirectory() + "fleetscope-slapd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/db", withIntermediateDirectories: true)
        try Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem",
                                          "-days", "1", "-subj", "/CN=fleetscope test LDAP CA"])
        try Self.run("/usr/bin/openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/server.key", "-out", dir + "/server.csr",
                                          "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n".write(toFile: dir + "/ext", atomically: true, encoding: .utf8)
        try Self.run("/usr/bin/openssl", ["x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key",
                                          "-CAcreateserial", "-out", dir + "/server.pem", "-days", "1", "-extfile", dir + "/ext"])
        try """
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            moduleload memberof
            pidfile \(dir)/slapd.pid
            TLSCACertificateFile \(dir)/ca.pem
            TLSCertificateFile \(dir)/server.pem
            TLSCertificateKeyFile \(dir)/server.key
            database mdb
            directory \(dir)/db
            suffix "dc=example,dc=org"
            rootdn "cn=admin,dc=example,dc=org"
            rootpw secret
            overlay memberof
            access to attrs=userPassword by anonymous auth by * none
            access to * by users read by * none

            """.write(toFile: dir + "/slapd.conf", atomically: true, encoding: .utf8)
        var ldif = """
            dn: dc=example,dc=org
            objectClass: dcObject
            objectClass: organization
            o: Example
            dc: example

            dn: ou=people,dc=example,dc=org
            objectClass: organizationalUnit
            ou: people

            dn: ou=groups,dc=example,dc=org
            objectClass: organizationalUnit
            ou: groups


            """
        for user in ["ana", "bob", "carl", "dave"] {
            ldif += "dn: uid=\(user),ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: \(user)\ncn: \(user)\nsn: \(user)\nuserPassword: \(user)-password\n\n"
        }
        try ldif.write(toFile: dir + "/data.ldif", atomically: true, encoding: .utf8)
        // Groups are added online (below): the memberof overlay fills users' memberOf only then.
        var groups = ""
        for (group, members) in [("eu-ops", ["ana"]), ("us-ops", ["ana"]), ("platform", ["bob"]), ("interns", ["carl", "dave"])] {
            groups += "dn: cn=\(group),ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: \(group)\n"
            for m in members { groups += "member: uid=\(m),ou=people,dc=example,dc=org\n" }
            groups += "\n"
        }
        try groups.write(toFile: dir + "/groups.ldif", atomically: true, encoding: .utf8)
        try Self.run(Self.slapadd, ["-f", dir + "/slapd.conf", "-l", dir + "/data.ldif"])
        // -d 0: stay in the foreground (no fork), so the PID we hold is slapd's.
        let p = try ChildProcess("slapd", Self.slapd, ["-d", "0", "-f", dir + "/slapd.conf",
                                                        "-h", "ldap://127.0.0.1:\(ldapPort)/ ldaps://127.0.0.1:\(ldapsPort)/"], logDir: dir)
        process = p
        let deadline = Date().addingTimeInterval(15)
        while !(isListening(port: ldapPort) && isListening(port: ldapsPort)) {
            guard p.isRunning, Date() < deadline else {
                p.stop()
                throw TestError("slapd did not start: \(p.logTail())")
            }
            usleep(50_000)
        }
        try Self.run(Self.ldapadd, ["-x", "-H", "ldap://127.0.0.1:\(ldapPort)", "-D", "cn=admin,dc=example,dc=org", "-w", "secret",
                                    "-f", dir + "/groups.ldif"])
    }

    func stop() {
        process?.stop(grace: 5)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func run(_ path: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TestError("\(path) \(args.joined(separator: " ")) failed: \(String(decoding: data, as: UTF8.self))")
        }
    }
}
