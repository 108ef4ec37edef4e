@testable import Collector
import TestSupport
import Testing

@Suite struct PostgresOptionsTests {
    @Test func parsesURLs() throws {
        let o = try PostgresOptions(url: "postgres://fs%40x:p%2Fw@db.example:6543/fleet?sslmode=verify-ca&sslrootcert=/etc/ca.pem")
        #expect(o.user == "fs@x" && o.password == "p/w" && o.host == "db.example" && o.port == 6543 && o.database == "fleet")
        #expect(o.sslMode == .verifyCA && o.rootCertFile == "/etc/ca.pem")
        #expect(!o.redacted.contains("p/w") && !o.redacted.contains("p%2Fw"))
        // No sslmode: loopback in clear, anything else verified TLS.
        #expect(try PostgresOptions(url: "postgresql://u@127.0.0.1/db").sslMode == .disable)
        #expect(try PostgresOptions(url: "postgres://u:p@[::1]:5432/db").host == "::1")
        #expect(try PostgresOptions(url: "postgres://u:p@db/db").sslMode == .verifyFull)
        #expect(try PostgresOptions(url: "postgres://u@db/db").port == 5432)
    }

    @Test(arguments: ["mysql://u@h/db", "postgres://h/db", "postgres://u@h", "postgres://u@h/", "postgres://u@h/a/b",
                      "postgres://u@h/db?sslmode=maybe", "postgres://u@h/db?foo=1", "postgres://u@h:0/db", ""])
    func refusesBadURLs(_ url: String) {
        #expect(throws: OptionsError.self) { try PostgresOptions(url: url) }
    }

    @Test func configFileSection() throws {
        let dir = try tempDir("pgopts")
        let path = dir + "/collector.yml"
        try "state:\n  postgres: \"postgres://fs:pw@127.0.0.1:5433/fleet\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        var o = CollectorOptions()
        try o.apply(configFile: path)
        #expect(o.postgres?.port == 5433 && o.postgres?.password == "pw")
        try "state:\n  postgres: \"postgres://nohost\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        var bad = CollectorOptions()
        #expect(throws: OptionsError.self) { try bad.apply(configFile: path) }
    }
}
