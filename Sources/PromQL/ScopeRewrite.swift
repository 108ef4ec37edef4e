import Storage

extension Expr {
    /// The query a remote backend must run so that it sees only `scope`, as prom-label-proxy
    /// rewrites it: every vector and matrix selector, at any depth (subqueries, functions,
    /// binary operators, aggregations, `@`/`offset`), gets the scope's matchers *added*. A
    /// selector that already constrains a scoped label keeps its own matcher too, so
    /// `{region!="eu"}` or `{region=~".*"}` can only narrow the scope, never widen it.
    ///
    /// One thing the embedded path (scope applied at the storage boundary) does differently:
    /// `absent(x{...})` takes its output labels from the selector's equality matchers, so the
    /// added matchers would show up there (or, matching a name twice, delete it). Those calls
    /// are wrapped in `label_replace` so that the output labels are exactly the unscoped
    /// query's: the same answer in both modes.
    public func confined(to scope: [LabelMatcher]) -> Expr {
        scope.isEmpty ? self : confining(scope)
    }

    private func confining(_ scope: [LabelMatcher]) -> Expr {
        switch self {
        case .vectorSelector(var vs):
            vs.matchers += scope
            return .vectorSelector(vs)
        case .matrixSelector(var vs, let r):
            vs.matchers += scope
            return .matrixSelector(vs, range: r)
        case .call(let original) where original.function == "absent" || original.function == "absent_over_time":
            let scoped = mappingChildren { $0.confining(scope) }
            guard case .call(let c) = scoped, let arg = original.args.first, let newArg = c.args.first else { return scoped }
            return Self.restoringAbsentLabels(scoped, want: absentLabels(arg), got: absentLabels(newArg), names: scope.map(\.name))
        default:
            return mappingChildren { $0.confining(scope) }
        }
    }

    /// `label_replace(e, name, value, "", "")` sets `name` to `value` (deletes it when empty) on
    /// every series: the empty source label always matches the empty regex.
    private static func restoringAbsentLabels(_ e: Expr, want: Labels, got: Labels, names: [String]) -> Expr {
        var out = e
        var done = Set<String>()
        for name in names where name != Labels.metricName && done.insert(name).inserted && want[name] != got[name] {
            out = .call(Call(function: "label_replace", args: [out, .string(name), .string(want[name] ?? ""), .string(""), .string("")]))
        }
        return out
    }
}

/// A series selector as PromQL text, e.g. `{__name__="up",region="eu"}`, for `match[]` of
/// the series, labels and label values endpoints.
public func selectorText(_ matchers: [LabelMatcher]) -> String {
    Expr.vectorSelector(VectorSelector(name: nil, matchers: matchers)).description
}
