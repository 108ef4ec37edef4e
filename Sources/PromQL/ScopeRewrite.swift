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
        case .number, .string: return self
        case .vectorSelector(var vs):
            vs.matchers += scope
            return .vectorSelector(vs)
        case .matrixSelector(var vs, let r):
            vs.matchers += scope
            return .matrixSelector(vs, range: r)
        case .subquery(var s):
            s.expr = s.expr.confining(scope)
            return .subquery(s)
        case .paren(let e): return .paren(e.confining(scope))
        case .unary(let op, let e): return .unary(op, e.confining(scope))
        case .binary(var b):
            b.lhs = b.lhs.confining(scope)
            b.rhs = b.rhs.confining(scope)
            return .binary(b)
        case .aggregate(var a):
            a.expr = a.expr.confining(scope)
            a.param = a.param?.confining(scope)
            return .aggregate(a)
        case .call(var c):
            let original = c
            c.args = c.args.map { $0.confining(scope) }
            guard c.function == "absent" || c.function == "absent_over_time", let arg = original.args.first, let newArg = c.args.first else {
                return .call(c)
            }
            return Self.restoringAbsentLabels(.call(c), want: absentLabels(arg), got: absentLabels(newArg),
                                              names: scope.map(\.name))
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
