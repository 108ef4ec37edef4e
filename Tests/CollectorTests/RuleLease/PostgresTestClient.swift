import Logging
import PostgresNIO
import TestSupport
@testable import Collector

/// A PostgresClient on the test's PostgresServer, running until `stop()` (which closes its
/// connections, as a dying collector's would close).
final class PostgresTestClient: Sendable {
    let client: PostgresClient
    private let task: Task<Void, Never>

    /// Configured as the collector configures it, from the `state.postgres` URL.
    init(_ pg: PostgresServer) throws {
        let client = PostgresClient(configuration: try PostgresOptions(url: pg.url).clientConfiguration())
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
