import Foundation
import PostgresNIO

/// `state.postgres`: the state several collectors share (users, tokens, audit, fleet registry,
/// rule lease and alert state) in PostgreSQL instead of the embedded SQLite files.
/// ```yaml
/// state:
///   postgres: "postgres://fleetscope:secret@db:5432/fleetscope?sslmode=verify-full"
/// ```
/// `sslmode` as in libpq: `disable`, `prefer`/`require` (TLS without checking the server; what
/// libpq does too), `verify-ca`/`verify-full` (the system trust store, or `sslrootcert=FILE`).
/// Without `sslmode`, a loopback host gets `disable` and any other host `verify-full`: a password
/// must not cross a network in clear text unless the operator says so.
public struct PostgresOptions: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var rootCertFile: String?

    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// Parses a libpq-style URL; errors say what to write instead. The password is never echoed.
    public init(url text: String) throws {
        func fail(_ why: String) -> OptionsError {
            OptionsError("state.postgres: \(why) (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        guard let c = URLComponents(string: text), ["postgres", "postgresql"].contains(c.scheme ?? "") else {
            throw fail("not a postgres:// URL")
        }
        guard let host = c.host, !host.isEmpty else { throw fail("no host") }
        guard let user = c.user, !user.isEmpty else { throw fail("no user") }
        let db = String(c.path.drop(while: { $0 == "/" }))
        guard !db.isEmpty, !db.contains("/") else { throw fail("no database name after the host") }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = c.port ?? 5432
        guard (1...65535).contains(port) else { throw fail("port \(port) out of range") }
        self.user = user.removingPercentEncoding ?? user
        password = c.password.map { $0.removingPercentEncoding ?? $0 }
        database = db.removingPercentEncoding ?? db
        var mode: SSLMode?
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let m = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw fail("sslmode \"\(item.value ?? "")\" unknown (known: \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                mode = m
            case "sslrootcert": rootCertFile = item.value
            default: throw fail("unknown parameter \"\(item.name)\" (known: sslmode, sslrootcert)")
            }
        }
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(self.host)
        sslMode = mode ?? (loopback ? .disable : .verifyFull)
    }

    /// For logs and status pages: everything but the password.
    public var redacted: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" }

    /// The pool's configuration. TLS settings follow `sslMode`.
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                     database: database, tls: try tls())
    }

    func tls() throws -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .prefer, .require, .verifyCA, .verifyFull:
            var t = TLSConfiguration.makeClientConfiguration()
            switch sslMode {
            case .prefer, .require: t.certificateVerification = .none
            case .verifyCA: t.certificateVerification = .noHostnameVerification
            default: t.certificateVerification = .fullVerification
            }
            if let rootCertFile { t.trustRoots = .file(rootCertFile) }
            return sslMode == .prefer ? .prefer(t) : .require(t)
        }
    }
}
