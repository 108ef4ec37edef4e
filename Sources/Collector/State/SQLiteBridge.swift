import Foundation
import GRDB

/// Passes statements from an async body to the thread GRDB runs its transaction on.
final class SQLiteBridge: StateConnection, @unchecked Sendable {
    private let cond = NSCondition()
    // Guarded by `cond`.
    private var work: [(Database?) -> Void] = []
    private var finished = false
    private var failure: (any Error)?
    private var closed = false
    var dialect: StateDialect { .sqlite }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "state store: the SQLite transaction ended before the statement ran" }
    }

    /// Runs on GRDB's queue: statements until `finish`; throws the body's error to roll back.
    func serve(_ db: Database) throws {
        while true {
            cond.lock()
            while work.isEmpty && !finished { cond.wait() }
            let next = work
            work = []
            let done = finished, error = failure
            cond.unlock()
            for w in next { w(db) }
            if done && next.isEmpty {
                if let error { throw error }
                return
            }
        }
    }

    func finish(failing error: (any Error)?) {
        cond.lock()
        finished = true
        failure = error
        cond.signal()
        cond.unlock()
    }

    /// GRDB returned (or never ran the closure, e.g. cancelled): statements still waiting
    /// fail instead of hanging their callers.
    func close() {
        cond.lock()
        closed = true
        let left = work
        work = []
        cond.unlock()
        for w in left { w(nil) }
    }

    private func run<T: Sendable>(_ f: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            cond.lock()
            if closed || finished {
                cond.unlock()
                c.resume(throwing: Closed())
                return
            }
            work.append { db in
                guard let db else { return c.resume(throwing: Closed()) }
                c.resume(with: Result { try f(db) })
            }
            cond.signal()
            cond.unlock()
        }
    }

    func execute(_ sql: String, _ binds: [any StateBind]) async throws -> Int {
        let args = Self.arguments(binds)
        return try await run { db in
            try db.execute(sql: sql, arguments: args)
            return db.changesCount
        }
    }

    func query(_ sql: String, _ binds: [any StateBind]) async throws -> [StateRow] {
        let args = Self.arguments(binds)
        return try await run { db in try Row.fetchAll(db, sql: sql, arguments: args).map(Self.row) }
    }

    static func arguments(_ binds: [any StateBind]) -> StatementArguments {
        StatementArguments(binds.map { b -> (any DatabaseValueConvertible)? in
            switch b.stateValue {
            case .null: return nil
            case .int(let v): return v
            case .double(let v): return v
            case .text(let v): return v
            }
        })
    }

    static func row(_ r: Row) -> StateRow {
        var values: [String: StateValue] = [:]
        for (name, dbValue) in r {
            switch dbValue.storage {
            case .null: values[name] = .null
            case .int64(let v): values[name] = .int(v)
            case .double(let v): values[name] = .double(v)
            case .string(let v): values[name] = .text(v)
            case .blob(let d): values[name] = .text(String(decoding: d, as: UTF8.self))
            }
        }
        return StateRow(values: values)
    }
}
