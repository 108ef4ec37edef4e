import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// The private PostgreSQL the state-store tests run on: it starts, takes a password login over
/// loopback, refuses a wrong password, and is gone after stop.
@Suite struct PostgresServerTests {
    @Test func startsAuthenticatesAndStops() async throws {
        let pg = try PostgresServer()
        let config = PostgresClient.Configuration(host: "127.0.0.1", port: pg.port, username: pg.user,
                                                  password: pg.password, database: pg.database, tls: .disable)
        let client = PostgresClient(configuration: config)
        let one: Int = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask { await client.run(); return nil }
            defer { group.cancelAll() }
            let rows = try await client.query("SELECT 41 + 1")
            for try await v in rows.decode(Int.self) { return v }
            return 0
        }
        #expect(one == 42)

        // One connection, not the pool: the pool would keep retrying a failed login with backoff.
        let wrong = PostgresConnection.Configuration(host: "127.0.0.1", port: pg.port, username: pg.user,
                                                     password: "not-it", database: pg.database, tls: .disable)
        await #expect(throws: PSQLError.self) {
            let c = try await PostgresConnection.connect(configuration: wrong, id: 1, logger: Logger(label: "test"))
            try? await c.close()
        }
        let pid = pg.pid
        pg.stop()
        #expect(!pg.isRunning)
        #expect(kill(pid, 0) != 0)
    }
}
