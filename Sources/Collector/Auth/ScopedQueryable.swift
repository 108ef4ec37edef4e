import Storage

/// Narrows every read to a user's label scope. Applied at the storage boundary, so every
/// endpoint and page that reads through `Queryable` — PromQL, series, labels, dashboard —
/// is scoped without each one having to remember.
struct ScopedQueryable: Queryable {
    let base: any Queryable
    let scope: [LabelMatcher]

    func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        ScopedQuerier(base: try base.querier(mint: mint, maxt: maxt), scope: scope)
    }

    static func wrap(_ base: any Queryable, _ scope: [LabelMatcher]) -> any Queryable {
        scope.isEmpty ? base : ScopedQueryable(base: base, scope: scope)
    }
}

struct ScopedQuerier: Querier {
    let base: any Querier
    let scope: [LabelMatcher]

    func select(_ matchers: [LabelMatcher]) throws -> [Series] { try base.select(matchers + scope) }
    func series(_ matchers: [LabelMatcher]) throws -> [Labels] { try base.series(matchers + scope) }
    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] { try base.labelNames(matchers + scope) }
    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        try base.labelValues(name, matchers + scope)
    }
}
