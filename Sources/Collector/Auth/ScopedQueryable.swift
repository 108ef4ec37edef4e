import Storage

/// Narrows every read to a user's scope. Applied at the storage boundary, so every
/// endpoint and page that reads through `Queryable` — PromQL, series, labels, dashboard —
/// is scoped without each one having to remember.
struct ScopedQueryable: Queryable {
    let base: any Queryable
    /// Never `.all` (wrap returns the base then).
    let alternatives: [[LabelMatcher]]

    func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        ScopedQuerier(base: try base.querier(mint: mint, maxt: maxt), alternatives: alternatives)
    }

    static func wrap(_ base: any Queryable, _ scope: Scope) -> any Queryable {
        guard let alternatives = scope.alternatives else { return base }
        return ScopedQueryable(base: base, alternatives: alternatives)
    }
}

/// Each read runs once per alternative of the scope, and the answers are merged: a series
/// matching two alternatives is returned once, and every answer stays sorted as the
/// `Querier` contract says. One alternative (every local user) is a single pass-through read.
struct ScopedQuerier: Querier {
    let base: any Querier
    let alternatives: [[LabelMatcher]]

    func select(_ matchers: [LabelMatcher]) throws -> [Series] {
        if alternatives.count == 1 { return try base.select(matchers + alternatives[0]) }
        var byLabels: [Labels: Series] = [:]
        for alt in alternatives {
            for s in try base.select(matchers + alt) where byLabels[s.labels] == nil { byLabels[s.labels] = s }
        }
        return byLabels.values.sorted { $0.labels < $1.labels }
    }

    func series(_ matchers: [LabelMatcher]) throws -> [Labels] {
        if alternatives.count == 1 { return try base.series(matchers + alternatives[0]) }
        var all = Set<Labels>()
        for alt in alternatives { all.formUnion(try base.series(matchers + alt)) }
        return all.sorted()
    }

    func labelNames(_ matchers: [LabelMatcher]) throws -> [String] {
        if alternatives.count == 1 { return try base.labelNames(matchers + alternatives[0]) }
        var all = Set<String>()
        for alt in alternatives { all.formUnion(try base.labelNames(matchers + alt)) }
        return all.sorted()
    }

    func labelValues(_ name: String, _ matchers: [LabelMatcher]) throws -> [String] {
        if alternatives.count == 1 { return try base.labelValues(name, matchers + alternatives[0]) }
        var all = Set<String>()
        for alt in alternatives { all.formUnion(try base.labelValues(name, matchers + alt)) }
        return all.sorted()
    }
}
