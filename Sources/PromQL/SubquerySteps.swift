extension Expr {
    /// The same expression with every subquery's default step (`[5m:]`) written out as `step`
    /// ms, for a backend that would otherwise choose its own default.
    public func withSubquerySteps(_ step: Int64) -> Expr {
        switch self {
        case .number, .string, .vectorSelector, .matrixSelector: return self
        case .subquery(var s):
            if s.step == 0 { s.step = step }
            s.expr = s.expr.withSubquerySteps(step)
            return .subquery(s)
        case .paren(let e): return .paren(e.withSubquerySteps(step))
        case .unary(let op, let e): return .unary(op, e.withSubquerySteps(step))
        case .binary(var b):
            b.lhs = b.lhs.withSubquerySteps(step)
            b.rhs = b.rhs.withSubquerySteps(step)
            return .binary(b)
        case .aggregate(var a):
            a.expr = a.expr.withSubquerySteps(step)
            a.param = a.param?.withSubquerySteps(step)
            return .aggregate(a)
        case .call(var c):
            c.args = c.args.map { $0.withSubquerySteps(step) }
            return .call(c)
        }
    }
}
