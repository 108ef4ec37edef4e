import Foundation
import Logging
import TestSupport
import Testing
@testable import Collector

/// The two state-store implementations; every StateStoreTests case runs on both.
enum StateBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// `count` stores on one database: SQLite files opened twice (as the collector and a
/// `collector user` command do), or pools on one private PostgreSQL (as two collectors do).
/// Everything started here is stopped (the server by PID) when `body` returns or throws.
func withStateStores<T: Sendable>(_ backend: StateBackend, count: Int = 1,
                                  _ body: ([any StateStore]) async throws -> T) async throws -> T {
    switch backend {
    case .sqlite:
        let dir = try tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stores: [any StateStore] = try (0..<count).map { _ in try SQLiteStateStore(path: dir + "/state.sqlite", label: "test") }
        return try await body(stores)
    case .postgres:
        let pg = try PostgresServer()
        defer { pg.stop() }
        let options = try PostgresOptions(url: pg.url)
        let stores = try (0..<count).map { _ in try PostgresStateStore(options: options, logger: Logger(label: "test-state")) }
        defer { for s in stores { s.shutdown() } }
        return try await body(stores)
    }
}

/// Access control on `store`, migrated.
func accessControl(_ store: any StateStore, policy: LoginPolicy = LoginPolicy()) async throws -> AccessControl {
    let a = AccessControl(store: store, loginPolicy: policy)
    try await a.migrate()
    return a
}

/// A fleet registry on `store`, migrated and loaded.
func fleetRegistry(_ store: any StateStore, _ clock: FakeClock) async throws -> FleetRegistry {
    let fs = FleetStore(store: store)
    try await fs.migrate()
    let r = FleetRegistry(store: fs, options: fleetOptions(), clock: clock.read)
    try await r.load()
    return r
}
