import Logging
import PostgresNIO
import TestSupport

/// A PostgresClient on the test's PostgresServer, running until `stop()` (which closes its
/// connections, as a dying collector's would close).
final class PostgresTestClient: Sendable {
    let client: PostgresClient
    private let task: Task<Void, Never>

    init(_ pg: PostgresServer) {
        let config = PostgresClient.Configuration(host: "127.0.0.1", port: pg.port, username: pg.user,
                                                  password: pg.password, database: pg.database, tls: .disable)
        let client = PostgresClient(configuration: config)
        self.client = client
        task = Task { await client.run() }
    }

    func stop() async {
        task.cancel()
        await task.value
    }

    static let logger: Logger = {
        var l = Logger(label: "rule-lease-test")
        l.logLevel = .warning
        return l
    }()
}
