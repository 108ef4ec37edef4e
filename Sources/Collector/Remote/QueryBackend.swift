import PromQL
import Storage

/// Where reads are answered: the embedded TSDB and engine, or a remote Prometheus-API backend
/// (`storage.remote.query_url`). The API, the rules and the fleet refresher read only through
/// this, so the choice is made once, when the server is built. Every call takes the caller's
/// scope (`Scope.all`: everything). Queries arrive parsed, so that a query's own errors
/// are found, and worded, by our parser in both modes.
protocol QueryBackend: Sendable {
    /// What `/-/ready` and `status/tsdb` name: "embedded" or "remote".
    var kind: String { get }
    /// The remote backend's query URL; nil when embedded.
    var url: String? { get }

    func instantQuery(_ expr: Expr, at: Int64, scope: Scope, timeout: Duration) async throws -> QueryValue
    func rangeQuery(_ expr: Expr, start: Int64, end: Int64, step: Int64, scope: Scope, timeout: Duration) async throws -> QueryValue
    /// The union of the series each matcher set selects (at least one set).
    func series(_ sets: [[LabelMatcher]], start: Int64, end: Int64, scope: Scope) async throws -> [Labels]
    /// Label names of the series the sets select; with no set, of every series in scope.
    func labelNames(_ sets: [[LabelMatcher]], start: Int64, end: Int64, scope: Scope) async throws -> [String]
    func labelValues(_ name: String, _ sets: [[LabelMatcher]], start: Int64, end: Int64, scope: Scope) async throws -> [String]
    /// nil when the backend answers; otherwise why it does not.
    func unreachableReason() async -> String?
}

extension QueryBackend {
    /// Rules and the fleet refresher: everything, with the server's query timeout.
    func instantQuery(_ query: String, at: Int64, timeout: Duration) async throws -> QueryValue {
        try await instantQuery(try parseExpr(query), at: at, scope: [], timeout: timeout)
    }
}

/// The embedded TSDB and PromQL engine; the scope applied at the storage boundary.
struct EmbeddedQueryBackend: QueryBackend {
    let engine: Engine
    let storage: any Queryable
    var kind: String { "embedded" }
    var url: String? { nil }

    private func engine(_ timeout: Duration) -> Engine {
        var o = engine.options
        o.timeout = timeout
        return Engine(options: o)
    }

    func instantQuery(_ expr: Expr, at: Int64, scope: Scope, timeout: Duration) async throws -> QueryValue {
        try await engine(timeout).instantQuery(expr, at: at, storage: ScopedQueryable.wrap(storage, scope))
    }

    func rangeQuery(_ expr: Expr, start: Int64, end: Int64, step: Int64, scope: Scope, timeout: Duration) async throws -> QueryValue {
        try await engine(timeout).rangeQuery(expr, start: start, end: end, step: step, storage: ScopedQueryable.wrap(storage, scope))
    }

    func series(_ sets: [[LabelMatcher]], start: Int64, end: Int64, scope: Scope) async throws -> [Labels] {
        let q = try ScopedQueryable.wrap(storage, scope).querier(mint: start, maxt: end)
        var all = Set<Labels>()
        for m in sets { all.formUnion(try q.series(m)) }
        return Array(all)
    }

    func labelNames(_ sets: [[LabelMatcher]], start: Int64, end: Int64, scope: Scope) async throws -> [String] {
        let q = try ScopedQueryable.wrap(storage, scope).querier(mint: start, maxt: end)
        var names = Set<String>()
        if sets.isEmpty { names.formUnion(try q.labelNames([])) }
        for m in sets { names.formUnion(try q.labelNames(m)) }
        return Array(names)
    }

    func labelValues(_ name: String, _ sets: [[LabelMatcher]], start: Int64, end: Int64, scope: Scope) async throws -> [String] {
        let q = try ScopedQueryable.wrap(storage, scope).querier(mint: start, maxt: end)
        var values = Set<String>()
        if sets.isEmpty { values.formUnion(try q.labelValues(name, [])) }
        for m in sets { values.formUnion(try q.labelValues(name, m)) }
        return Array(values)
    }

    func unreachableReason() async -> String? { nil }
}
