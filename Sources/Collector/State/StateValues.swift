import Foundation

/// A value bound to a placeholder or read from a column.
enum StateValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
}

/// What may be bound to a `?`.
protocol StateBind: Sendable {
    var stateValue: StateValue { get }
}

extension StateValue: StateBind { var stateValue: StateValue { self } }
extension String: StateBind { var stateValue: StateValue { .text(self) } }
extension Int64: StateBind { var stateValue: StateValue { .int(self) } }
extension Int: StateBind { var stateValue: StateValue { .int(Int64(self)) } }
extension Double: StateBind {
    /// NaN and infinities are not numbers PostgreSQL's and SQLite's columns agree on: stored as NULL.
    var stateValue: StateValue { isFinite ? .double(self) : .null }
}
extension Optional: StateBind where Wrapped: StateBind {
    var stateValue: StateValue { self?.stateValue ?? .null }
}

/// One result row, by column name.
struct StateRow: Sendable, Equatable {
    var values: [String: StateValue]

    struct Missing: Error, CustomStringConvertible {
        var column: String
        var description: String { "state store: column \(column) missing or NULL" }
    }

    func optionalInt(_ c: String) -> Int64? {
        switch values[c] {
        case .int(let v)?: return v
        case .double(let v)? where v.isFinite && v.rounded() == v: return Int64(v)
        case .text(let s)?: return Int64(s)
        default: return nil
        }
    }

    func optionalDouble(_ c: String) -> Double? {
        switch values[c] {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        default: return nil
        }
    }

    func optionalString(_ c: String) -> String? {
        if case .text(let s)? = values[c] { return s }
        return nil
    }

    func int(_ c: String) throws -> Int64 { try optionalInt(c) ?? { throw Missing(column: c) }() }
    func double(_ c: String) throws -> Double { try optionalDouble(c) ?? { throw Missing(column: c) }() }
    func string(_ c: String) throws -> String { try optionalString(c) ?? { throw Missing(column: c) }() }
}
