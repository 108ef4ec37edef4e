extension Expr {
    /// The same node with `transform` applied to each direct child expression (selectors and
    /// literals have none): the one walk the tree rewrites (`addingMatchers`, `confined(to:)`,
    /// `withSubquerySteps`) share.
    func mappingChildren(_ transform: (Expr) -> Expr) -> Expr {
        switch self {
        case .number, .string, .vectorSelector, .matrixSelector: return self
        case .subquery(var s):
            s.expr = transform(s.expr)
            return .subquery(s)
        case .paren(let e): return .paren(transform(e))
        case .unary(let op, let e): return .unary(op, transform(e))
        case .binary(var b):
            b.lhs = transform(b.lhs)
            b.rhs = transform(b.rhs)
            return .binary(b)
        case .aggregate(var a):
            a.expr = transform(a.expr)
            a.param = a.param.map(transform)
            return .aggregate(a)
        case .call(var c):
            c.args = c.args.map(transform)
            return .call(c)
        }
    }
}
